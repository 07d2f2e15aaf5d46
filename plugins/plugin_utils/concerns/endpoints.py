# -*- coding: utf-8 -*-
# Copyright: m365ops.activation contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The article's endpoints, checked from the host: name resolution and a direct TCP connection. Facts only.

The endpoint list is the article's (reference: WINDOWS_FACTS section 3): CRL URLs over plain HTTP on port 80, the
rest HTTPS on 443; it can be replaced or extended. Every name is resolved and every host and port connected to at
once, each stage bounded by the same timeout. The TLS handshake and the HTTPS request through the WinHTTP and WinINet
proxies (with the MSOIDCRL user agent) are not run yet: those stages read ``not_tested``, never ``pass``. At a site
that reaches the internet only through a proxy a direct connection is expected to fail; the result says so.
"""

from __future__ import annotations

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


def endpoint_list(args: dict[str, t.Any]) -> list[dict[str, t.Any]]:
    """The endpoints to check: the article's (unless ``replace``), then ``extra``."""
    listed = [] if args.get("replace") else [dict(item) for item in ARTICLE_ENDPOINTS]
    return listed + [dict(item) for item in args.get("extra") or []]


class Endpoints(Concern):
    NAME = "endpoints"
    FACTS_KEY = "endpoints"
    ARGUMENT_SPEC = {
        "extra": {"type": "list", "elements": "dict", "default": []},
        "replace": {"type": "bool", "default": False},
        "timeout_ms": {"type": "int", "default": 5000},
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
        if args["replace"] and not args["extra"]:
            raise AnsibleActionFail("replace: true needs the endpoints to check in extra")

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
    return {"checked": results, "timeout_ms": args["timeout_ms"],
            "dns_failed": sorted({entry["host"] for entry in results if entry["dns"] == "fail"}),
            "tcp_failed": sorted({f"{entry['host']}:{entry['port']}" for entry in results if entry["tcp"] == "fail"})}
