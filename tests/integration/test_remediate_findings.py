"""remediate.yml in findings mode: diagnose, apply only what the findings name, verify, report before and after."""
from __future__ import annotations

import copy
import json
from pathlib import Path

from conftest import ROOT, run_playbook
from report_schema import validate_report
from winsim.fleet import Fleet

REMEDIATE = ROOT / "playbooks" / "remediate.yml"
AGENT = "ansible_collections.m365ops.activation.plugins.modules.win_agent"
HOSTS = {
    # profile: (the concerns its findings name, its findings, those the run fixes)
    # The TLS handshakes keep failing until the restart the change owes: those findings are left, not fixed.
    "win10-tls-hardened": (["tls12"], ["tls12-off", "tls-handshake-failed", "winhttp-tls12-refused"], ["tls12-off"]),
    "win10-nla-disabled": (["required_services"], ["services-stopped"], ["services-stopped"]),
    # The dead proxy is replaced; the endpoint check that found it silent is not run again, so its finding is left (not
    # proven fixed).
    "win10-stale-proxy": (["winhttp_proxy"], ["winhttp-proxy-dead", "proxy-unreachable"], ["winhttp-proxy-dead"]),
    "win10-firewall-sign-in": ([], ["endpoint-blocked"], []),
    "win11": ([], [], []),
}


def run_findings_mode(fleet: Fleet, inventory: Path, tmp_path: Path, *extra: str, **variables) -> tuple:
    report_file = tmp_path / "report.json"
    run = run_playbook(inventory, REMEDIATE, *extra, extra_vars={"m365ops_mode": "findings", "m365ops_report_file": str(report_file),
                                                                 **variables})
    return run, json.loads(report_file.read_text(encoding="utf-8"))


def test_only_what_the_findings_name_is_applied_and_verified(fleet: Fleet, inventory: Path, tmp_path: Path) -> None:
    for name in HOSTS:
        fleet.add(name, name)
    fleet.write_inventory(inventory)
    before = {name: copy.deepcopy(entry.host.state) for name, entry in fleet.hosts.items()}
    run, report = run_findings_mode(fleet, inventory, tmp_path)
    assert run.rc == 0, run.stdout[-3000:]
    for name, (named, found, fixed) in HOSTS.items():
        entry = report["hosts"][name]
        assert entry["findings"]["applied"] == named
        assert sorted(entry["findings"]["before"]) == sorted(found)
        # A finding the collection fixed is fixed only when its concern was applied and the host read back clean.
        assert (entry["findings"]["fixed"], sorted(entry["findings"]["left"])) == (fixed, sorted(set(found) - set(fixed)))
        applied = {concern for concern, detail in entry["concerns"].items() if detail["status"] != "not_selected" and not detail.get("diagnosed_only")}
        assert applied == set(named), name
        if named:
            # What was applied was read back: nothing is left to change.
            assert entry["verified"] is True and entry["concerns"][named[0]]["status"] == "remediated"
        else:
            # Nothing named: no apply at all, not a byte changed, and the host is reported as the diagnosis saw it.
            assert "verified" not in entry and fleet.hosts[name].host.state["registry"] == before[name]["registry"]
            assert fleet.hosts[name].host.state["services"] == before[name]["services"]
    assert report["hosts"]["win11"]["status"] == "compliant"
    # The findings that need a person stay in the report after the run.
    assert report["hosts"]["win10-firewall-sign-in"]["findings"] == {"before": ["endpoint-blocked"], "fixed": [], "left": ["endpoint-blocked"],
                                                                     "applied": []}
    # The diagnosis is one execution; the apply two (probe, then changes and their read-back) only where something is named.
    # Where a dead proxy is replaced, the diagnosis and the apply each take one more read that proves the route first.
    executions = {name: entry.host.counters["executions"].get(AGENT, 0) for name, entry in fleet.hosts.items()}
    assert executions == {name: (3 if named else 1) + 2 * (name == "win10-stale-proxy") for name, (named, _found, _fixed) in HOSTS.items()}
    assert run.changed_hosts() == {"win10-tls-hardened", "win10-nla-disabled", "win10-stale-proxy"}
    assert any("findings fixed: services-stopped; left: none" in line for line in run.stdout.splitlines())


def test_check_mode_changes_nothing_and_says_what_would_be_applied(fleet: Fleet, inventory: Path, tmp_path: Path) -> None:
    fleet.add("hardened", "win10-tls-hardened")
    fleet.write_inventory(inventory)
    before = copy.deepcopy(fleet.hosts["hardened"].host.state["registry"])
    run, report = run_findings_mode(fleet, inventory, tmp_path, "--check")
    assert run.rc == 0, run.stdout[-3000:]
    entry = report["hosts"]["hardened"]
    assert entry["findings"]["applied"] == ["tls12"] and entry["findings"]["fixed"] == []
    assert entry["findings"]["left"] == entry["findings"]["before"] and "tls12-off" in entry["findings"]["left"]
    assert entry["concerns"]["tls12"]["status"] == "drift"
    assert fleet.hosts["hardened"].host.state["registry"] == before


def test_a_host_the_diagnosis_cannot_reach_is_unreachable_and_a_wrong_mode_is_refused(fleet: Fleet, inventory: Path, tmp_path: Path) -> None:
    fleet.add("up", "win11")
    fleet.add("down", "win11")
    fleet.take_offline("down")
    fleet.write_inventory(inventory)
    run, report = run_findings_mode(fleet, inventory, tmp_path)
    assert run.rc != 0
    assert report["hosts"]["down"]["status"] == "unreachable" and report["hosts"]["up"]["status"] == "compliant"
    refused = run_playbook(inventory, REMEDIATE, extra_vars={"m365ops_mode": "finding"})
    # The role's argument spec refuses it before any host is contacted.
    assert refused.rc != 0 and "m365ops_mode" in refused.stdout and "finding" in refused.stdout
    assert fleet.hosts["up"].host.counters["executions"].get(AGENT, 0) == 1


SCHANNEL_CLIENT = "HKLM\\SYSTEM\\CurrentControlSet\\Control\\SecurityProviders\\SCHANNEL\\Protocols\\TLS 1.2\\Client"


def test_a_restart_allowed_is_made_only_where_owed_and_the_host_is_diagnosed_again(fleet: Fleet, inventory: Path, tmp_path: Path) -> None:
    for name in ("win10-tls-hardened", "win10-nla-disabled", "win11"):
        fleet.add(name, name)
    fleet.write_inventory(inventory)
    run, report = run_findings_mode(fleet, inventory, tmp_path, m365ops_reboot=True)
    assert run.rc == 0, run.stdout[-3000:]
    restarts = {name: entry.host.counters["restarts"] for name, entry in fleet.hosts.items()}
    assert restarts == {"win10-tls-hardened": 1, "win10-nla-disabled": 0, "win11": 0}
    hardened = report["hosts"]["win10-tls-hardened"]
    # Read again after the restart: the TLS handshakes work now, so every finding of the host is fixed.
    assert hardened["restarted"] is True and hardened["reboot_required"] is False and hardened["status"] == "remediated"
    assert hardened["findings"]["after"] == [] and hardened["findings"]["left"] == [] and hardened["findings"]["new"] == []
    assert sorted(hardened["findings"]["fixed"]) == ["tls-handshake-failed", "tls12-off", "winhttp-tls12-refused"]
    assert "restarted" not in report["hosts"]["win10-nla-disabled"]
    executions = {name: entry.host.counters["executions"].get(AGENT, 0) for name, entry in fleet.hosts.items()}
    assert executions == {"win10-tls-hardened": 4, "win10-nla-disabled": 3, "win11": 1}


def test_a_change_group_policy_undoes_at_the_restart_is_failed_not_remediated(fleet: Fleet, inventory: Path, tmp_path: Path) -> None:
    fleet.add("hardened", "win10-tls-hardened")
    host = fleet.hosts["hardened"].host
    # A GPO that writes Enabled=0 again at every boot.
    host.state["group_policy"] = [{"gpo": "TLS Baseline", "source": "domain", "key": SCHANNEL_CLIENT, "name": "Enabled", "type": "dword",
                                   "value": 0}]
    host.save()
    fleet.write_inventory(inventory)
    run, report = run_findings_mode(fleet, inventory, tmp_path, m365ops_reboot=True)
    entry = report["hosts"]["hardened"]
    assert run.rc != 0 and entry["restarted"] is True and entry["status"] == "failed"
    assert entry["concerns"]["tls12"]["status"] == "failed" and entry["concerns"]["tls12"]["message"].startswith("after the restart:")
    assert "tls12-off" in entry["findings"]["after"] and "tls12-off" in entry["findings"]["left"]


def test_no_restart_without_being_asked_or_in_check_mode(fleet: Fleet, inventory: Path, tmp_path: Path) -> None:
    fleet.add("hardened", "win10-tls-hardened")
    fleet.write_inventory(inventory)
    run_findings_mode(fleet, inventory, tmp_path, "--check", m365ops_reboot=True)
    run, report = run_findings_mode(fleet, inventory, tmp_path)
    assert fleet.hosts["hardened"].host.counters["restarts"] == 0
    # The restart stays owed, and the report says so.
    assert report["hosts"]["hardened"]["reboot_required"] is True and "restarted" not in report["hosts"]["hardened"]


def test_a_remediation_of_every_concern_restarts_too_when_allowed(fleet: Fleet, inventory: Path, tmp_path: Path) -> None:
    fleet.add("hardened", "win10-tls-hardened")
    fleet.write_inventory(inventory)
    report_file = tmp_path / "report.json"
    run = run_playbook(inventory, REMEDIATE, extra_vars={"m365ops_reboot": True, "m365ops_report_file": str(report_file)})
    entry = json.loads(report_file.read_text(encoding="utf-8"))["hosts"]["hardened"]
    assert run.rc == 0 and fleet.hosts["hardened"].host.counters["restarts"] == 1
    assert (entry["status"], entry["restarted"], entry["reboot_required"]) == ("remediated", True, False) and "findings" not in entry


def test_findings_mode_leaves_the_ipv6_procedure_out(fleet: Fleet, inventory: Path, tmp_path: Path) -> None:
    fleet.add("healthy", "win11")
    fleet.write_inventory(inventory)
    run, report = run_findings_mode(fleet, inventory, tmp_path, m365ops_concerns=["tls12", "ipv6"])
    entry = report["hosts"]["healthy"]
    assert run.rc == 0 and entry["status"] == "compliant" and entry["concerns"]["ipv6"] == {"status": "not_selected"}
    assert fleet.hosts["healthy"].host.counters["executions"].get(AGENT, 0) == 1


def test_findings_mode_applies_an_office_step_its_diagnosis_names(fleet: Fleet, inventory: Path, tmp_path: Path) -> None:
    fleet.add("shared", "win10-office-creds")
    fleet.add("clean", "win11")
    fleet.write_inventory(inventory)
    run, report = run_findings_mode(fleet, inventory, tmp_path, m365ops_concerns=["tls12", "office_credentials"])
    assert run.rc == 0, run.stdout[-3000:]
    # bob's work account is information the collection does not act on: it stays, and is said to.
    assert report["hosts"]["shared"]["findings"] == {"before": ["office-credentials-cached", "office-work-account-added"],
                                                     "applied": ["office_credentials"], "fixed": ["office-credentials-cached"],
                                                     "left": ["office-work-account-added"]}
    assert report["hosts"]["clean"]["findings"]["applied"] == [] and "office_credentials" in report["hosts"]["clean"]["concerns"]


def test_a_host_whose_high_findings_are_left_is_never_compliant_and_a_restart_owed_stays_owed(
        fleet: Fleet, inventory: Path, tmp_path: Path) -> None:
    for name in HOSTS:
        fleet.add(name, name)
    fleet.write_inventory(inventory)
    run, report = run_findings_mode(fleet, inventory, tmp_path)
    assert run.rc == 0, run.stdout[-3000:]
    validate_report(report)
    assert report["run"]["check_mode"] is False
    hosts = report["hosts"]
    for name, (_named, found, fixed) in HOSTS.items():
        left = [finding for finding in found if finding not in fixed]
        entry = hosts[name]
        assert sorted(cause["id"] for cause in entry["activation"]["causes"]) == sorted(left)
        if left:
            assert entry["headline"] not in ("compliant", "remediated"), f"{name} left {left} and reads {entry['headline']}"
            line = next(line for line in run.stdout.splitlines() if line.strip().strip('"').startswith(f"{name} ("))
            assert "[verified]" not in line
    assert hosts["win10-firewall-sign-in"]["status"] == "compliant" and hosts["win10-firewall-sign-in"]["headline"] == "cannot_activate"
    assert hosts["win11"]["headline"] == "compliant" and hosts["win11"]["activation"]["verdict"] == "can_activate"
    # The TLS change needs a restart; a second findings run, which applies nothing more, still says it is owed, and by whom.
    assert hosts["win10-tls-hardened"]["reboot_required"] is True
    again, second = run_findings_mode(fleet, inventory, tmp_path)
    assert again.rc == 0 and second["hosts"]["win10-tls-hardened"]["reboot_required"] is True
    assert "tls12" in second["hosts"]["win10-tls-hardened"]["reboot_owed_by"]
