"""win_winsock_reset over WinRM against winsim: evidence, once-tokens, the static guard, exit codes."""
from __future__ import annotations

from pathlib import Path

from conftest import ROOT, run_playbook
from winsim.fleet import Fleet
from winsim.profiles import _third_party_lsp

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
    assert len(catalog_entries(fleet, "lsp")) == 5
    check = run_playbook(inventory, TASK, "--check")
    assert check.changed_hosts() == {"lsp"} and len(catalog_entries(fleet, "lsp")) == 5
    first = run_playbook(inventory, TASK)
    assert first.rc == 0 and first.changed_hosts() == {"lsp"}
    result = first.result("lsp", TASK_NAME)
    assert result["reboot_required"] is True and result["winsock"]["reset_because"] == "damage"
    assert result["backup"][0] == {"kind": "action", "run": "netsh.exe winsock reset", "exit_code": 0}
    assert result["backup"][1]["name"] == "WinsockResetCatalogs"
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


def test_a_failing_winsock_reset_fails_the_task_and_records_no_token(fleet: Fleet, inventory: Path) -> None:
    host = fleet.add("pc", "win10")
    host.faults["exit_codes"] = {"netsh.exe": 1}
    host.save()
    fleet.write_inventory(inventory)
    run = run_playbook(inventory, TASK, extra_vars={"winsock_token": "CHG-9"})
    assert run.rc == 2 and "exited with 1" in run.result("pc", TASK_NAME)["msg"]
    # No token; the journal's history keeps the batch that was tried (the reset is an action: its outcome is the record).
    assert "WinsockResetTokens" not in fleet.hosts["pc"].host.registry.read(r"HKLM\SOFTWARE\m365ops\activation", "64", None)["values"]
    assert len(fleet.hosts["pc"].host.registry.enumerate(r"HKLM\SOFTWARE\m365ops\activation\History", "64")["subkeys"]) == 1


def test_a_provider_that_breaks_nothing_is_reported_and_left(fleet: Fleet, inventory: Path) -> None:
    fleet.add("pc", "win10-bonjour")
    fleet.write_inventory(inventory)
    run = run_playbook(inventory, TASK)
    result = run.result("pc", TASK_NAME)
    assert run.rc == 0 and run.changed_hosts() == set() and result["status"] == "compliant"
    assert any("Bonjour" in warning for warning in result["warnings"])
    asked = run_playbook(inventory, TASK, extra_vars={"winsock_reset_third_party": True})
    assert asked.changed_hosts() == {"pc"}


def test_a_product_that_re_registers_its_lsp_is_blocked_not_reset_again(fleet: Fleet, inventory: Path) -> None:
    host = fleet.add("pc", "win10-lsp")
    fleet.write_inventory(inventory)
    assert run_playbook(inventory, TASK).changed_hosts() == {"pc"}
    _third_party_lsp(host.state)
    host.save()
    again = run_playbook(inventory, TASK)
    result = again.result("pc", TASK_NAME)
    assert again.changed_hosts() == set() and result["status"] == "blocked" and "re-registers" in result["blockers"][0]


def test_a_partial_ip_reset_is_reported_and_not_repeated(fleet: Fleet, inventory: Path) -> None:
    fleet.add("pc", "win10-ip-reset-partial")
    fleet.write_inventory(inventory)
    run = run_playbook(inventory, TASK, extra_vars={"winsock_ip": True, "winsock_token": "CHG-10"})
    result = run.result("pc", TASK_NAME)
    assert run.rc == 0 and result["status"] == "remediated" and result["reboot_required"] is True
    assert any("exited 1: it did part of its work" in warning for warning in result["warnings"])
    assert [record.get("exit_code") for record in result["backup"] if record["kind"] == "action"] == [0, 1]
    assert run_playbook(inventory, TASK, extra_vars={"winsock_ip": True, "winsock_token": "CHG-10"}).changed_hosts() == set()


def test_a_catalog_entry_whose_dll_is_gone_is_reset_after_one_more_look(fleet: Fleet, inventory: Path) -> None:
    fleet.add("vpn-gone", "win10-provider-missing")
    fleet.add("bonjour", "win10-bonjour")
    fleet.add("clean", "win10")
    fleet.write_inventory(inventory)
    audit = run_playbook(inventory, TASK, "--check")
    assert audit.changed_hosts() == {"vpn-gone"}
    assert any(r"Contoso VPN\cvpn_nsp.dll does not exist" in item for item in audit.result("vpn-gone", TASK_NAME)["winsock"]["damage"])
    # The system's files are read in the probe; only a product's file named by the catalog takes a second, read-only run.
    executions = {name: sum(fleet.hosts[name].host.counters["executions"].values()) for name in ("vpn-gone", "bonjour", "clean")}
    assert executions == {"vpn-gone": 2, "bonjour": 2, "clean": 1}
    fixed = run_playbook(inventory, TASK)
    assert fixed.rc == 0 and fixed.changed_hosts() == {"vpn-gone"}
    assert fixed.result("vpn-gone", TASK_NAME)["reboot_required"] is True
    assert run_playbook(inventory, TASK).changed_hosts() == set()


def test_the_static_guard_sees_ipv6_and_ignores_removed_cards(fleet: Fleet, inventory: Path) -> None:
    fleet.add("v6", "win10-static-ipv6")
    fleet.add("ghost", "win10-ghost-static")
    fleet.write_inventory(inventory)
    run = run_playbook(inventory, TASK, extra_vars={"winsock_ip": True})
    assert run.status("v6", TASK_NAME) == "failed" and "2001:db8:10::23" in run.result("v6", TASK_NAME)["msg"]
    assert run.changed_hosts() == {"ghost"}
    assert [record.get("run") for record in run.result("ghost", TASK_NAME)["backup"] if record.get("kind") == "action"] == [
        "netsh.exe winsock reset", "netsh.exe int ip reset"]
