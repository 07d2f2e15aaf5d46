# -*- coding: utf-8 -*-
# Copyright: m365ops.activation contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The article's endpoints, checked from the host: name resolution and a direct TCP connection. Facts only.

The endpoint list is the article's (reference: WINDOWS_FACTS section 3): CRL URLs over plain HTTP on port 80, the
rest HTTPS on 443. It can be replaced or extended, also from a saved copy of Microsoft's 365 URL/IP web service
answer (the sets that cover sign-in and activation by default; names with wildcards are left out and listed). Every
name is resolved and every host and port connected to at once, each stage bounded by the same timeout. The TLS
handshake and the HTTPS request through the WinHTTP and WinINet proxies (with the MSOIDCRL user agent) are not run
yet: those stages read ``not_tested``, never ``pass``. At a site that reaches the internet only through a proxy a
direct connection is expected to fail; the result says so.
"""

from __future__ import annotations

import json
import re
import typing as t

from ansible.errors import AnsibleActionFail

from ansible_collections.m365ops.activation.plugins.plugin_utils.action import Concern, HostState, Plan, ProbeContext

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
HOST_NAME = re.compile(r"^(?=.{1,253}$)([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\.?$")
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
        ports = [int(port) for port in str(entry.get("tcpPorts") or "").split(",") if port.strip().isdigit()]
        for url in entry.get("urls") or []:
            name = str(url).strip().lower()
            if "*" in name:
                wildcards.append(name)
                continue
            if not HOST_NAME.match(name):
                raise ValueError(f"set {entry['id']} names {str(url)[:80]!r}, which is not a host name")
            endpoints.extend({"host": name, "port": port, "scheme": "https" if port == 443 else "http", "path": "/"}
                             for port in ports if port in (80, 443))
    return endpoints, sorted(set(wildcards))


class Endpoints(Concern):
    NAME = "endpoints"
    FACTS_KEY = "endpoints"
    ARGUMENT_SPEC = {
        "extra": {"type": "list", "elements": "dict", "default": []},
        "replace": {"type": "bool", "default": False},
        "timeout_ms": {"type": "int", "default": 5000},
        "microsoft_json": {"type": "path"},
        "microsoft_sets": {"type": "list", "elements": "int", "default": ACTIVATION_SETS},
    }

    def check_arguments(self, args: dict[str, t.Any]) -> None:
        if not 100 <= args["timeout_ms"] <= 60000:
            raise AnsibleActionFail(f"timeout_ms: must be 100 to 60000 milliseconds, not {args['timeout_ms']}")
        for index, item in enumerate(args["extra"]):
            host, port = item.get("host"), item.get("port")
            if not isinstance(host, str) or not HOST_NAME.match(host):
                raise AnsibleActionFail(f"extra[{index}].host: {str(host)[:80]!r} is not a host name")
            if not isinstance(port, int) or isinstance(port, bool) or not 1 <= port <= 65535:
                raise AnsibleActionFail(f"extra[{index}].port: {port!r} is not a port number")
            unknown = sorted(set(item) - {"host", "port", "scheme", "path"})
            if unknown:
                raise AnsibleActionFail(f"extra[{index}]: unknown key(s) {', '.join(unknown)}; an endpoint has host, port, scheme, path")
        if args["replace"] and not args["extra"] and not args.get("microsoft_json"):
            raise AnsibleActionFail("replace: true needs the endpoints to check in extra or microsoft_json")
        if args.get("microsoft_json"):
            # Read on the controller, before the host is contacted.
            try:
                args["imported"], args["wildcards_left_out"] = import_microsoft_json(args["microsoft_json"], args["microsoft_sets"])
            except (OSError, ValueError) as error:
                raise AnsibleActionFail(f"microsoft_json: {args['microsoft_json']} cannot be used ({error})") from error

    def probe_ops(self, args: dict[str, t.Any], context: ProbeContext) -> list[dict[str, t.Any]]:
        endpoints = endpoint_list(args)
        names = list(dict.fromkeys(item["host"] for item in endpoints))
        targets = list({(item["host"], item["port"]): {"host": item["host"], "port": item["port"]} for item in endpoints}.values())
        return [{"op": "dns_resolve", "names": names, "timeout_ms": args["timeout_ms"]},
                {"op": "tcp_connect", "targets": targets, "timeout_ms": args["timeout_ms"]}]

    def plan(self, args: dict[str, t.Any], state: HostState) -> Plan:
        return Plan(facts=endpoint_facts(args, state))


def endpoint_facts(args: dict[str, t.Any], state: HostState) -> dict[str, t.Any]:
    names = state.probes[0].data.get("names") or {}
    connections = {(item.get("host"), item.get("port")): item for item in state.probes[1].data.get("targets") or []}
    results = []
    for item in endpoint_list(args):
        resolved = names.get(item["host"]) or {}
        connected = connections.get((item["host"], item["port"])) or {}
        dns = "pass" if resolved.get("ok") else "fail"
        # A connection to a name that did not resolve tested nothing about the connection.
        tcp = NOT_TESTED if dns == "fail" else ("pass" if connected.get("ok") else "fail")
        results.append({
            "url": f"{item.get('scheme') or 'https'}://{item['host']}:{item['port']}{item.get('path') or '/'}",
            "host": item["host"], "port": item["port"],
            "dns": dns, "addresses": list(resolved.get("addresses") or []),
            "tcp": tcp, "tls": NOT_TESTED, "http": NOT_TESTED,
            "error": resolved.get("error") if dns == "fail" else (connected.get("error") if tcp == "fail" else None),
            "elapsed_ms": {"dns": resolved.get("elapsed_ms"), "tcp": connected.get("elapsed_ms") if tcp != NOT_TESTED else None},
        })
    return {"checked": results, "timeout_ms": args["timeout_ms"], "wildcards_left_out": list(args.get("wildcards_left_out") or []),
            "dns_failed": sorted({entry["host"] for entry in results if entry["dns"] == "fail"}),
            "tcp_failed": sorted({f"{entry['host']}:{entry['port']}" for entry in results if entry["tcp"] == "fail"})}
