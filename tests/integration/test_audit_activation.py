"""The audit says which PCs cannot activate, and why, in the same one agent execution per host as the settings."""
from __future__ import annotations

import json
from pathlib import Path

from conftest import ROOT, run_playbook
from report_schema import validate_report
from winsim.fleet import Fleet

AUDIT = ROOT / "playbooks" / "audit.yml"
# Hosts whose settings are all the article asks for, and which still cannot activate: the network is in the way.
CANNOT = {"firewall": "win10-firewall-sign-in", "inspected": "win10-tls-inspected", "dns": "win10-dns-filtered", "crl": "win10-crl-blocked"}


def test_no_host_that_cannot_activate_is_called_compliant(fleet: Fleet, inventory: Path, tmp_path: Path) -> None:
    for name, profile in {**CANNOT, "healthy": "win11", "hardened": "win10-tls-hardened"}.items():
        fleet.add(name, profile)
    fleet.write_inventory(inventory)
    run = run_playbook(inventory, AUDIT, extra_vars={"m365ops_report_file": str(tmp_path / "audit.json")})
    assert run.rc == 0, run.stdout[-3000:]
    report = json.loads((tmp_path / "audit.json").read_text(encoding="utf-8"))
    validate_report(report)
    assert report["run"]["check_mode"] is True and report["run"]["playbook"].startswith("Audit")
    hosts = report["hosts"]
    for name in CANNOT:
        assert hosts[name]["status"] == "compliant", "the settings are right"
        assert hosts[name]["activation"]["verdict"] == "cannot_activate" and hosts[name]["headline"] == "cannot_activate"
        assert all(cause["severity"] in ("high", "medium") and cause["fix"] for cause in hosts[name]["activation"]["causes"])
    assert hosts["healthy"]["headline"] == "compliant" and hosts["healthy"]["activation"]["verdict"] == "can_activate"
    assert report["headlines"]["compliant"] == 1 and report["activation"]["cannot_activate"] >= len(CANNOT)
    # One agent execution per host, as an audit of the settings alone costs (the extended entry point: it probes the endpoints).
    assert {name: sum(fleet.hosts[name].host.counters["executions"].values()) for name in hosts} == {name: 1 for name in hosts}
    # The line says it, and what was checked: the default concerns and the endpoints, not the Office steps.
    said = "firewall (Windows 10): CANNOT ACTIVATE (settings COMPLIANT) - activation: CANNOT ACTIVATE (endpoint-blocked; checked 5 of 8 concerns, "
    assert said + "endpoints in one pass)" in run.stdout
    assert "| activation: can_activate=1, cannot_activate=5" in run.stdout


def test_the_audit_can_read_the_settings_only_and_then_says_activation_was_not_checked(fleet: Fleet, inventory: Path, tmp_path: Path) -> None:
    fleet.add("firewall", CANNOT["firewall"])
    fleet.write_inventory(inventory)
    run = run_playbook(inventory, AUDIT, extra_vars={"m365ops_report_file": str(tmp_path / "audit.json"), "m365ops_audit_activation": False})
    assert run.rc == 0, run.stdout[-3000:]
    entry = json.loads((tmp_path / "audit.json").read_text(encoding="utf-8"))["hosts"]["firewall"]
    assert (entry["status"], entry["headline"], entry["activation"]["verdict"]) == ("compliant", "compliant", "not_checked")
    assert "firewall (Windows 10): COMPLIANT - activation not checked" in run.stdout


def test_m365ops_fail_on_fails_the_hosts_that_cannot_activate_after_the_report_is_written(fleet: Fleet, inventory: Path, tmp_path: Path) -> None:
    fleet.add("firewall", CANNOT["firewall"])
    fleet.add("healthy", "win11")
    fleet.write_inventory(inventory)
    report = tmp_path / "audit.json"
    run = run_playbook(inventory, AUDIT, extra_vars={"m365ops_report_file": str(report), "m365ops_fail_on": ["high"]})
    assert run.rc == 2 and run.stats["firewall"]["failures"] == 1 and run.stats["healthy"]["failures"] == 0
    assert "CANNOT ACTIVATE: endpoint-blocked" in run.stdout
    assert json.loads(report.read_text(encoding="utf-8"))["hosts"]["firewall"]["headline"] == "cannot_activate"
    refused = run_playbook(inventory, AUDIT, extra_vars={"m365ops_fail_on": ["cannot-activate"]})
    assert refused.rc != 0 and "m365ops_fail_on" in refused.stdout
    assert sum(fleet.hosts["firewall"].host.counters["executions"].values()) == 1, "the refused run contacted no host"


def test_a_jmespath_selection_prints_and_writes_only_the_hosts_it_selects(fleet: Fleet, inventory: Path, tmp_path: Path) -> None:
    fleet.add("firewall", CANNOT["firewall"])
    fleet.add("healthy", "win11")
    fleet.write_inventory(inventory)
    report_file = tmp_path / "cannot.json"
    run = run_playbook(inventory, AUDIT, extra_vars={"m365ops_report_file": str(report_file), "m365ops_report_select": "headline == 'cannot_activate'"})
    assert run.rc == 0, run.stdout[-3000:]
    report = json.loads(report_file.read_text(encoding="utf-8"))
    validate_report(report)
    assert list(report["hosts"]) == ["firewall"] and report["selection"]["hosts_total"] == 2
    assert report["headlines"] == {**report["headlines"], "cannot_activate": 1, "compliant": 1}, "the totals count every host"
    assert "firewall (Windows 10): CANNOT ACTIVATE" in run.stdout and "healthy (Windows 11)" not in run.stdout
    refused = run_playbook(inventory, AUDIT, extra_vars={"m365ops_report_select": "headline =="})
    assert refused.rc != 0 and "m365ops_report_select" in refused.stdout
    assert sum(fleet.hosts["firewall"].host.counters["executions"].values()) == 1, "the refused run contacted no host"


def test_with_every_profile_no_host_the_diagnosis_says_cannot_activate_is_called_compliant(fleet: Fleet, inventory: Path, tmp_path: Path) -> None:
    """The issue's done-means: on the simulated fleet with every profile, the default audit calls no host compliant whose
    findings (the full diagnosis, follow-ups and all) say it cannot activate, at one agent execution per host."""
    from winsim.profiles import PROFILES

    for name in PROFILES:
        fleet.add(name, name)
    fleet.write_inventory(inventory)

    def executions() -> dict[str, int]:
        return {name: sum(entry.host.counters["executions"].values()) for name, entry in fleet.hosts.items()}

    settings_only = run_playbook(inventory, AUDIT, extra_vars={"m365ops_audit_activation": False})
    assert settings_only.rc in (0, 2), settings_only.stdout[-3000:]
    cost = executions()
    # One execution per host; a second, read-only, only where the Winsock catalog names another product's DLL.
    assert {count for name, count in cost.items() if name != "win81-ps4"} <= {1, 2} and cost["win11"] == 1
    run = run_playbook(inventory, AUDIT, extra_vars={"m365ops_report_file": str(tmp_path / "audit.json")})
    assert run.rc in (0, 2), run.stdout[-3000:]
    # Saying which hosts can activate costs no execution more than the settings alone, on any host.
    assert {name: count - cost[name] for name, count in executions().items()} == cost
    audit = json.loads((tmp_path / "audit.json").read_text(encoding="utf-8"))
    validate_report(audit)
    diagnosis = run_playbook(inventory, ROOT / "playbooks" / "diagnose.yml", extra_vars={"m365ops_report_file": str(tmp_path / "findings.json")})
    assert diagnosis.rc in (0, 2), diagnosis.stdout[-3000:]
    findings = json.loads((tmp_path / "findings.json").read_text(encoding="utf-8"))["hosts"]
    cannot = sorted(host for host, items in findings.items() if any(item["severity"] == "high" for item in items))
    assert len(cannot) >= 20, "the fleet has hosts of every cause"
    called_fine = [host for host in cannot if audit["hosts"][host]["headline"] in ("compliant", "remediated")
                   or audit["hosts"][host]["activation"]["verdict"] == "can_activate"]
    assert called_fine == []


def test_win_activation_returns_the_facts_it_read_before_its_changes_as_a_key_of_its_result_not_host_facts(
        fleet: Fleet, inventory: Path, tmp_path: Path) -> None:
    fleet.add("hardened", "win10-tls-hardened")
    fleet.write_inventory(inventory)
    playbook = tmp_path / "facts.yml"
    playbook.write_text("""
- name: Audit and read the activation facts, then look at the host's facts
  hosts: windows
  gather_facts: false
  tasks:
    - name: Audit
      m365ops.activation.win_activation:
        facts: true
        endpoints: {follow_ups: false}
    - name: Host facts
      ansible.builtin.debug:
        msg: "{{ ansible_facts.keys() | list }}"
""", encoding="utf-8")
    run = run_playbook(inventory, playbook)
    assert run.rc == 0, run.stdout[-3000:]
    audited = run.result("hardened", "Audit")
    # Read before this task changed TLS 1.2: as host facts they would still say drift after the change.
    assert audited["changed"] is True and audited["m365ops_activation"]["concerns"]["tls12"]["status"] == "drift"
    assert "ansible_facts" not in audited and run.result("hardened", "Host facts")["msg"] == []
