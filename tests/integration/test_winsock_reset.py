"""win_winsock_reset over WinRM against winsim: evidence, once-tokens, the static guard, exit codes."""
from __future__ import annotations

from pathlib import Path

from conftest import ROOT, run_playbook
from winsim.fleet import Fleet

TASK = ROOT / "tests" / "integration" / "playbooks" / "winsock_task.yml"
TASK_NAME = "Run win_winsock_reset"
CATALOG64 = r"HKLM\SYSTEM\CurrentControlSet\Services\WinSock2\Parameters\Protocol_Catalog9\Catalog_Entries64"
INTERFACE = r"HKLM\SYSTEM\CurrentControlSet\Services\Tcpip\Parameters\Interfaces\{5c4e6a3e-2f1b-4d0e-9a61-3b7d2a9c8e01}"


def catalog_entries(fleet: Fleet, host: str) -> list[str]:
    return fleet.hosts[host].host.registry.enumerate(CATALOG64, "64")["subkeys"]


def test_resets_only_where_an_lsp_is_and_only_once(fleet: Fleet, inventory: Path) -> None:
    fleet.add("lsp", "win10-lsp")
    fleet.add("clean", "win10")
    fleet.write_inventory(inventory)
    assert len(catalog_entries(fleet, "lsp")) == 4
    check = run_playbook(inventory, TASK, "--check")
    assert check.changed_hosts() == {"lsp"} and len(catalog_entries(fleet, "lsp")) == 4
    first = run_playbook(inventory, TASK)
    assert first.rc == 0 and first.changed_hosts() == {"lsp"}
    result = first.result("lsp", TASK_NAME)
    assert result["reboot_required"] is True and result["winsock"]["reset_because"] == "third_party_provider"
    assert result["backup"] == [{"kind": "action", "run": "netsh.exe winsock reset", "exit_code": 0}]
    assert len(catalog_entries(fleet, "lsp")) == 3
    assert run_playbook(inventory, TASK).changed_hosts() == set()


def test_a_token_forces_one_reset_per_value(fleet: Fleet, inventory: Path) -> None:
    fleet.add("pc", "win11")
    fleet.write_inventory(inventory)
    assert run_playbook(inventory, TASK, extra_vars={"winsock_token": "CHG-7"}).changed_hosts() == {"pc"}
    assert run_playbook(inventory, TASK, extra_vars={"winsock_token": "CHG-7"}).changed_hosts() == set()
    again = run_playbook(inventory, TASK, extra_vars={"winsock_token": "CHG-8"})
    assert again.result("pc", TASK_NAME)["winsock"]["tokens"] == ["CHG-7"]
    assert fleet.hosts["pc"].host.registry.read(r"HKLM\SOFTWARE\m365ops\activation", "64", ["WinsockResetTokens"])[
        "values"]["WinsockResetTokens"]["value"] == ["CHG-7", "CHG-8"]


def test_ip_reset_is_refused_on_a_static_host_and_changes_nothing(fleet: Fleet, inventory: Path) -> None:
    fleet.add("server", "ws2022-static-ip")
    fleet.write_inventory(inventory)
    before = fleet.hosts["server"].host.state_path.read_bytes()
    refused = run_playbook(inventory, TASK, extra_vars={"winsock_ip": True})
    assert refused.rc == 2 and "192.0.2.10" in refused.result("server", TASK_NAME)["msg"]
    assert fleet.hosts["server"].host.state_path.read_bytes() == before
    allowed = run_playbook(inventory, TASK, extra_vars={"winsock_ip": True, "winsock_allow_static": True})
    assert allowed.rc == 0
    dhcp = fleet.hosts["server"].host.registry.read(INTERFACE, "64", ["EnableDHCP", "IPAddress"])["values"]
    assert dhcp == {"EnableDHCP": {"type": "dword", "value": 1}}, "the simulated reset drops the static address, as warned"


def test_a_failing_netsh_fails_the_task_and_records_no_token(fleet: Fleet, inventory: Path) -> None:
    host = fleet.add("pc", "win10")
    host.faults["exit_codes"] = {"netsh.exe": 1}
    host.save()
    fleet.write_inventory(inventory)
    run = run_playbook(inventory, TASK, extra_vars={"winsock_token": "CHG-9"})
    assert run.rc == 2 and "exited with 1" in run.result("pc", TASK_NAME)["msg"]
    assert fleet.hosts["pc"].host.registry.read(r"HKLM\SOFTWARE\m365ops\activation", "64", None)["exists"] is False
