"""Reports across runs on the simulated fleet: audit slices merged into one report, and a later audit that says what
changed since it."""
from __future__ import annotations

import json
from pathlib import Path

from browser import opened
from conftest import ROOT, run_playbook
from report_schema import validate_report
from winsim.fleet import Fleet

AUDIT = ROOT / "playbooks" / "audit.yml"


def test_slices_merge_into_one_report_and_the_next_audit_says_what_changed_since(fleet: Fleet, inventory: Path, tmp_path: Path) -> None:
    fleet.add("healthy", "win11")
    fleet.add("nla", "win10-nla-disabled")
    fleet.add("walled", "win10-firewall-sign-in")
    fleet.write_inventory(inventory)
    # Two job slices, as AWX would run them: each writes its own report.
    for name, limit in (("slice1", "healthy,nla"), ("slice2", "walled")):
        run = run_playbook(inventory, AUDIT, "--limit", limit, extra_vars={"m365ops_report_file": str(tmp_path / f"{name}.json")})
        assert run.rc == 0, run.stdout[-3000:]
    merged_file = tmp_path / "merged.json"
    merge = run_playbook(inventory, "m365ops.activation.merge_reports",
                         extra_vars={"m365ops_merge_reports": [str(tmp_path / "slice2.json"), str(tmp_path / "slice1.json")],
                                     "m365ops_report_file": str(merged_file)})
    assert merge.rc == 0, merge.stdout[-3000:]
    merged = json.loads(merged_file.read_text(encoding="utf-8"))
    validate_report(merged)
    slices = {name: json.loads((tmp_path / f"{name}.json").read_text(encoding="utf-8")) for name in ("slice1", "slice2")}
    assert sorted(merged["hosts"]) == ["healthy", "nla", "walled"]
    assert [run["id"] for run in merged["runs"]] == [slices["slice1"]["run"]["id"], slices["slice2"]["run"]["id"]]
    assert merged["hosts"]["walled"]["run_id"] == slices["slice2"]["run"]["id"]
    assert merged["headlines"]["cannot_activate"] == 2 and merged["activation"]["cannot_activate"] == 2
    assert {path.name for path in tmp_path.glob("merged.*")} == {"merged.json", "merged.xml", "merged.html"}
    assert f"Report written to {merged_file}" in merge.stdout

    remediation = run_playbook(inventory, ROOT / "playbooks" / "remediate.yml", extra_vars={"m365ops_previous_report": str(merged_file)})
    assert remediation.rc == 0, remediation.stdout[-3000:]
    # A remediation does not check activation: the host that could not activate is not called fixed by it.
    assert "2 not checked for activation again (nla, walled)" in remediation.stdout

    after = tmp_path / "after.json"
    run = run_playbook(inventory, AUDIT, extra_vars={"m365ops_report_file": str(after), "m365ops_previous_report": str(merged_file)})
    assert run.rc == 0, run.stdout[-3000:]
    report = json.loads(after.read_text(encoding="utf-8"))
    validate_report(report)
    since = report["since_previous"]
    assert since["previous_run"]["id"] == merged["run"]["id"]
    assert (since["fixed"], since["new_failures"], since["gone"]) == (["nla"], [], [])
    assert since["changed"] == {"nla": {"before": "cannot_activate", "after": "compliant"}}
    assert f"since the previous report ({merged['run']['generated']}, run {merged['run']['id']}): 1 fixed (nla)" in run.stdout
    with opened(after.with_suffix(".html")) as view:
        assert view.page.inner_text("[data-since='fixed']") == "1" and view.page.inner_text("[data-since='new_failures']") == "0"
        assert view.problems() == []


def test_a_previous_report_that_is_no_compliance_report_stops_the_run_before_any_host(fleet: Fleet, inventory: Path, tmp_path: Path) -> None:
    fleet.add("healthy", "win11")
    fleet.write_inventory(inventory)
    wrong = tmp_path / "restore.json"
    wrong.write_text(json.dumps({"title": "restore", "hosts": {}}), encoding="utf-8")
    run = run_playbook(inventory, AUDIT, extra_vars={"m365ops_previous_report": str(wrong)})
    assert run.rc != 0 and "not a compliance report of m365ops.activation" in run.stdout
    assert sum(fleet.hosts["healthy"].host.counters["executions"].values()) == 0
    refused = run_playbook(inventory, "m365ops.activation.merge_reports", extra_vars={"m365ops_merge_reports": "a.json", "m365ops_report_file": "x.json"})
    assert refused.rc != 0 and "Give the reports to merge as a list" in refused.stdout
