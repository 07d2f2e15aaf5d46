"""JUnit XML of each report layout: a case per host and concern, findings and failures as failures, any host text safe."""
from __future__ import annotations

import xml.etree.ElementTree as ET

from ansible_collections.m365ops.activation.plugins.plugin_utils.report_files.junit import junit_xml


def concern(status: str, **extra: object) -> dict:
    return {"status": status, "changes": [], "blockers": [], "drift": [], "warnings": [], "reboot_required": False, "reboot_owed_by": [], **extra}


def test_a_compliance_report_has_a_case_per_host_and_concern_and_one_for_activation() -> None:
    report = {"schema_version": 1, "title": "audit", "run": {"id": "a" * 32, "generated": "2026-12-04T10:00:00Z"}, "hosts": {
        "pc1": {"status": "drift", "headline": "cannot_activate", "os": "Windows 10", "check_mode": True,
                "concerns": {"tls12": concern("drift", changes=["TLS 1.2 Client Enabled is 0"]), "ncsi": concern("compliant"),
                             "ipv6": {"status": "not_selected"}, "winsock_reset": concern("failed", message="agent: \x01 broken ]]>")},
                "activation": {"verdict": "cannot_activate", "causes": [{"id": "endpoint-blocked", "severity": "high", "summary": "s",
                                                                         "fix": "open <the> firewall", "evidence": [{"url": "https://x/"}]}]}},
        "pc2": {"status": "compliant", "headline": "compliant", "os": "", "concerns": {"tls12": concern("compliant")},
                "activation": {"verdict": "not_checked", "causes": []}}}}
    root = ET.fromstring(junit_xml(report))
    assert (root.tag, root.get("tests"), root.get("failures"), root.get("errors"), root.get("skipped")) == ("testsuites", "7", "2", "1", "2")
    assert root.get("timestamp") == "2026-12-04T10:00:00"
    pc1 = root.find("testsuite[@name='pc1']")
    cases = {case.get("name"): case for case in pc1.findall("testcase")}
    assert set(cases) == {"tls12", "ncsi", "ipv6", "winsock_reset", "activation"}
    assert cases["tls12"].find("failure").get("message") == "drift: TLS 1.2 Client Enabled is 0"
    assert "would change: TLS 1.2 Client Enabled is 0" in cases["tls12"].find("failure").text
    # A control character XML cannot carry is dropped; the rest of the host's text arrives as it was.
    assert cases["winsock_reset"].find("error").get("message") == "failed: agent:  broken ]]>"
    assert cases["ncsi"].find("*") is None and cases["ipv6"].find("skipped") is not None
    failure = cases["activation"].find("failure")
    assert failure.get("message") == "cannot_activate: endpoint-blocked" and "fix: open <the> firewall" in failure.text
    assert {prop.get("name"): prop.get("value") for prop in pc1.find("properties")}["verdict"] == "cannot_activate"
    assert root.find("testsuite[@name='pc2']/testcase[@name='activation']/skipped") is not None


def test_restore_and_diagnosis_reports_have_a_case_per_host() -> None:
    restore = ET.fromstring(junit_xml({"title": "restore", "hosts": {
        "a": {"result": "RESTORED", "status": "remediated", "restored": ["x"], "conflicts": []},
        "b": {"result": "CONFLICT", "status": "remediated", "restored": [], "conflicts": [{"value": "v"}]},
        "c": {"result": "UNREACHABLE", "status": "unreachable", "message": "no route"}}}))
    assert (restore.get("tests"), restore.get("failures"), restore.get("errors")) == ("3", "1", "1")
    diagnosis = ET.fromstring(junit_xml({"summary": {"hosts_not_diagnosed": ["gone"]}, "hosts": {
        "a": [{"id": "tls-intercepted", "severity": "high", "summary": "s", "fix": "f", "evidence": []}], "b": [{"id": "i", "severity": "info"}]}}))
    assert (diagnosis.get("tests"), diagnosis.get("failures"), diagnosis.get("errors")) == ("3", "1", "1")
