"""win_ipv6 and the ipv6 role over WinRM against winsim."""
from __future__ import annotations

from pathlib import Path

from conftest import ROOT, run_playbook
from winsim.agent import run_ops
from winsim.fleet import Fleet

PLAYBOOKS = ROOT / "tests" / "integration" / "playbooks"
TASK_NAME = "Run win_ipv6"
DISABLED_COMPONENTS = r"HKLM\SYSTEM\CurrentControlSet\Services\Tcpip6\Parameters"


def bound(fleet: Fleet, host: str) -> dict[str, bool]:
    return {item["name"]: item["ipv6_bound"] for item in fleet.hosts[host].host.state["adapters"]["list"]}


def test_off_and_on_per_adapter_idempotently(fleet: Fleet, inventory: Path) -> None:
    fleet.add("pc", "win10")
    fleet.write_inventory(inventory)
    off = run_playbook(inventory, PLAYBOOKS / "ipv6_task.yml", extra_vars={"ipv6_state": "disabled", "ipv6_names": ["Wi-Fi"]})
    assert off.rc == 0 and bound(fleet, "pc") == {"Ethernet": True, "Wi-Fi": False}
    assert off.result("pc", TASK_NAME)["reboot_required"] is False
    again = run_playbook(inventory, PLAYBOOKS / "ipv6_task.yml", extra_vars={"ipv6_state": "disabled", "ipv6_names": ["Wi-Fi"]})
    assert again.changed_hosts() == set()
    on = run_playbook(inventory, PLAYBOOKS / "ipv6_task.yml", extra_vars={"ipv6_state": "enabled"})
    assert on.changed_hosts() == {"pc"} and bound(fleet, "pc") == {"Ethernet": True, "Wi-Fi": True}


def test_the_management_adapter_is_refused_unless_allowed(fleet: Fleet, inventory: Path) -> None:
    fleet.add("pc", "win10")
    fleet.write_inventory(inventory)
    refused = run_playbook(inventory, PLAYBOOKS / "ipv6_task.yml", extra_vars={"ipv6_state": "disabled"})
    assert refused.rc == 2 and "Ethernet" in refused.result("pc", TASK_NAME)["msg"]
    assert bound(fleet, "pc") == {"Ethernet": True, "Wi-Fi": True}
    allowed = run_playbook(inventory, PLAYBOOKS / "ipv6_task.yml", extra_vars={"ipv6_state": "disabled", "ipv6_allow": True})
    assert allowed.rc == 0 and bound(fleet, "pc") == {"Ethernet": False, "Wi-Fi": False}


def test_windows7_uses_disabled_components(fleet: Fleet, inventory: Path) -> None:
    fleet.add("win7", "win7sp1")
    fleet.write_inventory(inventory)
    run = run_playbook(inventory, PLAYBOOKS / "ipv6_task.yml", extra_vars={"ipv6_state": "disabled", "ipv6_allow": True})
    result = run.result("win7", TASK_NAME)
    assert result["ipv6"]["method"] == "registry" and result["reboot_required"] is True
    stored = fleet.hosts["win7"].host.registry.read(DISABLED_COMPONENTS, "64", ["DisabledComponents"])["values"]
    assert stored == {"DisabledComponents": {"type": "dword", "value": 0xFF}}
    run_playbook(inventory, PLAYBOOKS / "ipv6_task.yml", extra_vars={"ipv6_state": "enabled"})
    assert fleet.hosts["win7"].host.registry.read(DISABLED_COMPONENTS, "64", ["DisabledComponents"])["values"] == {}


def test_role_runs_the_hook_with_ipv6_off_and_turns_it_on_again(fleet: Fleet, inventory: Path) -> None:
    fleet.add("pc", "win10")
    fleet.write_inventory(inventory)
    run = run_playbook(inventory, PLAYBOOKS / "ipv6_role.yml", extra_vars={"hook": "retry_ok.yml"})
    assert run.rc == 0
    assert run.result("pc", "m365ops.activation.ipv6 : Retry activation (stand-in that records the IPv6 state it saw)")["ansible_facts"]["seen_off"] is True
    assert bound(fleet, "pc") == {"Ethernet": True, "Wi-Fi": True}


def test_role_turns_ipv6_on_again_when_the_retry_fails(fleet: Fleet, inventory: Path) -> None:
    fleet.add("pc", "win10")
    fleet.write_inventory(inventory)
    run = run_playbook(inventory, PLAYBOOKS / "ipv6_role.yml", extra_vars={"hook": "retry_fails.yml"})
    assert run.rc == 2 and run.status("pc", "m365ops.activation.ipv6 : Retry activation, and fail") == "failed"
    assert run.status("pc", "m365ops.activation.ipv6 : IPv6 | On again where this run turned it off") == "ok"
    assert bound(fleet, "pc") == {"Ethernet": True, "Wi-Fi": True}


def test_restore_binds_ipv6_again_from_the_backup_records(fleet: Fleet, inventory: Path, tmp_path: Path) -> None:
    fleet.add("pc", "win10")
    fleet.write_inventory(inventory)
    backups = tmp_path / "backups"
    off = run_playbook(inventory, PLAYBOOKS / "ipv6_off_with_backup.yml", extra_vars={"m365ops_backup_dir": str(backups)})
    assert off.rc == 0 and bound(fleet, "pc") == {"Ethernet": True, "Wi-Fi": False}
    restore = run_playbook(inventory, ROOT / "playbooks" / "restore.yml", extra_vars={"m365ops_backup_dir": str(backups)})
    assert restore.rc == 0 and bound(fleet, "pc") == {"Ethernet": True, "Wi-Fi": True}
    again = run_playbook(inventory, ROOT / "playbooks" / "restore.yml", extra_vars={"m365ops_backup_dir": str(backups)})
    assert again.changed_hosts() == set()


def test_the_role_refuses_the_registry_method_which_would_retry_with_ipv6_still_on(fleet: Fleet, inventory: Path) -> None:
    fleet.add("win7", "win7sp1")
    fleet.write_inventory(inventory)
    playbook = inventory.with_name("role7.yml")
    playbook.write_text("- hosts: windows\n  gather_facts: false\n  roles:\n    - role: m365ops.activation.ipv6\n"
                        "      vars:\n        m365ops_ipv6: {allow_management_adapter: true}\n", encoding="utf-8")
    run = run_playbook(inventory, playbook)
    assert run.rc == 2 and "takes effect only after a restart" in run.stdout
    assert fleet.hosts["win7"].host.registry.read(DISABLED_COMPONENTS, "64", ["DisabledComponents"])["values"] == {}


def ipv6_addresses(fleet: Fleet, host: str) -> list[str]:
    """What the running host has, asked through the agent's own op, as a module would."""
    answer = run_ops(fleet.hosts[host].host, [{"op": "adapter_list"}], check_mode=True)["results"][0]
    return [address for adapter in answer["adapters"] for address in adapter["addresses"] if ":" in address]


def test_disabled_components_acts_at_the_next_boot_and_the_reboot_stays_owed_until_then(fleet: Fleet, inventory: Path) -> None:
    fleet.add("pc", "win10")
    fleet.write_inventory(inventory)
    task = PLAYBOOKS / "ipv6_task.yml"
    off = run_playbook(inventory, task, extra_vars={"ipv6_state": "disabled", "ipv6_allow": True, "ipv6_method": "registry"})
    assert off.result("pc", TASK_NAME)["reboot_required"] is True
    # Written, not in effect: the adapters keep their IPv6 addresses until the host restarts.
    assert ipv6_addresses(fleet, "pc")
    again = run_playbook(inventory, task, extra_vars={"ipv6_state": "disabled", "ipv6_allow": True, "ipv6_method": "registry"})
    assert again.changed_hosts() == set() and again.result("pc", TASK_NAME)["reboot_owed_by"] == ["ipv6"]
    fleet.hosts["pc"].host.reboot()
    assert ipv6_addresses(fleet, "pc") == []
    after = run_playbook(inventory, task, extra_vars={"ipv6_state": "disabled", "ipv6_allow": True, "ipv6_method": "registry"})
    assert after.result("pc", TASK_NAME)["reboot_required"] is False and after.result("pc", TASK_NAME)["reboot_owed_by"] == []
