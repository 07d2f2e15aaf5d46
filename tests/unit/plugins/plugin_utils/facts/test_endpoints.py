"""The endpoint check: the article's list, options checked before contact, stages never shown as passed when not run."""
from __future__ import annotations

import json
from dataclasses import replace

import pytest
from ansible.errors import AnsibleActionFail

from ansible_collections.m365ops.activation.plugins.plugin_utils.engine.agent import OpResult
from ansible_collections.m365ops.activation.plugins.plugin_utils.engine.concern import ProbeContext, validate_options
from ansible_collections.m365ops.activation.plugins.plugin_utils.facts.endpoints import ARTICLE_ENDPOINTS, NCSI_HOSTS, PROBE_HOST, Endpoints
from ansible_collections.m365ops.activation.plugins.plugin_utils.registry import RegistryValue
from hoststate import make_state


REFS = list(Endpoints().registry_refs({}))


def ops_by_name(ops: dict[str, dict]) -> dict[str, list[dict]]:
    found: dict[str, list[dict]] = {}
    for op in ops.values():
        found.setdefault(op["op"], []).append(op)
    return found


def test_every_name_is_resolved_once_and_every_host_and_port_connected_once() -> None:
    args = validate_options(Endpoints(), {}, prefix="endpoints")
    ops = ops_by_name(Endpoints().probe_ops(args, ProbeContext()))
    (dns,), (tcp,), (tls,) = ops["dns_resolve"], ops["tcp_connect"], ops["tls_handshake"]
    assert len(dns["names"]) == len(set(dns["names"])) == len({item["host"] for item in ARTICLE_ENDPOINTS}) + len(NCSI_HOSTS)
    assert {"host": "crl.microsoft.com", "port": 80} in tcp["targets"] and {"host": "crl.microsoft.com", "port": 443} in tcp["targets"]
    assert len(tcp["targets"]) == len({(item["host"], item["port"]) for item in ARTICLE_ENDPOINTS})
    # TLS only where the endpoint speaks it; every URL once through WinHTTP with the user agent sign-in uses.
    assert {"host": "crl.microsoft.com", "port": 80} not in tls["targets"] and {"host": "crl.microsoft.com", "port": 443} in tls["targets"]
    msoidcrl, neutral, ncsi = ops["http_request"]
    assert msoidcrl["user_agent"] == "MSOIDCRL" and len(msoidcrl["urls"]) == len(set(msoidcrl["urls"])) == len(ARTICLE_ENDPOINTS)
    assert "https://ols.officeapps.live.com/olsc" in msoidcrl["urls"] and "proxy" not in msoidcrl
    assert neutral["urls"] == ["https://login.microsoftonline.com/"] and neutral["user_agent"] != "MSOIDCRL"
    assert ncsi["urls"] == ["http://www.msftconnecttest.com/connecttest.txt", "http://www.msftncsi.com/ncsi.txt"]


def answers(dns=None, tcp=(), tls=(), http=(), neutral=(), ncsi=(), winhttp=None) -> dict:
    """The probe's answers by the concern's names: the proxy reads (nobody signed in), then the network stages."""
    return {"winhttp_proxy": OpResult("winhttp_proxy_read", True, winhttp or {"access_type": "direct", "proxy": None, "bypass": None}),
            "sessions": OpResult("user_sessions", True, {"sessions": []}),
            "user_connections": OpResult("registry_read_user_hives", True, {"hives": {}}),
            "user_settings": OpResult("registry_read_user_hives", True, {"hives": {}}),
            "dns": OpResult("dns_resolve", True, {"names": dns or {}}), "tcp": OpResult("tcp_connect", True, {"targets": list(tcp)}),
            "tls": OpResult("tls_handshake", True, {"targets": list(tls)}), "http": OpResult("http_request", True, {"requests": list(http)}),
            "neutral": OpResult("http_request", True, {"requests": list(neutral)}),
            "ncsi": OpResult("http_request", True, {"requests": list(ncsi)})}


def plan_of(raw: dict, probes: dict, followups: dict | None = None) -> dict:
    args = validate_options(Endpoints(), raw, prefix="endpoints")
    state = make_state("win10", REFS, probes=probes)
    return Endpoints().plan(args, replace(state, followups=followups or {})).facts


ONLY = {"replace": True, "extra": [{"host": "a.example", "port": 443}, {"host": "b.example", "port": 443}]}
RESOLVED = {"a.example": {"ok": True, "addresses": ["203.0.113.8"]}, "b.example": {"ok": True, "addresses": ["203.0.113.9"]},
            "www.msftconnecttest.com": {"ok": True, "addresses": ["203.0.113.7"]}}
PUBLIC = [{"common_name": "b.example"}, {"common_name": "DigiCert Global Root G2", "thumbprint": "AB"}]
INSPECTED = [{"common_name": "b.example"}, {"common_name": "Contoso TLS Inspection CA", "thumbprint": "CD"}]


def test_a_connection_to_a_name_that_did_not_resolve_tested_nothing() -> None:
    dns = {**RESOLVED, "a.example": {"ok": False, "error": "HostNotFound"}}
    tcp = [{"host": "a.example", "port": 443, "ok": False, "error": "HostNotFound"}, {"host": "b.example", "port": 443, "ok": False, "error": "TimedOut"}]
    http = [{"url": "https://a.example/", "status": 0, "error_code": 12007}, {"url": "https://b.example/", "status": 0, "error_code": 12002}]
    facts = plan_of(ONLY, answers(dns, tcp, (), http))
    a, b, probe = facts["checked"]
    assert (a["dns"], a["tcp"], a["tls"], a["error"]) == ("fail", "not_tested", "not_tested", "dns: HostNotFound")
    assert (b["dns"], b["tcp"], b["tls"], b["error"]) == ("pass", "fail", "not_tested", "tcp: TimedOut")
    assert (a["http"], b["stages"]["http"]["error"]) == ("fail", "ERROR_WINHTTP_TIMEOUT")
    # The NCSI probe Windows 10 uses is reported; it was asked through WinHTTP only, and got no answer here.
    assert (probe["purpose"], probe["url"], probe["tcp"], probe["http"]) == ("ncsi", "http://www.msftconnecttest.com/connecttest.txt",
                                                                             "not_tested", "not_tested")
    assert facts["dns_failed"] == ["a.example"] and facts["tcp_failed"] == ["b.example:443"]


def test_a_chain_to_another_root_names_the_ca_and_a_public_one_passes() -> None:
    tcp = [{"host": "a.example", "port": 443, "ok": True}, {"host": "b.example", "port": 443, "ok": True}]
    tls = [{"host": "a.example", "port": 443, "ok": True, "chain": INSPECTED, "chain_status": []},
           {"host": "b.example", "port": 443, "ok": True, "chain": PUBLIC, "chain_status": [], "protocol": "Tls12"}]
    http = [{"url": "https://a.example/", "status": 200, "chain": INSPECTED}, {"url": "https://b.example/", "status": 302, "chain": PUBLIC}]
    facts = plan_of(ONLY, answers(RESOLVED, tcp, tls, http))
    a, b, _probe = facts["checked"]
    assert (a["tls"], a["intercepted_by"], a["http"]) == ("fail", "Contoso TLS Inspection CA", "pass")
    assert (b["tls"], b["intercepted_by"], b["http"], b["error"]) == ("pass", None, "pass", None)
    assert facts["intercepted_by"] == ["Contoso TLS Inspection CA"]
    # A site that trusts its own inspection CA on purpose says so, by name or thumbprint.
    trusting = plan_of({**ONLY, "trusted_roots": ["cd", "DigiCert Global Root G2"]}, answers(RESOLVED, tcp, tls, http))
    assert {entry["tls"] for entry in trusting["checked"][:2]} == {"pass"} and trusting["intercepted_by"] == []
    flagged = [{**tls[1], "chain_status": ["NotTimeValid"]}]
    assert plan_of(ONLY, answers(RESOLVED, tcp, flagged, http))["checked"][1]["stages"]["tls"]["error"] == "NotTimeValid"


PROXIED = {"access_type": "named", "proxy": "proxy.corp.example:8080", "bypass": None}


@pytest.mark.parametrize(("status", "neutral", "expected"), [
    (407, 407, "proxy authentication required (HTTP 407) of the management logon"),
    (403, 200, "the proxy refuses the MSOIDCRL user agent (HTTP 403)"),
    (403, 403, None),
    (200, 200, None),
])
def test_a_proxys_answer_is_told_apart(status: int, neutral: int, expected: str | None) -> None:
    sign_in = {"replace": True, "extra": [{"host": "login.microsoftonline.com", "port": 443}]}
    http = [{"url": "https://login.microsoftonline.com/", "status": status}]
    facts = plan_of(sign_in, answers(http=http, neutral=[{"url": "https://login.microsoftonline.com/", "status": neutral}], winhttp=PROXIED))
    entry = facts["checked"][0]
    assert entry["stages"]["http"]["route"] == "proxy.corp.example:8080"
    # A 403 that every user agent gets is the server's or the proxy's general answer: the request got through to someone.
    assert (entry["http"], entry["stages"]["http"]["error"]) == (("fail", expected) if expected else ("pass", None))
    assert facts["routes"]["blocks_msoidcrl"] == (["proxy.corp.example:8080"] if status == 403 and neutral == 200 else [])


def test_the_second_run_is_asked_only_for_what_the_first_could_not_know() -> None:
    args = validate_options(Endpoints(), ONLY, prefix="endpoints")
    plain = make_state("win10", REFS, probes=answers())
    assert not Endpoints().followup_ops(args, plain)
    retired = make_state("win10", REFS, {(PROBE_HOST.key.path, "64", PROBE_HOST.name): RegistryValue("string", "ncsi.retired.example")},
                         probes=answers())
    dns, http = list(Endpoints().followup_ops(args, retired).values())
    assert dns["names"] == ["ncsi.retired.example"] and http["urls"] == ["http://ncsi.retired.example/connecttest.txt"]
    refused = make_state("win10", REFS, probes=answers(http=[{"url": "https://b.example/", "status": 0, "error_code": 12175}], winhttp=PROXIED))
    handshake, = list(Endpoints().followup_ops(args, refused).values())
    assert handshake == {"op": "tls_handshake", "targets": [{"host": "b.example", "port": 443}], "proxy": "proxy.corp.example:8080",
                         "timeout_ms": 5000}
    # What the handshake through the proxy saw names the CA behind the refused certificate.
    facts = plan_of(ONLY, refused.probes, {"proxy_handshake": OpResult("tls_handshake", True, {"targets": [{"ok": True, "chain": INSPECTED}]})})
    assert facts["checked"][1]["intercepted_by"] == "Contoso TLS Inspection CA" and facts["checked"][1]["http"] == "fail"


@pytest.mark.parametrize(("raw", "needle"), [
    ({"timeout_ms": 50}, "endpoints.timeout_ms: must be 100 to 60000"),
    ({"extra": [{"host": "bad host\n", "port": 443}]}, "endpoints.extra[0].host: 'bad host\\n' is not a host name"),
    ({"extra": [{"host": "proxy.corp.example", "port": 70000}]}, "endpoints.extra[0].port"),
    ({"extra": [{"host": "proxy.corp.example", "port": 8080, "prot": "tcp"}]}, "unknown key(s) prot"),
    ({"replace": True}, "endpoints.replace: true needs the endpoints to check in extra"),
    # A name that ends in a newline: "$" would have let it through to the host.
    ({"extra": [{"host": "login.example.com\n", "port": 443}]}, "endpoints.extra[0].host: 'login.example.com\\n' is not a host name"),
    ({"extra": [{"host": "login.example.com", "port": 443, "path": "/ok\n"}]}, "endpoints.extra[0].path: must start with /"),
    ({"extra": [{"host": f"h{index}.example.com", "port": 443} for index in range(65)]}, "endpoints.extra: 65 endpoints; at most 64"),
])
def test_bad_endpoint_options_are_refused_before_contact(raw, needle) -> None:
    with pytest.raises(AnsibleActionFail) as caught:
        validate_options(Endpoints(), raw, prefix="endpoints")
    assert needle in caught.value.message


def write_json(tmp_path, document) -> str:
    path = tmp_path / "worldwide.json"
    path.write_text(json.dumps(document), encoding="utf-8")
    return str(path)


def test_endpoints_are_imported_from_a_saved_web_service_answer(tmp_path) -> None:
    path = write_json(tmp_path, [
        {"id": 56, "serviceArea": "Common", "urls": ["login.microsoftonline.com", "*.msftidentity.com", "newname.microsoft.com"],
         "tcpPorts": "80,443", "required": True},
        {"id": 999, "serviceArea": "Exchange", "urls": ["outlook.office.com"], "tcpPorts": "443"},
    ])
    args = validate_options(Endpoints(), {"microsoft_json": path}, prefix="endpoints")
    ops = ops_by_name(Endpoints().probe_ops(args, ProbeContext()))
    (dns,), (tcp,) = ops["dns_resolve"], ops["tcp_connect"]
    assert "newname.microsoft.com" in dns["names"] and "outlook.office.com" not in dns["names"]
    assert {"host": "newname.microsoft.com", "port": 80} in tcp["targets"]
    # The article already lists login.microsoftonline.com:443: checked once.
    assert tcp["targets"].count({"host": "login.microsoftonline.com", "port": 443}) == 1
    assert args["wildcards_left_out"] == ["*.msftidentity.com"]


@pytest.mark.parametrize(("content", "needle"), [
    ("{not json", "cannot be used"),
    ('{"id": 56}', "not a list of endpoint sets"),
    ('[{"id": 56, "urls": ["bad name\\n"], "tcpPorts": "443"}]', "is not a host name"),
])
def test_a_bad_saved_answer_is_refused_naming_the_option(tmp_path, content: str, needle: str) -> None:
    path = tmp_path / "worldwide.json"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(AnsibleActionFail) as caught:
        validate_options(Endpoints(), {"microsoft_json": str(path)}, prefix="endpoints")
    assert caught.value.message.startswith("endpoints.microsoft_json:") and needle in caught.value.message
    with pytest.raises(AnsibleActionFail, match="endpoints.microsoft_json"):
        validate_options(Endpoints(), {"microsoft_json": str(tmp_path / "missing.json")}, prefix="endpoints")


def test_a_chain_that_stops_at_a_public_intermediate_is_a_missing_root_not_interception() -> None:
    """Review G13: with automatic root update off, the chain ends at the issuing CA, whose issuer is a public root."""
    short = [{"common_name": "a.example", "subject": "CN=a.example", "issuer": "CN=Microsoft Azure RSA TLS Issuing CA 03"},
             {"common_name": "Microsoft Azure RSA TLS Issuing CA 03", "subject": "CN=Microsoft Azure RSA TLS Issuing CA 03, O=Microsoft Corporation",
              "issuer": "CN=DigiCert Global Root G2, OU=www.digicert.com, O=DigiCert Inc, C=US"}]
    tcp = [{"host": "a.example", "port": 443, "ok": True}, {"host": "b.example", "port": 443, "ok": True}]
    tls = [{"host": "a.example", "port": 443, "ok": True, "chain": short, "chain_status": ["PartialChain"]},
           {"host": "b.example", "port": 443, "ok": True, "chain": INSPECTED, "chain_status": ["PartialChain"]}]
    http = [{"url": "https://a.example/", "status": 0, "error_code": 12175}, {"url": "https://b.example/", "status": 200, "chain": INSPECTED}]
    facts = plan_of(ONLY, answers(RESOLVED, tcp, tls, http))
    a, b, _probe = facts["checked"]
    assert (a["tls"], a["root_missing"], a["intercepted_by"]) == ("fail", "DigiCert Global Root G2", None)
    assert "which this host's certificate store does not have" in a["stages"]["tls"]["error"]
    # A chain to a root that is not public stays interception, whatever its flags.
    assert (b["root_missing"], b["intercepted_by"]) == (None, "Contoso TLS Inspection CA")
    assert facts["roots_missing"] == ["DigiCert Global Root G2"]


def test_a_client_certificate_request_is_not_a_tls_refusal() -> None:
    """Review G14: 12044 says the server asked for a client certificate, nothing of the protocol versions WinHTTP offers."""
    sign_in = {"replace": True, "extra": [{"host": "login.microsoftonline.com", "port": 443}]}
    http = [{"url": "https://login.microsoftonline.com/", "status": 0, "error_code": 12044}]
    stage = plan_of(sign_in, answers(http=http))["checked"][0]["stages"]["http"]
    assert (stage["result"], stage["code"], stage["tls_refused"]) == ("fail", "client_cert_requested", False)
    refused = plan_of(sign_in, answers(http=[{**http[0], "error_code": 12175}]))["checked"][0]["stages"]["http"]
    assert refused["tls_refused"] is True
