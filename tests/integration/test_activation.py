"""win_activation over WinRM against winsim: one probe, one apply, one verification, and the same results as each concern's module."""
from __future__ import annotations

import json
from pathlib import Path

from conftest import ROOT, run_playbook
from winsim.fleet import Fleet

PLAYBOOKS = ROOT / "tests" / "integration" / "playbooks"
TASK = PLAYBOOKS / "activation_task.yml"
TASK_NAME = "Run win_activation"
AGENT = "ansible_collections.m365ops.activation.plugins.modules.win_agent"
CONCERNS = ("tls12", "winhttp_proxy", "ncsi", "required_services", "winsock_reset")
# Drifting and healthy hosts whose Winsock catalogs name only Windows' own providers.
PROFILES = ("win11", "win10-tls-hardened", "win10-ncsi-off", "win10-nla-disabled", "win10-proxy-site", "win10-stale-proxy",
            "win7sp1", "ws2012")


# Hosts where the default would import WinINet's proxy into WinHTTP, or replace a WinHTTP proxy every other source routes
# around, which tests the proxy (and the route) first in one more execution.
PROXY_TESTED = {"win10-proxy-site", "win10-stale-proxy"}


def executions(fleet: Fleet, host: str) -> int:
    return fleet.hosts[host].host.counters["executions"].get(AGENT, 0)


def add(fleet: Fleet, inventory: Path, profiles=PROFILES) -> None:
    for profile in profiles:
        fleet.add(profile, profile)
    fleet.write_inventory(inventory)


def test_an_audit_is_one_agent_execution_and_says_what_each_module_says(fleet: Fleet, inventory: Path) -> None:
    add(fleet, inventory)
    audit = run_playbook(inventory, TASK, "--check", "--diff")
    assert audit.rc == 0
    # One execution; a second, read-only, where a proxy would be imported: it is tested first (review G24).
    assert {host: executions(fleet, host) for host in PROFILES} == {host: 2 if host in PROXY_TESTED else 1 for host in PROFILES}
    each = run_playbook(inventory, PLAYBOOKS / "each_concern_task.yml", "--check", "--diff")
    for host in PROFILES:
        combined = audit.result(host, TASK_NAME)
        assert combined["verified"] is None and set(combined["concerns"]) == set(CONCERNS)
        for name in CONCERNS:
            alone = each.result(host, f"Run win_{name}")
            mine = combined["concerns"][name]
            for field in ("status", "changes", "blockers", "drift", "reboot_required", "reboot_owed_by", "diff"):
                assert mine.get(field) == alone.get(field), f"{host} {name} {field}"


def test_a_remediation_is_a_probe_and_an_apply_that_reads_the_host_again_and_the_second_run_one_probe(fleet: Fleet, inventory: Path, tmp_path: Path) -> None:
    add(fleet, inventory)
    backups = tmp_path / "backups"
    first = run_playbook(inventory, TASK, extra_vars={"activation_backup_dir": str(backups)})
    assert first.rc == 0, first.stdout[-2000:]
    # The stale proxy does not answer, and direct access does: the default replaces it (review G25).
    assert first.changed_hosts() == set(PROFILES) - {"win11"}
    for host in PROFILES:
        result = first.result(host, TASK_NAME)
        assert result["verified"] is True, (host, result)
        # The verification reads ride at the end of the apply execution.
        assert executions(fleet, host) == (2 if result["changed"] else 1) + (host in PROXY_TESTED)
        if result["changed"]:
            files = list((backups / host).glob("*.json"))
            assert len(files) == 1
            document = json.loads(files[0].read_text(encoding="utf-8"))
            assert document["module"] == "m365ops.activation.win_activation"
            assert all(record["module"].startswith("m365ops.activation.win_") for record in document["records"])
    assert first.result("win7sp1", TASK_NAME)["concerns"]["tls12"]["status"] == "remediated"
    assert first.result("win10-ncsi-off", TASK_NAME)["concerns"]["ncsi"]["status"] == "blocked"
    before = {host: executions(fleet, host) for host in PROFILES}
    second = run_playbook(inventory, TASK)
    assert second.rc == 0 and second.changed_hosts() == set()
    assert {host: executions(fleet, host) - before[host] for host in PROFILES} == {host: 1 for host in PROFILES}


def test_a_misspelt_option_names_its_concern_before_any_host_is_contacted(fleet: Fleet, inventory: Path) -> None:
    add(fleet, inventory, ("win10",))
    run = run_playbook(inventory, TASK, extra_vars={"activation_tls12": {"serverr": True}})
    assert run.rc == 2
    assert "tls12.serverr" in run.result("win10", TASK_NAME)["msg"] and "did you mean tls12.server" in run.result("win10", TASK_NAME)["msg"]
    bad_type = run_playbook(inventory, TASK, extra_vars={"activation_winsock_reset": {"timeout": 5}})
    assert "winsock_reset.timeout" in bad_type.result("win10", TASK_NAME)["msg"]
    assert executions(fleet, "win10") == 0 and fleet.hosts["win10"].host.counters["requests"] == 0


def test_a_change_that_does_not_hold_is_failed_not_remediated(fleet: Fleet, inventory: Path) -> None:
    # The NCSI policy is overridden, and Group Policy writes it back at once (as a refresh during the apply would).
    add(fleet, inventory, ("win10-ncsi-off",))
    fleet.hosts["win10-ncsi-off"].host.faults["group_policy_after_write"] = True
    run = run_playbook(inventory, TASK, extra_vars={"activation_ncsi": {"policy": "set_zero"}})
    result = run.result("win10-ncsi-off", TASK_NAME)
    assert run.rc == 2 and result["verified"] is False
    ncsi = result["concerns"]["ncsi"]
    assert ncsi["status"] == "failed" and ncsi["verified"] is False and "NoActiveProbe" in ncsi["msg"]
    assert result["concerns"]["tls12"]["status"] == "compliant"


def test_the_office_steps_plan_from_the_same_probe_and_apply_in_the_same_batch(fleet: Fleet, inventory: Path) -> None:
    fleet.add("shared", "win10-office-license")
    host = fleet.hosts["shared"].host
    host.state["credentials"] = {"S-1-5-21-1004336348-1177238915-682003330-1104": [
        {"target": "MicrosoftOffice16_Data:SSPI:alice@corp.example", "type": 1, "persist": 3, "user_name": "alice@corp.example",
         "last_written": "2026-10-02T08:15:00Z"}]}
    host.state["c2r_updater"] = {"version": "16.0.17928.20156", "delay_seconds": 30}
    host.registry.write(r"HKLM\SOFTWARE\Microsoft\Office\ClickToRun\Configuration", "64", "VersionToReport", "string", "16.0.16731.20234", True)
    host.save()
    fleet.write_inventory(inventory)
    office = ["tls12", "office_credentials", "office_license", "office_update"]
    extra = {"activation_concerns": office, "activation_office_update": {"minimum_version": "16.0.17928.20156"}}
    audit = run_playbook(inventory, TASK, "--check", extra_vars=extra).result("shared", TASK_NAME)
    assert {name: result["status"] for name, result in audit["concerns"].items()} == {
        "tls12": "compliant", "office_credentials": "drift", "office_license": "drift", "office_update": "drift"}
    run = run_playbook(inventory, TASK, extra_vars=extra)
    result = run.result("shared", TASK_NAME)
    assert run.rc == 0 and result["verified"] is True, run.stdout[-3000:]
    assert {name: entry["status"] for name, entry in result["concerns"].items()} == {
        "tls12": "compliant", "office_credentials": "remediated", "office_license": "remediated", "office_update": "remediated"}
    # No extra execution for the per-user steps: the audit's one, then one probe and one apply.
    assert host.counters["executions"][AGENT] == 1 + 2
    assert run_playbook(inventory, TASK, extra_vars=extra).changed_hosts() == set()


def test_the_update_needs_its_minimum_version_when_selected(fleet: Fleet, inventory: Path) -> None:
    fleet.add("host", "win10")
    fleet.write_inventory(inventory)
    run = run_playbook(inventory, TASK, extra_vars={"activation_concerns": ["office_update"]})
    assert run.rc != 0 and "office_update" in run.stdout and "minimum_version" in run.stdout
    assert fleet.hosts["host"].host.counters["requests"] == 0
