# -*- coding: utf-8 -*-
# Copyright: m365ops.activation contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The article's endpoints, checked from the host, stage by stage. Facts only.

The endpoint list is the article's (docs/sources.md section 3): CRL URLs over plain HTTP on port 80, the
rest HTTPS on 443; it can be replaced or extended, also from a saved copy of Microsoft's 365 URL/IP web service answer
(wildcard names are left out and listed). The NCSI web probe the host uses is checked with them. Stages, per endpoint:

- ``dns``: the host's resolver answers the name; ``tcp``: a direct connection opens;
- ``tls``: a TLS 1.2 handshake through SChannel on that direct connection, its chain judged against the public roots
  Microsoft's services use (``trusted_roots``): a chain to any other root is interception, and its CA is named;
- ``http``: a GET through WinHTTP as the host is configured (its default proxy, or direct), with the ``MSOIDCRL`` user
  agent sign-in uses; a proxy's 407 and a 403 that another user agent does not get are told apart;
- ``wininet``: the same GET through each proxy the signed-in users' WinINet names, when it is not WinHTTP's.

Everything the first agent run can know is asked in it: all stages run at once, each bounded by ``timeout_ms``. Only
what the host's settings point at and the first run could not know (a WinINet proxy that is not WinHTTP's, an NCSI
probe host Windows does not ship, the CA of a proxy whose TLS WinHTTP refused) takes one more read-only run, on those
hosts only. A stage that was not run is ``not_tested``, never ``pass``.
"""

from __future__ import annotations

import json
import re
import typing as t
from urllib.parse import urlsplit

from ansible.errors import AnsibleActionFail

from ansible_collections.m365ops.activation.plugins.plugin_utils.concerns.ncsi import INTERNET as NCSI_INTERNET
from ansible_collections.m365ops.activation.plugins.plugin_utils.concerns.ncsi import CONNECTTEST_BUILD, probe_defaults
from ansible_collections.m365ops.activation.plugins.plugin_utils.concerns.winhttp_proxy import WinHttpProxy, wininet_sources
from ansible_collections.m365ops.activation.plugins.plugin_utils.engine.concern import Concern, HostState, Plan, ProbeContext
from ansible_collections.m365ops.activation.plugins.plugin_utils.registry import RegistryRef
from ansible_collections.m365ops.activation.plugins.plugin_utils.user_sessions import session_answers
from ansible_collections.m365ops.activation.plugins.plugin_utils.winhttp import ProxyError, split_proxy, winhttp_error

CRL = "/pki/crl/products/"
# (host, port, scheme, path), as the article lists them.
ARTICLE_ENDPOINTS: tuple[dict[str, t.Any], ...] = tuple(
    {"host": host, "port": port, "scheme": "https" if port == 443 else "http", "path": path}
    for host, port, path in (
        ("officecdn.microsoft.com", 443, "/"), ("ols.officeapps.live.com", 443, "/olsc"), ("activation.sls.microsoft.com", 443, "/"),
        ("odc.officeapps.live.com", 443, "/"),
        ("crl.microsoft.com", 80, CRL + "MicrosoftProductSecureServer.crl"), ("crl.microsoft.com", 80, CRL + "MicrosoftRootAuthority.crl"),
        ("crl.microsoft.com", 80, CRL + "MicrosoftProductSecureCommunicationsPCA.crl"),
        ("www.microsoft.com", 80, CRL + "MicrosoftProductSecureCommunicationsPCA.crl"),
        ("go.microsoft.com", 443, "/"), ("Office15client.microsoft.com", 443, "/"), ("login.windows.net", 443, "/"),
        ("login.microsoft.com", 443, "/"), ("login.microsoftonline.com", 443, "/"), ("crl.microsoft.com", 443, "/"),
        ("cdn.odc.officeapps.live.com", 443, "/"), ("ajax.aspnetcdn.com", 443, "/"), ("officeclient.microsoft.com", 443, "/"),
        ("aadcdn.msauth.net", 443, "/"), ("aadcdn.msauthimages.net", 443, "/"), ("enterpriseregistration.windows.net", 443, "/"),
    ))
# Used with fullmatch only: "$" would let a name that ends in a newline through to the host.
HOST_NAME = re.compile(r"(?=.{1,253}\Z)([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\.?")
# Every extra endpoint is probed from each host at once (bounded by timeout_ms together): a check, not a scan.
MAX_EXTRA = 64
NOT_TESTED = "not_tested"


# Endpoint sets of Microsoft's 365 URL/IP web service that cover sign-in and activation.
ACTIVATION_SETS = [46, 56, 59, 83, 84, 86, 92, 125, 147]
MAX_JSON_BYTES = 5 * 1024 * 1024


def endpoint_list(args: dict[str, t.Any]) -> list[dict[str, t.Any]]:
    """The endpoints to check: the article's (unless ``replace``), those imported from Microsoft's JSON, then ``extra``;
    each host and port once."""
    listed = [] if args.get("replace") else [dict(item) for item in ARTICLE_ENDPOINTS]
    listed += [dict(item) for item in args.get("imported") or []] + [dict(item) for item in args.get("extra") or []]
    seen: set[tuple[str, int, str]] = set()
    unique = []
    for item in listed:
        key = (item["host"].lower(), item["port"], item.get("path") or "/")
        if key not in seen:
            seen.add(key)
            unique.append(item)
    return unique


def import_microsoft_json(path: str, sets: t.Sequence[int]) -> tuple[list[dict[str, t.Any]], list[str]]:
    """Endpoints of the chosen sets of a saved copy of Microsoft's 365 URL/IP web service answer (a JSON list of sets with
    ``id``, ``urls`` and ``tcpPorts``), and the wildcard names left out (a name with ``*`` cannot be resolved: the
    article lists the concrete names behind them)."""
    with open(path, "rb") as stream:
        data = stream.read(MAX_JSON_BYTES + 1)
    if len(data) > MAX_JSON_BYTES:
        raise ValueError(f"larger than {MAX_JSON_BYTES} bytes; it is not the web service's answer")
    document = json.loads(data.decode("utf-8-sig"))
    if not isinstance(document, list) or not all(isinstance(entry, dict) and "id" in entry for entry in document):
        raise ValueError("not a list of endpoint sets with an 'id' each")
    endpoints, wildcards = [], []
    for entry in document:
        if entry["id"] not in sets:
            continue
        # isascii: str.isdigit() is true of '²', which int() refuses.
        ports = [int(port) for port in str(entry.get("tcpPorts") or "").split(",") if port.strip().isascii() and port.strip().isdigit()]
        for url in entry.get("urls") or []:
            name = str(url).strip().lower()
            if "*" in name:
                wildcards.append(name)
                continue
            if not HOST_NAME.fullmatch(name):
                raise ValueError(f"set {entry['id']} names {str(url)[:80]!r}, which is not a host name")
            endpoints.extend({"host": name, "port": port, "scheme": "https" if port == 443 else "http", "path": "/"}
                             for port in ports if port in (80, 443))
    return endpoints, sorted(set(wildcards))


MSOIDCRL = "MSOIDCRL"
# The follow-up reads through each proxy the users' WinINet names: their names, the proxy after the prefix.
WININET_HTTP = "wininet_http "
WININET_NEUTRAL = "wininet_neutral "
# The sign-in request made again from each signed-in user's own session, where a proxy's 407 was answered to the
# management logon (review G6): the user's WinHTTP client, with their proxy settings and their logon's credentials.
USER_HTTP = "user_http"
USER_HTTP_TIMEOUT_SECONDS = 60
# A user agent no proxy rule names: what tells a proxy that blocks MSOIDCRL from one that blocks everything.
NEUTRAL_AGENT = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) m365ops-activation-endpoint-check"
NCSI_AGENT = "Microsoft NCSI"
SIGN_IN = "https://login.microsoftonline.com/"
# The roots of the public CAs the article's endpoints chain to, by common name (thumbprints may be given instead).
TRUSTED_ROOTS = ["DigiCert Global Root G2", "DigiCert Global Root G3", "DigiCert Global Root CA", "Baltimore CyberTrust Root",
                 "Microsoft RSA Root Certificate Authority 2017", "Microsoft ECC Root Certificate Authority 2017"]
# Errors of the TLS stage of a WinHTTP request. Not 12044 (ERROR_WINHTTP_CLIENT_AUTH_CERT_NEEDED): the server asked for a
# client certificate, which says nothing of the protocol versions WinHTTP offers (review G14); the probe answers it
# once without a certificate, and a server that insists is reported as such.
TLS_ERRORS = frozenset({12037, 12038, 12045, 12057, 12157, 12175})
CLIENT_CERT_NEEDED = 12044
# The X509Chain flags of a chain that stops short of a root: with a public intermediate at its end, the host's store
# lacks the public root (automatic root update off, an offline host), which is not interception (review G13).
SHORT_CHAIN = frozenset({"PartialChain", "UntrustedRoot"})
# Codes of a proxy's answers, beside their sentences (findings match these).
PROXY_AUTH = "proxy_auth_required"
MSOIDCRL_REFUSED = "msoidcrl_refused"
CLIENT_CERT = "client_cert_requested"
NCSI_HOSTS = ("www.msftconnecttest.com", "www.msftncsi.com")
NCSI_DEFAULTS = tuple({"host": host, "port": 80, "scheme": "http", "path": "/" + probe_defaults(build)["ActiveWebProbePath"]}
                      for host, build in zip(NCSI_HOSTS, (CONNECTTEST_BUILD, 0)))
PROBE_HOST = RegistryRef(NCSI_INTERNET, "ActiveWebProbeHost")
PROBE_PATH = RegistryRef(NCSI_INTERNET, "ActiveWebProbePath")


def url_of(item: t.Mapping[str, t.Any]) -> str:
    scheme, port = item.get("scheme") or "https", item["port"]
    default = (scheme == "https" and port == 443) or (scheme == "http" and port == 80)
    return f"{scheme}://{item['host']}{'' if default else f':{port}'}{item.get('path') or '/'}"


def purpose(item: t.Mapping[str, t.Any]) -> str:
    return item.get("purpose") or ("crl" if (item.get("path") or "").startswith(CRL) else "activation")


def https_server(proxy: str | None) -> str | None:
    """The proxy server WinHTTP sends HTTPS requests to, as host:port; None when HTTPS goes direct or the text is unusable."""
    if not proxy:
        return None
    try:
        canonical, _socks = split_proxy(proxy)
    except ProxyError:
        return None
    if "=" in canonical:
        canonical = dict(entry.split("=", 1) for entry in canonical.split(";")).get("https")
    if canonical is None:
        return None
    return canonical if re.search(r":[0-9]+\Z", canonical) else f"{canonical}:80"


def winhttp_route(state: HostState) -> str:
    data = state.probe("winhttp_proxy").data
    server = https_server(data.get("proxy")) if data.get("access_type") == "named" else None
    return server or "direct"


def wininet_routes(state: HostState) -> list[dict[str, str]]:
    """Each proxy server the signed-in users' (or the machine's) WinINet names, when it is not WinHTTP's, with whose it is."""
    _whose, sources = wininet_sources({"wininet_user": None}, state, Plan())
    winhttp = winhttp_route(state)
    routes: dict[str, list[str]] = {}
    for source in sources:
        server = https_server(source.manual_proxy)
        if server and server != winhttp:
            routes.setdefault(server, []).append(source.source)
    return [{"proxy": server, "source": "; ".join(whose)} for server, whose in routes.items()]


def ncsi_probe(state: HostState) -> dict[str, t.Any]:
    """The web probe NCSI uses on this host: its registry values, else the default of the release."""
    defaults = probe_defaults(state.windows.build)
    host = state.registry.get(PROBE_HOST)
    path = state.registry.get(PROBE_PATH)
    name = host.value if host is not None and host.type in ("string", "expand_string") and host.value else defaults["ActiveWebProbeHost"]
    page = path.value if path is not None and path.type in ("string", "expand_string") and path.value else defaults["ActiveWebProbePath"]
    return {"host": str(name), "port": 80, "scheme": "http", "path": "/" + str(page).lstrip("/"), "purpose": "ncsi"}


def _is_default_probe(item: t.Mapping[str, t.Any]) -> bool:
    return any(item["host"].lower() == default["host"] and item["path"].lower() == default["path"] for default in NCSI_DEFAULTS)


class Endpoints(Concern):
    NAME = "endpoints"
    FACTS_KEY = "endpoints"
    ARGUMENT_SPEC = {
        "extra": {"type": "list", "elements": "dict", "default": []},
        "replace": {"type": "bool", "default": False},
        "timeout_ms": {"type": "int", "default": 5000},
        "microsoft_json": {"type": "path"},
        "microsoft_sets": {"type": "list", "elements": "int", "default": ACTIVATION_SETS},
        "trusted_roots": {"type": "list", "elements": "str", "default": TRUSTED_ROOTS},
        # False: one execution only; what the first one's answers point at (the users' WinINet proxies, a changed NCSI
        # probe, the handshake through a proxy that refused a certificate) is left not tested.
        "follow_ups": {"type": "bool", "default": True},
    }

    def check_arguments(self, args: dict[str, t.Any]) -> None:
        if not 100 <= args["timeout_ms"] <= 60000:
            raise AnsibleActionFail(f"timeout_ms: must be 100 to 60000 milliseconds, not {args['timeout_ms']}")
        if len(args["extra"]) > MAX_EXTRA:
            raise AnsibleActionFail(f"extra: {len(args['extra'])} endpoints; at most {MAX_EXTRA}, each probed from every host at once")
        for index, item in enumerate(args["extra"]):
            host, port = item.get("host"), item.get("port")
            if not isinstance(host, str) or not HOST_NAME.fullmatch(host):
                raise AnsibleActionFail(f"extra[{index}].host: {str(host)[:80]!r} is not a host name")
            if not isinstance(port, int) or isinstance(port, bool) or not 1 <= port <= 65535:
                raise AnsibleActionFail(f"extra[{index}].port: {port!r} is not a port number")
            unknown = sorted(set(item) - {"host", "port", "scheme", "path"})
            if unknown:
                raise AnsibleActionFail(f"extra[{index}]: unknown key(s) {', '.join(unknown)}; an endpoint has host, port, scheme, path")
            if item.get("scheme", "https") not in ("http", "https"):
                raise AnsibleActionFail(f"extra[{index}].scheme: {str(item.get('scheme'))[:20]!r}; http or https")
            if not isinstance(item.get("path", "/"), str) or not re.fullmatch(r"/[!-~]*", item.get("path") or "/"):
                raise AnsibleActionFail(f"extra[{index}].path: must start with / and hold no spaces or control characters")
        if args["replace"] and not args["extra"] and not args.get("microsoft_json"):
            raise AnsibleActionFail("replace: true needs the endpoints to check in extra or microsoft_json")
        if not args["trusted_roots"] or not all(isinstance(root, str) and root.strip() for root in args["trusted_roots"]):
            raise AnsibleActionFail("trusted_roots: give the common names or SHA-1 thumbprints of the roots to trust (none is blank)")
        if args.get("microsoft_json"):
            # Read on the controller, before the host is contacted.
            try:
                args["imported"], args["wildcards_left_out"] = import_microsoft_json(args["microsoft_json"], args["microsoft_sets"])
            except (OSError, ValueError) as error:
                raise AnsibleActionFail(f"microsoft_json: {args['microsoft_json']} cannot be used ({error})") from error

    def registry_refs(self, args: dict[str, t.Any]) -> t.Iterable[RegistryRef]:
        yield from WinHttpProxy().registry_refs({})
        yield PROBE_HOST
        yield PROBE_PATH

    def probe_ops(self, args: dict[str, t.Any], context: ProbeContext) -> dict[str, dict[str, t.Any]]:
        endpoints = endpoint_list(args)
        timeout = args["timeout_ms"]
        names = list(dict.fromkeys(item["host"] for item in (*endpoints, *NCSI_DEFAULTS)))
        targets = list({(item["host"], item["port"]): {"host": item["host"], "port": item["port"]} for item in endpoints}.values())
        secure = [target for target in targets if any(item["host"] == target["host"] and item["port"] == target["port"]
                                                      and (item.get("scheme") or "https") == "https" for item in endpoints)]
        # The winhttp_proxy concern's reads, by its names (the same ops: asked once per host when both run).
        return {**WinHttpProxy().probe_ops({}, context),
                "dns": {"op": "dns_resolve", "names": names, "timeout_ms": timeout},
                "tcp": {"op": "tcp_connect", "targets": targets, "timeout_ms": timeout},
                "tls": {"op": "tls_handshake", "targets": secure, "timeout_ms": timeout},
                "http": {"op": "http_request", "urls": [url_of(item) for item in endpoints], "user_agent": MSOIDCRL, "timeout_ms": timeout},
                "neutral": {"op": "http_request", "urls": [SIGN_IN], "user_agent": NEUTRAL_AGENT, "timeout_ms": timeout},
                "ncsi": {"op": "http_request", "urls": [url_of(item) for item in NCSI_DEFAULTS], "user_agent": NCSI_AGENT, "timeout_ms": timeout}}

    def followup_ops(self, args: dict[str, t.Any], state: HostState) -> dict[str, dict[str, t.Any]]:
        """Only what the host's settings point at and the first run could not know."""
        if not args["follow_ups"]:
            return {}
        timeout, ops = args["timeout_ms"], {}
        urls = [url_of(item) for item in endpoint_list(args)]
        for route in wininet_routes(state):
            proxy = route["proxy"]
            ops[f"{WININET_HTTP}{proxy}"] = {"op": "http_request", "urls": urls, "user_agent": MSOIDCRL, "proxy": proxy, "timeout_ms": timeout}
            ops[f"{WININET_NEUTRAL}{proxy}"] = {"op": "http_request", "urls": [SIGN_IN], "user_agent": NEUTRAL_AGENT, "proxy": proxy,
                                                "timeout_ms": timeout}
        probe = ncsi_probe(state)
        if not _is_default_probe(probe):
            ops["ncsi_dns"] = {"op": "dns_resolve", "names": [probe["host"]], "timeout_ms": timeout}
            ops["ncsi_http"] = {"op": "http_request", "urls": [url_of(probe)], "user_agent": NCSI_AGENT, "timeout_ms": timeout}
        route = winhttp_route(state)
        refused = [request for request in state.probe("http").data.get("requests") or []
                   if request.get("error_code") in TLS_ERRORS]
        if route != "direct" and refused:
            # WinHTTP refused the certificate its proxy passed on: the handshake through the proxy names the CA.
            first = urlsplit(refused[0]["url"])
            ops["proxy_handshake"] = {"op": "tls_handshake", "targets": [{"host": first.hostname, "port": first.port or 443}], "proxy": route,
                                      "timeout_ms": timeout}
        if any(request.get("status") == 407 for request in state.probe("http").data.get("requests") or []):
            ops[USER_HTTP] = {"op": "user_session_read", "timeout_seconds": USER_HTTP_TIMEOUT_SECONDS,
                              "ops": [{"op": "http_get", "url": SIGN_IN, "user_agent": MSOIDCRL, "timeout_ms": timeout}]}
        return ops

    def plan(self, args: dict[str, t.Any], state: HostState) -> Plan:
        return Plan(facts=endpoint_facts(args, state))


def root_of(chain: t.Sequence[t.Mapping[str, t.Any]] | None) -> dict[str, t.Any] | None:
    return dict(chain[-1]) if chain else None


def common_name(distinguished_name: str) -> str:
    """The CN of an X.500 name as .NET writes it (``CN=DigiCert Global Root G2, O=DigiCert Inc, C=US``)."""
    for part in distinguished_name.split(","):
        key, value = (part.strip().split("=", 1) + [""])[:2]
        if key.upper() == "CN":
            return value.strip().strip('"')
    return ""


def missing_root(last: t.Mapping[str, t.Any] | None, flags: t.Collection[str], roots: t.Sequence[str]) -> str | None:
    """The public root a chain was issued under and the host's store lacks: the chain stops short (PartialChain or
    UntrustedRoot) at a certificate that is not self-signed and whose issuer is one of ``roots``. None otherwise."""
    if last is None or not SHORT_CHAIN & set(flags) or str(last.get("subject")) == str(last.get("issuer")):
        return None
    issuer = common_name(str(last.get("issuer") or ""))
    return issuer if issuer and trusted({"common_name": issuer}, roots) else None


def trusted(root: t.Mapping[str, t.Any] | None, roots: t.Sequence[str]) -> bool:
    if root is None:
        return False
    wanted = {item.strip().lower() for item in roots}
    return str(root.get("common_name") or "").lower() in wanted or str(root.get("thumbprint") or "").lower() in wanted


class Route:
    """The answers of one way out (WinHTTP as configured, or a WinINet proxy): per URL, and whether it blocks MSOIDCRL."""

    def __init__(self, name: str, requests: t.Sequence[t.Mapping[str, t.Any]], neutral: t.Sequence[t.Mapping[str, t.Any]]) -> None:
        self.name = name
        self.by_url = {request.get("url"): request for request in requests}
        sign_in = self.by_url.get(SIGN_IN) or {}
        other = next(iter(neutral), {})
        self.blocks_msoidcrl = name != "direct" and sign_in.get("status") == 403 and other.get("status") not in (None, 0, 403)

    def judge(self, url: str, roots: t.Sequence[str]) -> dict[str, t.Any]:
        request = self.by_url.get(url)
        if request is None:
            return {"result": NOT_TESTED, "route": self.name}
        judged = {"route": self.name, "status": request.get("status") or None, "elapsed_ms": request.get("elapsed_ms")}
        status = request.get("status") or 0
        if not status:
            if request.get("error_code") == CLIENT_CERT_NEEDED:
                return {**judged, "result": "fail", "code": CLIENT_CERT, "tls_refused": False,
                        "error": "the server asks for a client certificate (12044), also when answered without one"}
            return {**judged, "result": "fail", "error": winhttp_error(request), "tls_refused": request.get("error_code") in TLS_ERRORS}
        # The code is what the findings match; the error is what a person reads.
        if status == 407 and self.name != "direct":
            return {**judged, "result": "fail", "code": PROXY_AUTH, "error": "proxy authentication required (HTTP 407) of the management logon"}
        if status == 403 and self.blocks_msoidcrl:
            return {**judged, "result": "fail", "code": MSOIDCRL_REFUSED, "error": "the proxy refuses the MSOIDCRL user agent (HTTP 403)"}
        root = root_of(request.get("chain"))
        if request.get("chain") and not trusted(root, roots):
            return {**judged, "result": "pass", "error": None, "intercepted_by": (root or {}).get("common_name")}
        return {**judged, "result": "pass", "error": None}


def _tls_stage(item: t.Mapping[str, t.Any], tcp: str, answer: t.Mapping[str, t.Any] | None, roots: t.Sequence[str]) -> dict[str, t.Any]:
    if (item.get("scheme") or "https") != "https" or tcp != "pass" or answer is None:
        return {"result": NOT_TESTED}
    if not answer.get("ok"):
        return {"result": "fail", "error": answer.get("error"), "error_code": answer.get("error_code") or None}
    root = root_of(answer.get("chain"))
    judged = {"root": (root or {}).get("common_name"), "protocol": answer.get("protocol"), "elapsed_ms": answer.get("elapsed_ms")}
    missing = missing_root(root, answer.get("chain_status") or [], roots)
    if missing:
        return {**judged, "result": "fail", "root_missing": missing,
                "error": f"the chain ends at {judged['root']}, issued by the public root {missing}, which this host's certificate store does not have"}
    if not trusted(root, roots):
        return {**judged, "result": "fail", "error": "the chain ends at a root that is not a public root Microsoft uses",
                "intercepted_by": judged["root"]}
    if answer.get("chain_status"):
        return {**judged, "result": "fail", "error": ", ".join(answer["chain_status"])}
    return {**judged, "result": "pass", "error": None}


def endpoint_facts(args: dict[str, t.Any], state: HostState) -> dict[str, t.Any]:
    dns_answer, tcp_answer, tls_answer, http_answer, neutral_answer, ncsi_answer = (
        state.probe(name).data for name in ("dns", "tcp", "tls", "http", "neutral", "ncsi"))
    later = {name: answer.data for name, answer in state.followups.items()}
    names = {**(dns_answer.get("names") or {}), **(later.get("ncsi_dns", {}).get("names") or {})}
    configured_requests = [*(http_answer.get("requests") or []), *(ncsi_answer.get("requests") or []),
                           *(later.get("ncsi_http", {}).get("requests") or [])]
    proxy_handshake = next(iter(later.get("proxy_handshake", {}).get("targets") or []), None)
    wininet_requests = {name[len(WININET_HTTP):]: data.get("requests") or [] for name, data in later.items() if name.startswith(WININET_HTTP)}
    wininet_neutral = {name[len(WININET_NEUTRAL):]: data.get("requests") or [] for name, data in later.items() if name.startswith(WININET_NEUTRAL)}
    connections = {(item.get("host"), item.get("port")): item for item in tcp_answer.get("targets") or []}
    handshakes = {(item.get("host"), item.get("port")): item for item in tls_answer.get("targets") or []}
    roots = args["trusted_roots"]
    configured = Route(winhttp_route(state), configured_requests, neutral_answer.get("requests") or [])
    routes = wininet_routes(state)
    others = [Route(route["proxy"], wininet_requests.get(route["proxy"]) or [], wininet_neutral.get(route["proxy"]) or [])
              for route in routes]
    probe = ncsi_probe(state)
    results = []
    # A probe host other than Windows' default is resolved and fetched only by the follow-up.
    probe_tested = _is_default_probe(probe) or "ncsi_dns" in later
    for item in [*endpoint_list(args), probe]:
        resolved = names.get(item["host"]) or {}
        connected = connections.get((item["host"], item["port"]))
        dns = ("pass" if resolved.get("ok") else "fail") if item is not probe or probe_tested else NOT_TESTED
        # A connection to a name that did not resolve tested nothing about the connection; the NCSI probe is not connected to.
        tcp = NOT_TESTED if dns == "fail" or connected is None else ("pass" if connected.get("ok") else "fail")
        tls = _tls_stage(item, tcp, handshakes.get((item["host"], item["port"])), roots)
        url = url_of(item)
        http = configured.judge(url, roots)
        wininet = [{"proxy": route.name, **route.judge(url, roots)} for route in others]
        stages = {"dns": {"result": dns, "error": resolved.get("error"), "elapsed_ms": resolved.get("elapsed_ms")},
                  "tcp": {"result": tcp, "error": (connected or {}).get("error") if tcp == "fail" else None,
                          "elapsed_ms": (connected or {}).get("elapsed_ms") if tcp != NOT_TESTED else None},
                  "tls": tls, "http": http}
        failed = next((name for name, stage in stages.items() if stage["result"] == "fail"), None)
        results.append({
            "url": url, "host": item["host"], "port": item["port"], "purpose": purpose(item),
            "dns": dns, "addresses": list(resolved.get("addresses") or []), "canonical_name": resolved.get("canonical_name"),
            "tcp": tcp, "tls": tls["result"],
            "http": http["result"], "wininet": wininet,
            "intercepted_by": tls.get("intercepted_by") or http.get("intercepted_by"),
            "root_missing": tls.get("root_missing"),
            "error": f"{failed}: {stages[failed]['error']}" if failed else None,
            "stages": stages,
        })
    if proxy_handshake is not None and proxy_handshake.get("ok"):
        # The CA behind a certificate WinHTTP refused, from the handshake through the same proxy.
        refused_root = (root_of(proxy_handshake.get("chain")) or {}).get("common_name")
        for entry in results:
            if entry["stages"]["http"].get("tls_refused") and not trusted(root_of(proxy_handshake.get("chain")), roots) and not entry["root_missing"]:
                entry["intercepted_by"] = refused_root
    return {"checked": results, "timeout_ms": args["timeout_ms"], "wildcards_left_out": list(args.get("wildcards_left_out") or []),
            "users_sign_in": users_sign_in(later[USER_HTTP]) if USER_HTTP in later else None,
            "follow_ups": args["follow_ups"],
            "routes": {"winhttp": configured.name, "wininet": routes,
                       "blocks_msoidcrl": sorted(route.name for route in (configured, *others) if route.blocks_msoidcrl)},
            "ncsi_probe": url_of(probe),
            "dns_failed": sorted({entry["host"] for entry in results if entry["dns"] == "fail"}),
            "tcp_failed": sorted({f"{entry['host']}:{entry['port']}" for entry in results if entry["tcp"] == "fail"}),
            "http_failed": sorted({entry["url"] for entry in results if entry["http"] == "fail"}),
            "intercepted_by": sorted({entry["intercepted_by"] for entry in results if entry["intercepted_by"]}),
            "roots_missing": sorted({entry["root_missing"] for entry in results if entry["root_missing"]})}


def users_sign_in(data: t.Mapping[str, t.Any]) -> list[dict[str, t.Any]]:
    """The sign-in request from each signed-in user's session: their status (0 when the request failed), the WinHTTP
    error, whether their client used the automatic proxy and offered their logon to a proxy, or why there is no answer."""
    found = []
    for session, answer, why in session_answers(data):
        entry: dict[str, t.Any] = {"user": session.get("user"), "sid": session.get("sid")}
        request = next((item for item in (answer or {}).get("results") or [] if item.get("op") == "http_get"), None)
        if request is None or not request.get("ok"):
            found.append({**entry, "status": None, "error": why or (request or {}).get("message") or "no answer"})
            continue
        found.append({**entry, "status": request.get("status") or 0, "access_type": request.get("access_type"),
                      "credentials_offered": bool(request.get("credentials_offered")),
                      "error": winhttp_error(request) if not request.get("status") else None})
    return found
