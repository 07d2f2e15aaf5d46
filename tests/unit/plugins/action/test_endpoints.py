"""The endpoint check: the article's list, options checked before contact, stages never shown as passed when not run."""
from __future__ import annotations

import json

import pytest
from ansible.errors import AnsibleActionFail

from ansible_collections.m365ops.activation.plugins.plugin_utils.action import ProbeContext, validate_options
from ansible_collections.m365ops.activation.plugins.plugin_utils.agent import OpResult
from ansible_collections.m365ops.activation.plugins.plugin_utils.concerns.endpoints import ARTICLE_ENDPOINTS, Endpoints
from hoststate import make_state


def test_every_name_is_resolved_once_and_every_host_and_port_connected_once() -> None:
    args = validate_options(Endpoints(), {}, prefix="endpoints")
    dns, tcp = Endpoints().probe_ops(args, ProbeContext())
    assert len(dns["names"]) == len(set(dns["names"])) == len({item["host"] for item in ARTICLE_ENDPOINTS})
    assert {"host": "crl.microsoft.com", "port": 80} in tcp["targets"] and {"host": "crl.microsoft.com", "port": 443} in tcp["targets"]
    assert len(tcp["targets"]) == len({(item["host"], item["port"]) for item in ARTICLE_ENDPOINTS})


@pytest.mark.parametrize(("raw", "needle"), [
    ({"timeout_ms": 50}, "endpoints.timeout_ms: must be 100 to 60000"),
    ({"extra": [{"host": "bad host\n", "port": 443}]}, "endpoints.extra[0].host: 'bad host\\n' is not a host name"),
    ({"extra": [{"host": "proxy.corp.example", "port": 70000}]}, "endpoints.extra[0].port"),
    ({"extra": [{"host": "proxy.corp.example", "port": 8080, "prot": "tcp"}]}, "unknown key(s) prot"),
    ({"replace": True}, "endpoints.replace: true needs the endpoints to check in extra"),
])
def test_bad_endpoint_options_are_refused_before_contact(raw, needle) -> None:
    with pytest.raises(AnsibleActionFail) as caught:
        validate_options(Endpoints(), raw, prefix="endpoints")
    assert needle in caught.value.message


def test_a_connection_to_a_name_that_did_not_resolve_tested_nothing() -> None:
    args = validate_options(Endpoints(), {"replace": True, "extra": [{"host": "a.example", "port": 443}, {"host": "b.example", "port": 443}]},
                            prefix="endpoints")
    names = OpResult("dns_resolve", True, {"names": {"a.example": {"ok": False, "error": "HostNotFound"},
                                                     "b.example": {"ok": True, "addresses": ["203.0.113.9"]}}})
    targets = OpResult("tcp_connect", True, {"targets": [{"host": "a.example", "port": 443, "ok": False, "error": "HostNotFound"},
                                                         {"host": "b.example", "port": 443, "ok": False, "error": "TimedOut"}]})
    facts = Endpoints().plan(args, make_state("win10", [], probes=(names, targets))).facts
    a, b = facts["checked"]
    assert (a["dns"], a["tcp"], a["error"]) == ("fail", "not_tested", "HostNotFound")
    assert (b["dns"], b["tcp"], b["error"]) == ("pass", "fail", "TimedOut")
    assert {a["tls"], a["http"], b["tls"], b["http"]} == {"not_tested"}
    assert facts["dns_failed"] == ["a.example"] and facts["tcp_failed"] == ["b.example:443"]


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
    dns, tcp = Endpoints().probe_ops(args, ProbeContext())
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
