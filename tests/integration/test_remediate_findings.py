"""remediate.yml in findings mode: diagnose, apply only what the findings name, verify, report before and after."""
from __future__ import annotations

import copy
import json
from pathlib import Path

from conftest import ROOT, run_playbook
from winsim.fleet import Fleet

REMEDIATE = ROOT / "playbooks" / "remediate.yml"
AGENT = "ansible_collections.m365ops.activation.plugins.modules.win_agent"
HOSTS = {
    # profile: (the concerns its findings name, its findings, those the run fixes)
    # The TLS handshakes keep failing until the restart the change owes: those findings are left, not fixed.
    "win10-tls-hardened": (["tls12"], ["tls12-off", "tls-handshake-failed", "winhttp-tls12-refused"], ["tls12-off"]),
    "win10-nla-disabled": (["required_services"], ["services-stopped"], ["services-stopped"]),
    "win10-stale-proxy": ([], ["winhttp-proxy-disagrees", "proxy-unreachable"], []),
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
    assert report["hosts"]["win10-stale-proxy"]["concerns"]["winhttp_proxy"]["status"] == "drift"
    assert report["hosts"]["win11"]["status"] == "compliant"
    # The findings that need a person stay in the report after the run.
    assert report["hosts"]["win10-firewall-sign-in"]["findings"] == {"before": ["endpoint-blocked"], "fixed": [], "left": ["endpoint-blocked"],
                                                                     "applied": []}
    # The diagnosis is one execution; the apply two (probe, then changes and their read-back) only where something is named.
    executions = {name: entry.host.counters["executions"].get(AGENT, 0) for name, entry in fleet.hosts.items()}
    assert executions == {name: 3 if named else 1 for name, (named, _found, _fixed) in HOSTS.items()}
    assert run.changed_hosts() == {"win10-tls-hardened", "win10-nla-disabled"}
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
