"""win_office_license over WinRM against winsim: every signed-in user's activation state reset, restorable, and nothing else."""
from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from conftest import ROOT, run_playbook
from winsim.fleet import Fleet
from winsim.profiles import CAROL_SID, USER_SID
from winsim.registry import Registry

TASK = ROOT / "tests" / "integration" / "playbooks" / "office_license_task.yml"
TASK_NAME = "Run win_office_license"
COMMON = r"Software\Microsoft\Office\16.0\Common"
LOCAL = "c:\\users\\{}\\appdata\\local\\microsoft\\office\\"
AGENT = "ansible_collections.m365ops.activation.plugins.modules.win_agent"


def files_of(fleet: Fleet, host: str, user: str) -> list[str]:
    prefix = LOCAL.format(user)
    return sorted(name[len(prefix):] for name in fleet.hosts[host].host.state["files"] if name.startswith(prefix))


def tree(fleet: Fleet, host: str, sid: str, key: str) -> dict:
    return fleet.hosts[host].host.registry.read_tree(f"HKU\\{sid}\\{COMMON}\\{key}", "64")


def test_every_signed_in_users_state_is_reset_and_restore_puts_the_values_back(fleet: Fleet, inventory: Path, tmp_path: Path) -> None:
    fleet.add("shared", "win10-office-license")
    fleet.write_inventory(inventory)
    before = copy.deepcopy(fleet.hosts["shared"].host.state["registry"])
    predicted = run_playbook(inventory, TASK, "--check").result("shared", TASK_NAME)
    backups = tmp_path / "backups"
    run = run_playbook(inventory, TASK, extra_vars={"office_backup_dir": str(backups)})
    result = run.result("shared", TASK_NAME)
    assert run.rc == 0 and result["status"] == "remediated", run.stdout[-2000:]
    assert len(predicted["changes"]) == len(result["changes"]) and result["office_license"]["shared_computer_activation"] is True
    # alice's keys are empty and gone, her vNext licenses moved aside; bob's shared-computer token too.
    assert not tree(fleet, "shared", USER_SID, "Licensing")["exists"] and not tree(fleet, "shared", USER_SID, "Identity")["exists"]
    moved = files_of(fleet, "shared", "alice")
    assert moved and all(name.startswith("m365ops-license-backup-") and "\\licenses\\5\\" in name for name in moved)
    assert [name.split("\\", 1)[1] for name in files_of(fleet, "shared", "bob")] == ["16.0-licensing\\token.dat"]
    # carol is not signed in: out of reach, untouched.
    assert tree(fleet, "shared", CAROL_SID, "Licensing")["exists"] and files_of(fleet, "shared", "carol") == ["licenses\\5\\a9.json"]
    folders = {change["path"]: change["files"] for change in result["changes"] if change.get("user") == "CORP\\alice" and "path" in change}
    assert folders == {"%LOCALAPPDATA%\\Microsoft\\Office\\Licenses": ["5\\8f3c2a.json", "5\\d41d8c.json"]}
    again = run_playbook(inventory, TASK)
    assert again.changed_hosts() == set() and again.result("shared", TASK_NAME)["status"] == "compliant"

    restore = run_playbook(inventory, ROOT / "playbooks" / "restore.yml",
                           extra_vars={"m365ops_backup_dir": str(backups), "m365ops_concerns": ["office_license"]})
    assert restore.rc == 0
    original = Registry(before, "AMD64")
    for key in ("Licensing", "Identity"):
        assert tree(fleet, "shared", USER_SID, key) == original.read_tree(f"HKU\\{USER_SID}\\{COMMON}\\{key}", "64")


def test_the_token_folder_a_policy_moved_to_a_share_is_reset_and_what_stays_is_said(fleet: Fleet, inventory: Path) -> None:
    """G5: SCLCacheOverride's folder is a cache like the others, expanded in the user's own session; the WAM accounts of a
    joined device, and what OLicenseCleanup also clears, are named as not cleared."""
    from winsim.profiles import SCL_SHARE
    fleet.add("hybrid", "win10-office-scl-token")
    fleet.write_inventory(inventory)
    host = fleet.hosts["hybrid"].host
    token = f"{SCL_SHARE}\\%USERNAME%"
    predicted = run_playbook(inventory, TASK, "--check").result("hybrid", TASK_NAME)
    assert [change["path"] for change in predicted["changes"] if "path" in change] == [token]
    result = run_playbook(inventory, TASK).result("hybrid", TASK_NAME)
    assert result["status"] == "remediated", result
    (change,) = [change for change in result["changes"] if "path" in change]
    assert change["files"] == ["9b1e77.tok"] and change["moved_to"].startswith(f"{token}-m365ops-license-backup-")
    share = SCL_SHARE.lower()
    assert sorted(name for name in host.state["files"] if name.startswith(share)) == [
        f"{share}\\alice-m365ops-license-backup-{change['moved_to'].rsplit('-', 1)[-1].lower()}\\9b1e77.tok"]
    facts = result["office_license"]
    assert facts["token_folder"] == token and facts["users"][0]["wam"] == "device" and facts["users"][0]["caches"][token] == 1
    assert any("signoutofwamaccounts.ps1" in item for item in facts["not_cleared"])
    assert any("CORP\\alice's device is joined to Entra ID (Contoso)" in warning and "signoutofwamaccounts.ps1" in warning
               for warning in result["warnings"])
    # The token folder's path is known after the first read: an audit costs one follow-up read, no more.
    executions = host.counters["executions"][AGENT]
    again = run_playbook(inventory, TASK, "--check").result("hybrid", TASK_NAME)
    assert again["status"] == "compliant" and again["changes"] == []
    assert host.counters["executions"][AGENT] - executions == 2


@pytest.mark.parametrize("app", ["WINWORD.EXE", "VISIO.EXE", "WINPROJ.EXE"])
def test_office_open_blocks_that_user_and_nobody_signed_in_is_no_user_session(fleet: Fleet, inventory: Path, app: str) -> None:
    """Visio and Project are Office apps the reset article names too (review G18)."""
    fleet.add("busy", "win10-office-license")
    fleet.hosts["busy"].host.state["processes"] = [{"name": app, "id": 4120, "session_id": 1}]
    fleet.hosts["busy"].host.save()
    fleet.add("server", "ws2022")
    fleet.write_inventory(inventory)
    run = run_playbook(inventory, TASK)
    busy = run.result("busy", TASK_NAME)
    assert busy["status"] == "blocked" and "Office is open in CORP\\alice's session" in busy["blockers"][0]
    assert tree(fleet, "busy", USER_SID, "Licensing")["exists"], "alice's state stays while her Office is open"
    assert files_of(fleet, "busy", "bob") and all("m365ops-license-backup-" in name for name in files_of(fleet, "busy", "bob"))
    assert run.result("server", TASK_NAME)["blockers"][0].startswith("no user session")


def test_delete_removes_the_caches_instead_of_moving_them(fleet: Fleet, inventory: Path) -> None:
    fleet.add("shared", "win10-office-license")
    fleet.write_inventory(inventory)
    result = run_playbook(inventory, TASK, extra_vars={"office_files": "delete"}).result("shared", TASK_NAME)
    assert result["status"] == "remediated" and files_of(fleet, "shared", "alice") == [] and files_of(fleet, "shared", "bob") == []
    assert json.dumps(result).count("moved_to\": null") >= 2


def test_the_role_resets_the_state_and_removes_the_credentials(fleet: Fleet, inventory: Path) -> None:
    fleet.add("shared", "win10-office-license")
    host = fleet.hosts["shared"].host
    host.state["credentials"] = {USER_SID: [{"target": "MicrosoftOffice16_Data:SSPI:alice@corp.example", "type": 1, "persist": 3,
                                             "user_name": "alice@corp.example", "last_written": "2026-10-02T08:15:00Z"}]}
    host.save()
    fleet.write_inventory(inventory)
    run = run_playbook(inventory, ROOT / "tests" / "integration" / "playbooks" / "office_license_role.yml")
    assert run.rc == 0, run.stdout[-2000:]
    assert not tree(fleet, "shared", USER_SID, "Licensing")["exists"] and host.state["credentials"][USER_SID] == []


def test_the_fleet_runs_the_office_steps_when_named_in_the_same_two_executions(fleet: Fleet, inventory: Path, tmp_path: Path) -> None:
    fleet.add("shared", "win10-office-license")
    fleet.add("plain", "win11")
    fleet.write_inventory(inventory)
    report_file = tmp_path / "report.json"
    run = run_playbook(inventory, ROOT / "playbooks" / "remediate.yml",
                       extra_vars={"m365ops_concerns": ["tls12", "office_credentials", "office_license"], "m365ops_report_file": str(report_file)})
    assert run.rc == 0, run.stdout[-3000:]
    report = json.loads(report_file.read_text(encoding="utf-8"))
    shared = report["hosts"]["shared"]
    assert {name: entry["status"] for name, entry in shared["concerns"].items()} == {
        "tls12": "compliant", "winhttp_proxy": "not_selected", "ncsi": "not_selected", "required_services": "not_selected",
        "winsock_reset": "not_selected", "ipv6": "not_selected", "office_credentials": "compliant", "office_license": "remediated"}
    assert shared["status"] == "remediated" and shared["verified"] is True
    # win11's alice has no state to reset; a host where nobody is signed in would be blocked (no user session).
    assert report["hosts"]["plain"]["concerns"]["office_license"]["status"] == "compliant"
    assert {name: entry.host.counters["executions"].get("ansible_collections.m365ops.activation.plugins.modules.win_agent", 0)
            for name, entry in fleet.hosts.items()} == {"shared": 2, "plain": 1}


def test_users_who_are_not_signed_in_are_reset_only_when_asked_and_their_hive_is_unloaded_again(
        fleet: Fleet, inventory: Path, tmp_path: Path) -> None:
    from winsim.profiles import DAVE_SID
    fleet.add("shared", "win10-office-license")
    fleet.write_inventory(inventory)
    host = fleet.hosts["shared"].host
    default = run_playbook(inventory, TASK, "--check").result("shared", TASK_NAME)
    assert "dave" not in json.dumps(default["changes"]) and DAVE_SID in host.state["unloaded_hives"]
    predicted = run_playbook(inventory, TASK, "--check", extra_vars={"office_signed_out": True}).result("shared", TASK_NAME)
    # Check mode loaded dave's hive to read it, and unloaded it again.
    assert DAVE_SID in host.state["unloaded_hives"] and DAVE_SID not in host.state["registry"]["HKU"]["keys"]
    backups = tmp_path / "backups"
    dave_before = copy.deepcopy(host.state["unloaded_hives"][DAVE_SID])
    run = run_playbook(inventory, TASK, extra_vars={"office_signed_out": True, "office_backup_dir": str(backups)})
    result = run.result("shared", TASK_NAME)
    assert run.rc == 0 and result["status"] == "remediated", run.stdout[-2000:]
    assert [change.get("hive") for change in predicted["changes"] if change.get("hive")] == ["load", "unload"]
    assert len(predicted["changes"]) == len(result["changes"])
    hive = host.state["unloaded_hives"][DAVE_SID]
    assert "Licensing" not in str(hive) and DAVE_SID not in host.state["registry"]["HKU"]["keys"]
    assert all("m365ops-license-backup-" in name for name in files_of(fleet, "shared", "dave")) and files_of(fleet, "shared", "dave")
    # carol is not signed in, but a process of hers holds her hive: reached as it is, not loaded or unloaded.
    assert not tree(fleet, "shared", CAROL_SID, "Licensing")["exists"] and CAROL_SID in host.state["registry"]["HKU"]["keys"]
    assert result["office_license"]["profiles_without_hive"] == ["profile erin"]
    again = run_playbook(inventory, TASK, extra_vars={"office_signed_out": True})
    assert again.changed_hosts() == set()

    # Restore loads dave's hive again to put his values back, and unloads it.
    restore = run_playbook(inventory, ROOT / "playbooks" / "restore.yml",
                           extra_vars={"m365ops_backup_dir": str(backups), "m365ops_concerns": ["office_license"]})
    assert restore.rc == 0, restore.stdout[-2000:]
    assert host.state["unloaded_hives"][DAVE_SID] == dave_before and DAVE_SID not in host.state["registry"]["HKU"]["keys"]
    assert tree(fleet, "shared", CAROL_SID, "Licensing")["exists"]


def test_the_become_user_is_reset_once_also_with_the_users_who_are_not_signed_in(fleet: Fleet, inventory: Path) -> None:
    from winsim.profiles import DAVE_SID
    fleet.add("shared", "win10-office-license")
    fleet.write_inventory(inventory)
    host = fleet.hosts["shared"].host
    run = run_playbook(inventory, ROOT / "tests" / "integration" / "playbooks" / "office_license_become.yml",
                       extra_vars={"office_become_user": "CORP\\carol", "office_become_password": "not-stored-anywhere"})
    result = run.result("shared", TASK_NAME)
    assert run.rc == 0 and result["status"] == "remediated", run.stdout[-2000:]
    # carol is the become user: reached in her own process, not a second time as a profile nobody is signed in to.
    carol = [change for change in result["changes"] if CAROL_SID in json.dumps(change)]
    assert carol and len({json.dumps(change, sort_keys=True) for change in carol}) == len(carol)
    assert [entry["user"] for entry in result["office_license"]["users"]].count("CORP\\carol") == 1
    assert "profile carol" not in json.dumps(result["office_license"]["users"])
    # dave's hive was loaded for him and unloaded again; the signed-in users were left alone.
    assert DAVE_SID in host.state["unloaded_hives"] and "Licensing" not in str(host.state["unloaded_hives"][DAVE_SID])
    assert tree(fleet, "shared", USER_SID, "Licensing")["exists"]


def test_a_value_restore_could_not_write_back_is_never_deleted(fleet: Fleet, inventory: Path, tmp_path: Path) -> None:
    """REG_NONE (or a raw kind) in a user's Licensing tree: the reset leaves it and the keys holding it, and says so."""
    host = fleet.add("shared", "win10-office-license")
    host.registry.write(f"HKU\\{USER_SID}\\{COMMON}\\Licensing", "64", "Marker", "none", "", True)
    host.save()
    fleet.write_inventory(inventory)
    run = run_playbook(inventory, TASK, extra_vars={"office_backup_dir": str(tmp_path / "backups")})
    result = run.result("shared", TASK_NAME)
    assert run.rc == 0 and result["status"] == "drift" and any("Marker is a none value" in item for item in result["drift"])
    left = tree(fleet, "shared", USER_SID, "Licensing")
    assert left["exists"] and list(left["keys"]) == [""] and left["keys"][""]["values"]["Marker"]["type"] == "none"
    again = run_playbook(inventory, TASK)
    assert again.changed_hosts() == set() and again.result("shared", TASK_NAME)["status"] == "drift"
