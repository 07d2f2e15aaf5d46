"""The report's files, from real runs on the simulated fleet: JUnit XML a JUnit parser reads, and one self-contained
HTML page that real headless Chromium opens without a console error, whose numbers are the JSON's."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Iterator

import pytest
from browser import dom_counts, opened
from conftest import ROOT, run_playbook
from junitparser import Error, Failure, JUnitXml, Skipped
from report_schema import validate_report
from winsim.fleet import Fleet
from winsim.profiles import DEMO_FLEET

RUNS = ("audit", "remediation", "restore", "diagnosis")


@pytest.fixture(scope="module")
def reports(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The demo's fleet audited, remediated (with --diff and backups), restored and diagnosed, each run writing its
    report in every format to one directory."""
    where = tmp_path_factory.mktemp("reports")
    fleet = Fleet(where / "fleet")
    try:
        for profile in DEMO_FLEET:
            fleet.add(f"{profile}-01", profile)
        inventory = where / "inventory.json"
        fleet.write_inventory(inventory)
        backups = where / "backups"
        for name, playbook, args, extra in (
                ("audit", "audit.yml", (), {}),
                ("remediation", "remediate.yml", ("--diff",), {"m365ops_backup_dir": str(backups)}),
                ("restore", "restore.yml", (), {"m365ops_backup_dir": str(backups)}),
                ("diagnosis", "diagnose.yml", (), {})):
            run = run_playbook(inventory, ROOT / "playbooks" / playbook, *args, extra_vars={"m365ops_report_file": str(where / f"{name}.json"), **extra})
            assert (where / f"{name}.json").is_file(), f"{name}: no report (rc {run.rc}): {run.stdout[-3000:]}"
            if name in ("audit", "remediation"):
                assert f"Report written to {where / name}.json, {where / name}.xml, {where / name}.html" in run.stdout
        yield where
    finally:
        fleet.stop()


def load(reports: Path, name: str) -> dict[str, Any]:
    return json.loads((reports / f"{name}.json").read_text(encoding="utf-8"))


def test_every_run_writes_json_junit_and_html_beside_each_other(reports: Path) -> None:
    for name in RUNS:
        assert {path.name for path in reports.glob(f"{name}.*")} == {f"{name}.json", f"{name}.xml", f"{name}.html"}
    validate_report(load(reports, "audit"))
    validate_report(load(reports, "remediation"))


def test_the_junit_xml_imports_in_a_junit_parser_with_a_case_per_host_and_concern(reports: Path) -> None:
    for name in ("audit", "remediation"):
        report = load(reports, name)
        suites = {suite.name: suite for suite in JUnitXml.fromfile(str(reports / f"{name}.xml"))}
        assert set(suites) == set(report["hosts"])
        for host, entry in report["hosts"].items():
            cases = {case.name: case for case in suites[host]}
            assert set(cases) == {*entry["concerns"], "activation"}
            for concern, detail in entry["concerns"].items():
                kinds = {type(result) for result in cases[concern].result}
                status = detail["status"]
                expected = ({Failure} if status in ("drift", "blocked") else {Error} if status in ("failed", "unknown", "unreachable", "busy")
                            else {Skipped} if status in ("not_selected", "not_run") else set())
                assert kinds == expected, (host, concern, detail["status"])
            verdict = entry["activation"]["verdict"]
            failed = {type(result) for result in cases["activation"].result}
            assert failed == ({Failure} if verdict in ("cannot_activate", "at_risk") else {Skipped} if verdict == "not_checked" else set())
            if verdict == "cannot_activate":
                # The failure names the causes, and its text has their evidence and fix.
                message = cases["activation"].result[0].message
                assert all(cause["id"] in message for cause in entry["activation"]["causes"])
                assert "fix: " in cases["activation"].result[0].text
    # The audit's suites count what the JSON says: every host that cannot activate is a failed activation case.
    audit = load(reports, "audit")
    parsed = JUnitXml.fromfile(str(reports / "audit.xml"))
    failing = sum(1 for suite in parsed for case in suite if case.name == "activation" and any(isinstance(r, Failure) for r in case.result))
    assert failing == audit["activation"]["cannot_activate"] + audit["activation"]["at_risk"] > 0
    restore = {suite.name: suite for suite in JUnitXml.fromfile(str(reports / "restore.xml"))}
    assert set(restore) == set(load(reports, "restore")["hosts"])


@pytest.mark.parametrize("name", RUNS)
def test_the_page_loads_in_chromium_without_errors_and_shows_the_jsons_numbers(reports: Path, name: str) -> None:
    report = load(reports, name)
    with opened(reports / f"{name}.html") as view:
        assert view.problems() == []
        shown = dom_counts(view.page)
        for key, value in shown.items():
            group, item = key.split(".", 1)
            assert report[group][item] == value, key
        if name in ("audit", "remediation"):
            assert {key for key in shown if key.startswith("activation.")} == {f"activation.{verdict}" for verdict in report["activation"]}
            assert {key for key in shown if key.startswith("totals.")} == {f"totals.{status}" for status in report["totals"]}
            causes = view.page.eval_on_selector_all("[data-cause-count]", "nodes => nodes.map(node => Number(node.textContent))")
            assert causes == [group["count"] for group in report["causes"]]
        elif name == "restore":
            assert shown == {f"totals.{word}": count for word, count in report["totals"].items()}
        total = view.page.get_attribute("#host-summary", "data-host-total")
        expected = len(report["hosts"]) + len(report.get("summary", {}).get("hosts_not_diagnosed", []))
        assert int(total or -1) == expected
        shot = reports / f"{name}.png"
        view.page.screenshot(path=str(shot), full_page=True)
        assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_a_reader_finds_a_host_opens_it_and_sees_its_evidence_changes_diff_and_backup(reports: Path) -> None:
    audit = load(reports, "audit")
    walled = "win10-firewall-sign-in-01"
    cause = audit["hosts"][walled]["activation"]["causes"][0]
    with opened(reports / "audit.html") as view:
        view.page.fill("#search", "firewall-sign-in")
        assert view.page.get_attribute("#filter-note", "data-matching") == "1"
        view.page.click(f"tr.host[data-host='{walled}']")
        detail = view.page.inner_text("tr.detail")
        assert cause["id"] in detail and cause["fix"] in detail and "Checked: " in detail
        # The cause's own button narrows the table to the hosts that share its evidence.
        view.page.click("#clear")
        assert view.page.get_attribute("#filter-note", "data-matching") == str(len(audit["hosts"]))
        assert view.problems() == []
    remediation = load(reports, "remediation")
    changed = next(host for host, entry in sorted(remediation["hosts"].items()) if entry["status"] == "remediated" and entry.get("backup_file"))
    diffs = [detail["diff"] for detail in remediation["hosts"][changed]["concerns"].values() if detail.get("diff")]
    assert diffs, "remediate.yml --diff keeps each changed concern's diff in the report"
    with opened(reports / "remediation.html") as view:
        view.page.click(f"tr.host[data-host='{changed}']")
        detail = view.page.inner_text("tr.detail")
        assert "Backup record: " + remediation["hosts"][changed]["backup_file"] in detail
        assert "Diff" in detail and diffs[0]["after"].strip().splitlines()[-1].strip() in detail
        assert view.problems() == []


def test_a_hostile_host_text_shows_as_text_in_chromium_and_runs_nothing(tmp_path: Path) -> None:
    from ansible_collections.m365ops.activation.plugins.plugin_utils.report_files.page import report_page

    evil = "</script><script>window.pwned = 1</script><img src=x onerror=\"window.pwned = 2\">"
    cause = {"id": "proxy-unreachable", "severity": "high", "summary": evil, "fix": evil, "evidence": [{"route": evil}]}
    entry = {"status": "compliant", "headline": "cannot_activate", "os": evil, "check_mode": True, "reboot_required": False, "reboot_owed_by": [],
             "concerns": {"tls12": {"status": "compliant", "changes": [], "blockers": [], "drift": [], "warnings": [evil]}},
             "activation": {"verdict": "cannot_activate", "causes": [cause], "checked": {}}}
    report = {"schema_version": 1, "title": "audit", "hosts": {"pc-1": entry}, "totals": {"compliant": 1}, "activation": {"cannot_activate": 1},
              "headlines": {"cannot_activate": 1}, "causes": [{**cause, "hosts": ["pc-1"], "count": 1}], "cause_hosts": {"proxy-unreachable": 1}}
    page = tmp_path / "evil.html"
    page.write_text(report_page(report), encoding="utf-8")
    with opened(page) as view:
        view.page.click("tr.host[data-host='pc-1']")
        view.page.click("#causes details summary")
        assert view.page.evaluate("window.pwned === undefined")
        assert view.page.eval_on_selector_all("img", "nodes => nodes.length") == 0
        assert evil in view.page.inner_text("tr.detail") and evil in view.page.inner_text("#causes")
        assert view.problems() == []
