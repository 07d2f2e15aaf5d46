"""Reports across runs: what changed since a previous report, and several runs merged into one."""
from __future__ import annotations

import copy
from typing import Any

import pytest
from ansible.errors import AnsibleFilterError
from report_schema import validate_report

from ansible_collections.m365ops.activation.plugins.filter.report import report_lines
from ansible_collections.m365ops.activation.plugins.filter.report_history import compare_reports, merge_reports

VERDICT = {"compliant": "can_activate", "remediated": "can_activate", "drift": "can_activate", "cannot_activate": "cannot_activate",
           "unreachable": "not_checked", "failed": "not_checked", "at_risk": "at_risk"}


def entry(headline: str) -> dict[str, Any]:
    status = "compliant" if headline in ("cannot_activate", "at_risk") else headline
    blocked = {"id": "endpoint-blocked", "severity": "high", "summary": "s", "fix": "f", "evidence": ["login blocked"]}
    causes = [blocked] if headline == "cannot_activate" else []
    return {"status": status, "headline": headline, "os": "Windows 10", "reboot_required": False, "reboot_owed_by": [], "check_mode": True,
            "concerns": {"tls12": {"status": status}}, "activation": {"verdict": VERDICT[headline], "causes": causes, "checked": {}}}


def report(hosts: dict[str, str], generated: str = "2026-12-01T10:00:00Z", run_id: str = "1" * 32, limit: str | None = None) -> dict[str, Any]:
    from ansible_collections.m365ops.activation.plugins.filter.report import HEADLINE_ORDER, REPORT_SCHEMA_VERSION, STATUS_ORDER, summary
    entries = {name: entry(headline) for name, headline in hosts.items()}
    return {"schema_version": REPORT_SCHEMA_VERSION, "title": "audit",
            "run": {"id": run_id, "generated": generated, "check_mode": True, "playbook": "Audit", "collection_version": "0.4.0", "ansible_core": "2.19.0",
                    "limit": limit, "tags": ["all"], "skip_tags": [], "concerns": {"selected": ["tls12"], "not_selected": []}},
            "hosts": entries, **summary(entries), "concerns": ["tls12"], "status_order": list(STATUS_ORDER), "headline_order": list(HEADLINE_ORDER)}


def test_the_comparison_names_new_failures_fixed_worse_better_new_and_gone_hosts() -> None:
    before = report({"a": "compliant", "b": "cannot_activate", "c": "drift", "d": "unreachable", "e": "compliant", "gone": "compliant"})
    now = report({"a": "cannot_activate", "b": "compliant", "c": "unreachable", "d": "drift", "e": "compliant", "new": "failed"},
                 generated="2026-12-02T10:00:00Z", run_id="2" * 32)
    since = compare_reports(now, before)["since_previous"]
    assert (since["new_failures"], since["fixed"], since["worse"], since["better"]) == (["a"], ["b"], ["c"], ["d"])
    assert (since["new_hosts"], since["gone"], since["not_in_this_run"]) == (["new"], ["gone"], [])
    assert since["changed"]["a"] == {"before": "compliant", "after": "cannot_activate"} and "e" not in since["changed"]
    assert since["previous_run"]["id"] == "1" * 32
    validate_report(compare_reports(now, before))
    line = next(text for text in report_lines(compare_reports(now, before)) if text.startswith("since the previous report"))
    assert line == ("since the previous report (2026-12-01T10:00:00Z, run " + "1" * 32 + "): 1 new failures (a); 1 worse (c); 1 fixed (b); "
                    "1 better (d); 1 new hosts (new); 1 gone (gone)")


def test_under_a_limit_a_host_missing_from_this_run_is_not_called_gone() -> None:
    since = compare_reports(report({"a": "compliant"}, limit="a"), report({"a": "compliant", "b": "compliant"}))["since_previous"]
    assert (since["gone"], since["not_in_this_run"]) == ([], ["b"])


@pytest.mark.parametrize("bad", [{"title": "restore", "hosts": {}}, {"schema_version": 2, "hosts": {}}, "text", None])
def test_anything_but_a_compliance_report_is_refused_by_name(bad: Any) -> None:
    with pytest.raises(AnsibleFilterError, match="m365ops_previous_report is not a compliance report"):
        compare_reports(report({"a": "compliant"}), bad)
    with pytest.raises(AnsibleFilterError, match="report 2 of 2 is not a compliance report"):
        merge_reports([report({"a": "compliant"}), bad])


def test_a_report_changed_by_hand_is_refused_naming_the_host() -> None:
    tampered = report({"a": "compliant"})
    tampered["hosts"]["a"]["headline"] = "fine"
    with pytest.raises(AnsibleFilterError, match="host 'a'.*changed by hand"):
        merge_reports([tampered])


def test_merging_keeps_the_newest_run_per_host_and_lists_every_run() -> None:
    slice_1 = report({"a": "compliant", "b": "cannot_activate"}, generated="2026-12-01T10:00:00Z", run_id="1" * 32)
    slice_2 = report({"c": "drift"}, generated="2026-12-01T10:00:05Z", run_id="2" * 32)
    rerun = report({"b": "compliant"}, generated="2026-12-01T11:00:00Z", run_id="3" * 32, limit="b")
    originals = copy.deepcopy([rerun, slice_1, slice_2])
    merged = merge_reports([rerun, slice_1, slice_2])
    assert [rerun, slice_1, slice_2] == originals, "the inputs are not changed"
    validate_report(merged)
    assert {name: (host["headline"], host["run_id"]) for name, host in merged["hosts"].items()} == {
        "a": ("compliant", "1" * 32), "b": ("compliant", "3" * 32), "c": ("drift", "2" * 32)}
    assert [(run["id"], run["hosts"], run["hosts_kept"]) for run in merged["runs"]] == [("1" * 32, 2, 1), ("2" * 32, 1, 1), ("3" * 32, 1, 1)]
    assert merged["headlines"]["compliant"] == 2 and merged["headlines"]["drift"] == 1 and merged["headlines"]["cannot_activate"] == 0
    assert merged["causes"] == [] and merged["run"]["playbook"] == "merge of 3 reports" and merged["run"]["check_mode"] is True


def test_of_two_runs_of_the_same_second_the_later_in_the_list_wins() -> None:
    first = report({"a": "compliant"}, run_id="1" * 32)
    second = report({"a": "cannot_activate"}, run_id="2" * 32)
    assert merge_reports([first, second])["hosts"]["a"]["run_id"] == "2" * 32
    assert merge_reports([second, first])["hosts"]["a"]["run_id"] == "1" * 32
    with pytest.raises(AnsibleFilterError, match="a list of one or more"):
        merge_reports([])


def test_a_host_that_could_not_activate_is_not_called_fixed_by_a_run_that_did_not_check() -> None:
    now = report({"a": "compliant"})
    now["hosts"]["a"]["activation"]["verdict"] = "not_checked"
    since = compare_reports(now, report({"a": "cannot_activate"}))["since_previous"]
    assert (since["fixed"], since["not_rechecked"]) == ([], ["a"])
