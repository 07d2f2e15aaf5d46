from __future__ import annotations

from importlib import import_module

import pytest

from ansible_collections.m365ops.activation.plugins.filter.report import (
    CONCERNS, compliance_report, concern_lines, concern_module, report_lines, selected_concerns, unknown_variables,
)
from ansible_collections.m365ops.activation.plugins.plugin_utils.engine.status import STATUS_ORDER

CHANGE = {"reason": "SCHANNEL TLS 1.2 Client Enabled is set to 0"}


def test_each_status() -> None:
    hostvars = {
        "ok": {"tls12_result": {"changed": False, "status": "compliant", "tls12": {"os": "Windows 11"}}},
        "drift": {"tls12_result": {"changed": True, "check_mode": True, "status": "drift", "changes": [CHANGE], "reboot_required": True}},
        "fixed": {"tls12_result": {"changed": True, "check_mode": False, "status": "remediated", "changes": [CHANGE], "backup": []}},
        "blocked": {"tls12_result": {"changed": True, "status": "blocked", "changes": [CHANGE], "blockers": ["KB3140245 is not installed"],
                                     "warnings": ["KB3140245 is not installed", "other"]}},
        "broken": {"tls12_result": {"failed": True, "msg": "access denied"}},
        "gone": {"tls12_result": {"unreachable": True, "msg": "connection refused"}},
        "silent": {},
    }
    report = compliance_report(hostvars, list(hostvars), selected=["tls12"])
    assert {host: entry["status"] for host, entry in report["hosts"].items()} == {
        "ok": "compliant", "drift": "drift", "fixed": "remediated", "blocked": "blocked", "broken": "failed",
        "gone": "unreachable", "silent": "not_run"}
    assert report["hosts"]["ok"]["os"] == "Windows 11"
    assert report["hosts"]["drift"]["reboot_required"] is True
    assert report["hosts"]["blocked"]["concerns"]["tls12"]["warnings"] == ["other"]
    assert report["hosts"]["broken"]["message"] == "tls12: access denied"
    assert report["hosts"]["ok"]["concerns"]["ncsi"] == {"status": "not_selected"}
    assert report["totals"] == {"not_selected": 0, "nothing_to_restore": 0, "compliant": 1, "remediated": 1, "drift": 1, "blocked": 1, "not_run": 1,
                                "busy": 0, "failed": 1, "unknown": 0, "unreachable": 1}


def test_a_failed_concern_makes_the_host_failed_and_names_what_did_not_run() -> None:
    # As the fleet role leaves it: tls12 failed, so ncsi never ran (its registration says skipped).
    hostvars = {"pc": {"tls12_result": {"failed": True, "msg": "access denied"},
                       "ncsi_result": {"skipped": True, "false_condition": "fleet_stopped is undefined"},
                       "fleet_stopped": {"concern": "tls12", "status": "failed", "msg": "access denied"}}}
    entry = compliance_report(hostvars, ["pc"], selected=["tls12", "ncsi"])["hosts"]["pc"]
    assert entry["status"] == "failed"
    assert entry["concerns"]["ncsi"] == {"status": "not_run", "message": "not run because tls12 failed", "changes": [],
                                         "blockers": [], "drift": [], "warnings": [], "reboot_required": False, "reboot_owed_by": []}


def test_a_concern_that_failed_before_registering_is_failed_with_its_message() -> None:
    hostvars = {"pc": {"fleet_stopped": {"concern": "winhttp_proxy", "status": "failed", "msg": "winhttp_proxy_proxy: bad"}}}
    entry = compliance_report(hostvars, ["pc"], selected=["tls12", "winhttp_proxy"])["hosts"]["pc"]
    assert entry["concerns"]["winhttp_proxy"]["status"] == "failed"
    assert entry["concerns"]["tls12"]["status"] == "not_run"
    assert entry["status"] == "failed" and "winhttp_proxy_proxy: bad" in entry["message"]


def test_unreachable_outranks_everything() -> None:
    hostvars = {"pc": {"tls12_result": {"unreachable": True, "msg": "timed out"},
                       "fleet_stopped": {"concern": "tls12", "status": "unreachable", "msg": "timed out"}}}
    entry = compliance_report(hostvars, ["pc"], selected=["tls12", "ncsi"])["hosts"]["pc"]
    assert entry["status"] == "unreachable"
    assert entry["concerns"]["ncsi"]["message"] == "not run because tls12 was unreachable"


@pytest.mark.parametrize(("statuses", "host"), [
    (("compliant", "remediated"), "remediated"), (("remediated", "drift"), "drift"), (("drift", "blocked"), "blocked"),
    (("blocked", "not_run"), "not_run"), (("not_run", "failed"), "failed"), (("failed", "unreachable"), "unreachable"),
])
def test_host_status_is_the_worst_of_its_concerns(statuses: tuple[str, str], host: str) -> None:
    def result(status: str) -> dict:
        return {"unreachable": {"unreachable": True}, "failed": {"failed": True, "msg": "x"},
                "not_run": {"skipped": True}}.get(status, {"status": status})
    hostvars = {"pc": {"tls12_result": result(statuses[0]), "ncsi_result": result(statuses[1])}}
    assert compliance_report(hostvars, ["pc"], selected=["tls12", "ncsi"])["hosts"]["pc"]["status"] == host
    assert list(STATUS_ORDER).index(statuses[0]) < list(STATUS_ORDER).index(statuses[1])


def test_hosts_outside_the_play_are_not_listed() -> None:
    hostvars = {"in": {"tls12_result": {"status": "compliant"}}, "out": {"tls12_result": {"failed": True}}}
    report = compliance_report(hostvars, ["in"], selected=["tls12"])
    assert list(report["hosts"]) == ["in"] and report["totals"]["failed"] == 0


def test_a_reboot_owed_by_an_earlier_run_marks_the_host() -> None:
    hostvars = {"pc": {"tls12_result": {"status": "compliant", "reboot_required": False, "reboot_owed_by": ["winsock"]}}}
    entry = compliance_report(hostvars, ["pc"], selected=["tls12"])["hosts"]["pc"]
    assert entry["reboot_required"] is True and entry["reboot_owed_by"] == ["winsock"]


def test_unknown_selected_concern_is_an_error() -> None:
    with pytest.raises(ValueError, match="tls13"):
        compliance_report({}, [], selected=["tls13"])


@pytest.mark.parametrize(("run_tags", "skip_tags", "expected"), [
    (["all"], [], ["tls12", "ncsi"]),
    (["tls12"], [], ["tls12"]),
    (["all"], ["ncsi"], ["tls12"]),
    (["tagged"], [], ["tls12", "ncsi"]),
    (["always"], [], []),
    (["untagged"], [], []),
])
def test_tags_select_concerns(run_tags: list[str], skip_tags: list[str], expected: list[str]) -> None:
    assert selected_concerns(["tls12", "ncsi"], run_tags, skip_tags) == expected


def test_lines_name_the_reason() -> None:
    report = compliance_report({"pc": {"tls12_result": {"changed": True, "check_mode": True, "changes": [CHANGE]}}}, ["pc"], selected=["tls12"])
    lines = report_lines(report)
    assert lines[0].startswith("pc (unknown OS): DRIFT") and CHANGE["reason"] in lines[0]
    assert lines[-1] == "totals: drift=1"
    assert report_lines(compliance_report({}, []))[-1] == "totals: no hosts"


def test_concern_lines_say_status_reboot_and_drift() -> None:
    lines = concern_lines({"status": "drift", "changed": False, "drift": ["NCSI probes ncsi.retired.example"],
                           "reboot_required": True, "reboot_owed_by": ["winsock"]}, "ncsi")
    assert lines == ["ncsi: DRIFT [restart owed for changes by winsock]", "ncsi drift: NCSI probes ncsi.retired.example"]
    # A restart only planned changes would need is not owed: in check mode it would be needed; after a real change it is owed.
    planned = {"status": "drift", "changed": True, "check_mode": True, "reboot_required": True, "reboot_owed_by": []}
    assert concern_lines(planned, "ncsi")[0] == "ncsi: DRIFT [restart would be needed]"
    assert concern_lines({**planned, "check_mode": False, "status": "remediated"}, "ncsi")[0] == "ncsi: REMEDIATED [restart owed]"
    assert concern_lines(None, "ncsi") == ["ncsi: no result"]


def test_unknown_variables_suggest_the_nearest_name() -> None:
    messages = unknown_variables(["winhttp_proxy_proxi", "tls12_server"], ["winhttp_proxy_proxy", "tls12_server"])
    assert len(messages) == 1 and messages[0].startswith("winhttp_proxy_proxi is not a variable") and "winhttp_proxy_proxy?" in messages[0]


def test_concern_module_names_the_module() -> None:
    assert concern_module("winsock_reset") == "m365ops.activation.win_winsock_reset"
    with pytest.raises(ValueError, match="tls13"):
        concern_module("tls13")


def test_a_comma_separated_string_of_concerns_is_a_list() -> None:
    assert selected_concerns("tls12, ncsi", ["all"], []) == ["tls12", "ncsi"]


@pytest.mark.parametrize("concern", CONCERNS)
def test_every_concern_names_its_own_action(concern: str) -> None:
    collection, name = concern_module(concern).rsplit(".", 1)
    module = import_module(f"ansible_collections.{collection}.plugins.action.{name}")
    assert module.ActionModule.CONCERN.NAME == concern and module.ActionModule.CONCERN.module == concern_module(concern)


def test_the_report_reads_win_activation_and_says_whether_the_host_was_verified() -> None:
    activation = {"changed": True, "verified": False, "status": "failed", "concerns": {
        "tls12": {"status": "remediated", "changed": True, "changes": [CHANGE]},
        "ncsi": {"status": "failed", "failed": True, "msg": "after the apply the host still needs: NoActiveProbe"},
        "winsock_reset": {"status": "not_run", "not_run": True, "msg": "not applied: ncsi failed earlier in the same batch"}}}
    report = compliance_report({"pc": {"fleet_activation": activation}}, ["pc"], selected=["tls12", "ncsi", "winsock_reset"])
    entry = report["hosts"]["pc"]
    assert entry["verified"] is False and entry["status"] == "failed"
    assert {name: detail["status"] for name, detail in entry["concerns"].items()} == {
        "tls12": "remediated", "winhttp_proxy": "not_selected", "ncsi": "failed", "required_services": "not_selected",
        "winsock_reset": "not_run", "ipv6": "not_selected"}
    assert entry["concerns"]["winsock_reset"]["message"].startswith("not applied: ncsi failed")
    assert "[NOT verified" in report_lines(report)[0]
    unreachable = compliance_report({"pc": {"fleet_activation": {"unreachable": True, "msg": "timed out"}}}, ["pc"], selected=["tls12"])
    assert unreachable["hosts"]["pc"]["status"] == "unreachable" and "timed out" in unreachable["hosts"]["pc"]["message"]


def test_hosts_not_diagnosed_are_grouped_by_why() -> None:
    from ansible_collections.m365ops.activation.plugins.filter.report import findings_summary
    hostvars = {
        "clean": {"fleet_findings": []},
        "sick": {"fleet_findings": [{"id": "tls12-off"}]},
        "locked": {"fleet_diagnosis": {"unreachable": True, "msg": "basic: the specified credentials were rejected by the server"}},
        "gone": {"fleet_diagnosis": {"unreachable": True, "msg": "basic: HTTPConnectionPool(host='127.0.0.1'): Max retries exceeded"}},
        "broken": {"fleet_diagnosis": {"failed": True, "msg": "reading the Windows release failed"}},
        "skipped": {},
    }
    summary = findings_summary(hostvars, list(hostvars))
    assert summary["hosts_without_findings"] == ["clean"] and summary["findings"] == {"tls12-off": ["sick"]}
    assert summary["not_diagnosed"] == {"auth_failed": ["locked"], "failed": ["broken"], "not_run": ["skipped"], "unreachable": ["gone"]}
    assert summary["hosts_not_diagnosed"] == ["broken", "gone", "locked", "skipped"]


def test_findings_name_the_concerns_that_fix_them_in_run_order() -> None:
    from ansible_collections.m365ops.activation.plugins.filter.report import findings_concerns
    found = [{"id": "winsock-damage", "concern": "winsock_reset"}, {"id": "endpoint-blocked", "concern": None},
             {"id": "tls12-off", "concern": "tls12"}, {"id": "tls12-off", "concern": "tls12"}]
    assert findings_concerns(found) == ["tls12", "winsock_reset"]
    assert findings_concerns(None) == []


def test_a_roles_win_activation_result_is_read_per_concern_wherever_a_role_ran_it() -> None:
    """The roles run their concern through win_activation; office_license runs the credentials step in the same task."""
    office = {"changed": True, "concerns": {"office_license": {"changed": True, "status": "remediated", "changes": [CHANGE]},
                                            "office_credentials": {"changed": False, "status": "blocked", "blockers": ["Office is open"]}}}
    hostvars = {"pc": {"tls12_result": {"changed": False, "concerns": {"tls12": {"changed": False, "status": "drift", "drift": ["x"]}}},
                       "office_license_result": office},
                "lost": {"tls12_result": {"unreachable": True, "msg": "timed out"}}}
    report = compliance_report(hostvars, ["pc", "lost"], selected=["tls12", "office_license", "office_credentials"])
    assert {name: entry["status"] for name, entry in report["hosts"]["pc"]["concerns"].items() if entry["status"] != "not_selected"} == {
        "tls12": "drift", "office_license": "remediated", "office_credentials": "blocked"}
    assert report["hosts"]["lost"]["status"] == "unreachable"
    assert concern_lines(office, "office_credentials")[0] == "office_credentials: BLOCKED"
    assert concern_lines(office, "office_update") == ["office_update: no result"]


def facts_with(**concern_status: str) -> dict:
    """win_activation's registered result with the activation facts of an audit."""
    concerns = {name: {"status": status, "would_change": [], "blockers": [], "drift": [], "facts": {}} for name, status in concern_status.items()}
    return {"changed": False, "concerns": {name: {"status": status} for name, status in concern_status.items()},
            "m365ops_activation": {"concerns": concerns, "os": {"name": "Windows 10"}}}


def test_a_host_whose_findings_are_high_cannot_activate_whatever_its_settings_say() -> None:
    clean = facts_with(tls12="compliant", ncsi="compliant")
    blocked_endpoint = facts_with(tls12="compliant", ncsi="compliant")
    blocked_endpoint["m365ops_activation"]["endpoints"] = {
        "checked": [{"url": "https://login.microsoftonline.com/", "host": "login.microsoftonline.com", "port": 443, "dns": "pass", "tcp": "fail",
                     "tls": "not_tested", "http": "fail", "wininet": [], "purpose": "activation", "error": "tcp: timed out",
                     "stages": {"tcp": {"result": "fail", "error": "timed out"}}}],
        "follow_ups": False, "routes": {"winhttp": "direct", "wininet": [], "blocks_msoidcrl": []},
        "dns_failed": [], "tcp_failed": ["login.microsoftonline.com:443"], "http_failed": ["https://login.microsoftonline.com/"], "intercepted_by": []}
    hostvars = {"ok": {"fleet_activation": clean}, "walled": {"fleet_activation": blocked_endpoint},
                "plain": {"tls12_result": {"status": "compliant"}, "ncsi_result": {"status": "compliant"}}}
    report = compliance_report(hostvars, list(hostvars), selected=["tls12", "ncsi"])
    hosts = report["hosts"]
    assert (hosts["ok"]["activation"]["verdict"], hosts["ok"]["headline"]) == ("can_activate", "compliant")
    walled = hosts["walled"]
    assert walled["status"] == "compliant" and walled["activation"]["verdict"] == "cannot_activate" and walled["headline"] == "cannot_activate"
    assert walled["activation"]["causes"] and all(cause["fix"] for cause in walled["activation"]["causes"])
    assert walled["activation"]["checked"]["endpoints"] is True and walled["activation"]["checked"]["endpoint_follow_ups"] is False
    assert hosts["plain"]["activation"]["verdict"] == "not_checked" and hosts["plain"]["headline"] == "compliant"
    assert report["activation"] == {"can_activate": 1, "at_risk": 0, "cannot_activate": 1, "not_checked": 1}
    lines = report_lines(report)
    # The fleet's causes come first, then one line per host.
    assert lines[0].startswith("1 host cannot activate: endpoint-blocked, ") and "login.microsoftonline.com" in lines[0]
    assert lines[3].startswith("walled (unknown OS): CANNOT ACTIVATE (settings COMPLIANT) - activation: CANNOT ACTIVATE (endpoint-blocked; ")
    assert lines[3].endswith("checked 2 of 8 concerns, endpoints in one pass)")
    assert lines[2].endswith("activation not checked")
    assert lines[-1].endswith("| activation: can_activate=1, cannot_activate=1, not_checked=1")


def test_the_headline_is_never_better_than_the_settings_or_the_verdict() -> None:
    from ansible_collections.m365ops.activation.plugins.filter.report import HEADLINE_ORDER, VERDICTS, headline
    from ansible_collections.m365ops.activation.plugins.plugin_utils.engine.status import STATUS_ORDER
    for status in STATUS_ORDER:
        for verdict in VERDICTS:
            said = headline(status, verdict)
            assert HEADLINE_ORDER.index(said) >= HEADLINE_ORDER.index(status)
            if verdict == "cannot_activate":
                assert HEADLINE_ORDER.index(said) >= HEADLINE_ORDER.index("cannot_activate")


def test_verified_is_said_only_of_a_host_with_nothing_left() -> None:
    def line(status: str) -> str:
        activation = {"verified": True, "concerns": {"tls12": {"status": status, "changed": status == "remediated"}}}
        return report_lines(compliance_report({"pc": {"fleet_activation": activation}}, ["pc"], selected=["tls12"]))[0]
    assert "[verified]" in line("remediated") and "[verified]" in line("compliant")
    assert "[verified]" not in line("blocked") and "[verified]" not in line("drift")


def test_every_report_is_a_layout_1_report_with_the_runs_metadata() -> None:
    import jsonschema
    from report_schema import validate_report

    hostvars = {"ok": {"tls12_result": {"changed": False, "status": "compliant", "tls12": {"os": "Windows 11"}}},
                "gone": {"tls12_result": {"unreachable": True, "msg": "connection refused"}},
                "walled": {"fleet_activation": facts_with(tls12="compliant")}}
    run = {"check_mode": True, "playbook": "Audit", "ansible_core": "2.19.4", "limit": "ok,gone", "tags": ["all"], "skip_tags": []}
    report = compliance_report(hostvars, list(hostvars), selected=["tls12"], run=run)
    validate_report(report)
    meta = report["run"]
    assert report["schema_version"] == 1 and meta["check_mode"] is True and meta["limit"] == "ok,gone" and meta["ansible_core"] == "2.19.4"
    assert meta["collection_version"] and meta["concerns"]["selected"] == ["tls12"] and "ncsi" in meta["concerns"]["not_selected"]
    assert len(meta["id"]) == 32 and meta["generated"].endswith("Z")
    validate_report(compliance_report({}, []))
    # The schema is not a formality: a report with a status it does not know, or without its run, is refused.
    broken = {**report, "hosts": {"ok": {**report["hosts"]["ok"], "status": "fine"}}}
    with pytest.raises(jsonschema.ValidationError):
        validate_report(broken)
    with pytest.raises(jsonschema.ValidationError):
        validate_report({key: value for key, value in report.items() if key != "run"})


def test_a_report_line_is_short_and_the_file_keeps_everything() -> None:
    changes = [{"reason": f"value {index} of a long list of values that all lack the bit TLS 1.2 needs, with the evidence " * 2} for index in range(12)]
    result = {"changed": True, "check_mode": True, "status": "drift", "changes": changes, "drift": ["left on purpose " * 30, "another"]}
    report = compliance_report({"pc": {"tls12_result": result}}, ["pc"], selected=["tls12"])
    line = report_lines(report)[0]
    assert len(line) <= 500 and "(+11 more)" in line and "value 0 of a long list" in line and "value 5 of" not in line
    assert len(report["hosts"]["pc"]["concerns"]["tls12"]["changes"]) == 12, "the report file keeps every change"
    assert len(report["hosts"]["pc"]["concerns"]["tls12"]["drift"][0]) == len("left on purpose " * 30)


def test_a_text_several_concerns_give_is_said_once_in_the_report_line() -> None:
    interrupted = "an earlier run was interrupted; its backup is kept"
    hostvars = {"pc": {"fleet_activation": {"concerns": {
        "tls12": {"status": "compliant", "warnings": [interrupted]}, "ncsi": {"status": "compliant", "warnings": [interrupted]}}}}}
    line = report_lines(compliance_report(hostvars, ["pc"], selected=["tls12", "ncsi"]))[0]
    assert line.count(interrupted) == 1 and f"tls12, ncsi warning: {interrupted}" in line


def test_report_select_keeps_the_hosts_a_jmespath_expression_selects() -> None:
    from ansible.errors import AnsibleFilterError
    from report_schema import validate_report

    from ansible_collections.m365ops.activation.plugins.filter.report import report_select

    hostvars = {"ok": {"tls12_result": {"status": "compliant"}}, "bad": {"tls12_result": {"failed": True, "msg": "access denied"}},
                "odd": {"tls12_result": {"status": "drift", "changed": True, "check_mode": True, "changes": [CHANGE]}}}
    report = compliance_report(hostvars, list(hostvars), selected=["tls12"])
    failed = report_select(report, "status == 'failed'")
    assert list(failed["hosts"]) == ["bad"] and failed["totals"] == report["totals"]
    assert failed["selection"] == {"expression": "status == 'failed'", "hosts_kept": 1, "hosts_total": 3}
    validate_report(failed)
    assert list(report_select(report, "concerns.tls12.changes")["hosts"]) == ["odd"], "an empty list selects nothing"
    assert list(report_select(report, "starts_with(name, 'o')")["hosts"]) == ["ok", "odd"]
    assert report_select(report, "") == report and report_select(report, None) == report
    with pytest.raises(AnsibleFilterError, match="m365ops_report_select: .* is not a JMESPath expression"):
        report_select(report, "headline ==")


def _host_with_causes(*causes: tuple[str, str, object]) -> dict:
    return {"activation": {"verdict": "cannot_activate", "checked": {},
                           "causes": [{"id": cause_id, "severity": severity, "summary": f"{cause_id} summary", "fix": "fix it", "evidence": evidence}
                                      for cause_id, severity, evidence in causes]}}


def test_fleet_causes_group_hosts_by_the_same_evidence_most_severe_and_most_hosts_first() -> None:
    from ansible_collections.m365ops.activation.plugins.filter.report import cause_hosts, cause_lines, fleet_causes

    p1 = [{"route": "WinHTTP p1:3128", "error": "ERROR_WINHTTP_CANNOT_CONNECT"}]
    p2 = [{"route": "WinHTTP p2:8080", "error": "ERROR_WINHTTP_CANNOT_CONNECT"}]
    hosts = {"a": _host_with_causes(("proxy-unreachable", "high", p1), ("winhttp-proxy-disagrees", "medium", ["views differ"])),
             "b": _host_with_causes(("proxy-unreachable", "high", p1)),
             "c": _host_with_causes(("proxy-unreachable", "high", p2)),
             "d": _host_with_causes(("winhttp-proxy-disagrees", "medium", ["views differ"]), ("winhttp-proxy-disagrees", "medium", ["views differ"])),
             "e": {"activation": {"verdict": "not_checked", "causes": [], "checked": {}}}}
    causes = fleet_causes(hosts)
    assert [(group["id"], group["hosts"]) for group in causes] == [
        ("proxy-unreachable", ["a", "b"]), ("proxy-unreachable", ["c"]), ("winhttp-proxy-disagrees", ["a", "d"])]
    # A host that gives the same cause twice is one host of it.
    assert [group["count"] for group in causes] == [2, 1, 2] and causes[0]["evidence"] == p1
    # The chart by cause counts hosts, once each whatever the evidence.
    assert cause_hosts(hosts) == {"proxy-unreachable": 3, "winhttp-proxy-disagrees": 2}
    lines = cause_lines(causes, limit=2)
    assert lines[0] == "2 hosts cannot activate: proxy-unreachable, proxy-unreachable summary (WinHTTP p1:3128 ERROR_WINHTTP_CANNOT_CONNECT)"
    assert lines[1].startswith("1 host cannot activate: proxy-unreachable") and lines[2] == "... and 1 more causes (in the report file)"


def test_drift_left_in_place_on_purpose_is_told_apart_from_drift_a_remediation_would_change() -> None:
    activation = {"changed": True, "concerns": {
        "tls12": {"changed": True, "check_mode": True, "changes": [{"reason": "TLS 1.2 Client Enabled is 0"}]},
        "winhttp_proxy": {"changed": False, "check_mode": True, "drift": ["WinINet uses a PAC file"]}}}
    report = compliance_report({"h": {"fleet_activation": activation}}, ["h"], selected=["tls12", "winhttp_proxy"])
    assert report["hosts"]["h"]["drift_left_in_place"] == ["winhttp_proxy"]
    assert report_lines(report)[0].startswith("h (unknown OS): DRIFT (would change: tls12; left in place: winhttp_proxy) - ")
    only_left = {"changed": False, "concerns": {"winhttp_proxy": {"changed": False, "drift": ["WinINet uses a PAC file"]}}}
    line = report_lines(compliance_report({"h": {"fleet_activation": only_left}}, ["h"], selected=["winhttp_proxy"]))[0]
    assert line.startswith("h (unknown OS): DRIFT (left in place: winhttp_proxy) - ")
