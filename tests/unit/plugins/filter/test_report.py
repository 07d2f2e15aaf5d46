from __future__ import annotations

from ansible_collections.m365ops.activation.plugins.filter.report import compliance_report, report_lines

CHANGE = {"reason": "SCHANNEL TLS 1.2 Client Enabled is set to 0"}


def test_each_status() -> None:
    hostvars = {
        "ok": {"tls12_result": {"changed": False, "tls12": {"os": "Windows 11"}}},
        "drift": {"tls12_result": {"changed": True, "check_mode": True, "changes": [CHANGE], "reboot_required": True}},
        "fixed": {"tls12_result": {"changed": True, "check_mode": False, "changes": [CHANGE], "backup": []}},
        "blocked": {"tls12_result": {"changed": False, "blockers": ["KB3140245 is not installed"],
                                     "warnings": ["KB3140245 is not installed", "other"]}},
        "broken": {"tls12_result": {"failed": True, "msg": "access denied"}},
        "gone": {},
    }
    report = compliance_report(hostvars, list(hostvars))
    assert {host: entry["status"] for host, entry in report["hosts"].items()} == {
        "ok": "compliant", "drift": "drift", "fixed": "remediated", "blocked": "blocked", "broken": "failed", "gone": "not_run"}
    assert report["hosts"]["ok"]["os"] == "Windows 11"
    assert report["hosts"]["drift"]["reboot_required"] is True
    assert report["hosts"]["blocked"]["concerns"]["tls12"]["warnings"] == ["other"]
    assert report["totals"] == {"compliant": 1, "remediated": 1, "drift": 1, "blocked": 1, "failed": 1, "not_run": 1}


def test_host_status_is_the_worst_of_its_concerns() -> None:
    hostvars = {"pc": {"tls12_result": {"changed": False}, "other_result": {"failed": True, "msg": "x"}}}
    assert compliance_report(hostvars, ["pc"], ["tls12", "other"])["hosts"]["pc"]["status"] == "failed"


def test_lines_name_the_reason() -> None:
    report = compliance_report({"pc": {"tls12_result": {"changed": True, "check_mode": True, "changes": [CHANGE]}}}, ["pc"])
    lines = report_lines(report)
    assert lines[0].startswith("pc (unknown OS): DRIFT") and CHANGE["reason"] in lines[0]
    assert lines[-1] == "totals: drift=1"
