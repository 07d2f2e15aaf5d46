"""win_ncsi over WinRM against winsim: converge, idempotence, check mode, both policy choices."""
from __future__ import annotations

from pathlib import Path

import pytest

from conftest import ROOT, run_playbook
from winsim.fleet import Fleet

TASK = ROOT / "tests" / "integration" / "playbooks" / "ncsi_task.yml"
TASK_NAME = "Run win_ncsi"
INTERNET = r"HKLM\SYSTEM\CurrentControlSet\Services\NlaSvc\Parameters\Internet"
POLICY = r"HKLM\SOFTWARE\Policies\Microsoft\Windows\NetworkConnectivityStatusIndicator"


def value(fleet: Fleet, host: str, key: str, name: str):
    return fleet.hosts[host].host.registry.read(key, "64", [name])["values"].get(name)


@pytest.mark.parametrize(("extra_vars", "policy_after", "decided_by"), [
    ({"ncsi_policy": "set_zero"}, {"type": "dword", "value": 0}, "policy"),
    ({"ncsi_policy": "remove"}, None, "service"),
])
def test_converges_and_is_idempotent(fleet: Fleet, inventory: Path, extra_vars: dict, policy_after, decided_by: str) -> None:
    fleet.add("off", "win10-ncsi-off")
    fleet.add("healthy", "win11")
    fleet.write_inventory(inventory)
    first = run_playbook(inventory, TASK, extra_vars=extra_vars)
    assert first.rc == 0 and first.changed_hosts() == {"off"}
    result = first.result("off", TASK_NAME)
    assert result["ncsi"]["active_probing_was_on"] is False and result["ncsi"]["decided_by"] == decided_by
    assert value(fleet, "off", INTERNET, "EnableActiveProbing") == {"type": "dword", "value": 1}
    assert value(fleet, "off", POLICY, "NoActiveProbe") == policy_after
    # Active probing is on, but NCSI still probes a host Windows does not ship: not remediated.
    assert any("ncsi.retired.example" in item for item in result["drift"]) and result["status"] == "drift"
    # The domain GPO writes NoActiveProbe again when the host starts: a restart would undo the override, so none is owed
    # (and m365ops_reboot restarts no host for it).
    assert result["reboot_required"] is False and result["ncsi"]["policy_override_temporary"] is True
    assert any(warning.startswith("temporary:") for warning in result["warnings"])
    assert any(warning.startswith("no restart is owed") for warning in result["warnings"])

    second = run_playbook(inventory, TASK, extra_vars=extra_vars)
    assert second.rc == 0 and second.changed_hosts() == set()


def test_check_mode_predicts_and_touches_nothing(fleet: Fleet, inventory: Path) -> None:
    fleet.add("off", "win10-ncsi-off")
    fleet.write_inventory(inventory)
    before = fleet.hosts["off"].host.state_path.read_bytes()
    check = run_playbook(inventory, TASK, "--check", "--diff", extra_vars={"ncsi_restore_probe_defaults": True})
    assert check.rc == 0 and fleet.hosts["off"].host.state_path.read_bytes() == before
    assert '-"ActiveWebProbeHost"="ncsi.retired.example"' in check.stdout
    assert '+"ActiveWebProbeHost"="www.msftconnecttest.com"' in check.stdout
    real = run_playbook(inventory, TASK, extra_vars={"ncsi_restore_probe_defaults": True})
    assert real.result("off", TASK_NAME)["changes"] == check.result("off", TASK_NAME)["changes"]
    assert value(fleet, "off", INTERNET, "ActiveWebProbeHost") == {"type": "string", "value": "www.msftconnecttest.com"}
    # The Group Policy value stays, so the concern is blocked before and after, never remediated.
    assert check.result("off", TASK_NAME)["status"] == "blocked" and real.result("off", TASK_NAME)["status"] == "blocked"


def test_bad_policy_choice_fails_before_the_host_is_contacted(fleet: Fleet, inventory: Path) -> None:
    fleet.add("off", "win10-ncsi-off")
    fleet.write_inventory(inventory)
    run = run_playbook(inventory, TASK, extra_vars={"ncsi_policy": "delete"})
    assert run.rc == 2 and run.status("off", TASK_NAME) == "failed"
    assert "policy" in run.result("off", TASK_NAME)["msg"] and "set_zero" in run.result("off", TASK_NAME)["msg"]
    assert fleet.hosts["off"].host.counters["requests"] == 0


def test_a_group_policy_value_is_blocked_by_default_and_left_alone(fleet: Fleet, inventory: Path) -> None:
    fleet.add("off", "win10-ncsi-off")
    fleet.write_inventory(inventory)
    run = run_playbook(inventory, TASK)
    result = run.result("off", TASK_NAME)
    assert run.rc == 0 and result["status"] == "blocked"
    assert "Turn off Windows Network Connectivity Status Indicator active tests" in result["blockers"][0]
    assert value(fleet, "off", POLICY, "NoActiveProbe") == {"type": "dword", "value": 1}
    # The service value is still set (it is no one's policy); it waits for NlaSvc to restart.
    assert value(fleet, "off", INTERNET, "EnableActiveProbing") == {"type": "dword", "value": 1} and result["reboot_required"] is True


def test_an_override_lasts_until_the_next_group_policy_refresh_and_says_so(fleet: Fleet, inventory: Path) -> None:
    fleet.add("off", "win10-ncsi-off")
    fleet.write_inventory(inventory)
    override = run_playbook(inventory, TASK, extra_vars={"ncsi_policy": "set_zero"})
    assert override.result("off", TASK_NAME)["ncsi"]["policy_override_temporary"] is True
    assert value(fleet, "off", POLICY, "NoActiveProbe") == {"type": "dword", "value": 0}
    # Group Policy's background refresh writes its value again, as on Windows; the audit is blocked again.
    assert fleet.hosts["off"].host.group_policy_refresh() == [POLICY + "\\NoActiveProbe"]
    audit = run_playbook(inventory, TASK, "--check")
    assert audit.result("off", TASK_NAME)["status"] == "blocked"


def test_the_blocker_says_whether_the_local_or_a_domain_gpo_sets_the_value(fleet: Fleet, inventory: Path) -> None:
    fleet.add("domain", "win10-ncsi-off")
    fleet.add("local", "win10-ncsi-local-gpo")
    fleet.write_inventory(inventory)
    audit = run_playbook(inventory, TASK, "--check")
    domain, local = audit.result("domain", TASK_NAME), audit.result("local", TASK_NAME)
    assert domain["ncsi"]["policy_source"] == {"source": "domain_gpo", "gpos": ["Workstation Baseline"]}
    assert "Workstation Baseline" in domain["blockers"][0]
    assert local["ncsi"]["policy_source"] == {"source": "local_gpo", "file": r"C:\Windows\System32\GroupPolicy\Machine\Registry.pol"}
    assert "local Group Policy object" in local["blockers"][0] and local["status"] == "blocked"


def test_a_probing_change_is_owed_while_nlasvc_still_runs_with_the_old_values(fleet: Fleet, inventory: Path) -> None:
    fleet.add("pc", "win10")
    host = fleet.hosts["pc"].host
    host.registry.write(INTERNET, "64", "EnableActiveProbing", "dword", 0, True)
    host.reboot()
    fleet.write_inventory(inventory)
    audit = run_playbook(inventory, TASK, "--check").result("pc", TASK_NAME)
    assert {item["ipv4"] for item in audit["ncsi"]["connectivity"]} == {"local_network"}
    fixed = run_playbook(inventory, TASK).result("pc", TASK_NAME)
    assert fixed["changed"] is True and fixed["reboot_required"] is True
    # The value is right, Windows still concludes "local network": the result says the change is pending.
    later = run_playbook(inventory, TASK, "--check").result("pc", TASK_NAME)
    assert later["changed"] is False and later["reboot_owed_by"] == ["ncsi"] and later["reboot_required"] is True
    assert {item["ipv4"] for item in later["ncsi"]["connectivity"]} == {"local_network"}
    host.reboot()
    done = run_playbook(inventory, TASK, "--check").result("pc", TASK_NAME)
    assert done["reboot_required"] is False and done["status"] == "compliant"
    assert {item["ipv4"] for item in done["ncsi"]["connectivity"]} == {"internet"}
