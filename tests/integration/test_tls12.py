"""win_tls12, its role and the audit/remediate playbooks, run by ansible-playbook over WinRM against winsim."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from conftest import ROOT, give_wrong_password, run_playbook
from winsim.fleet import Fleet
from winsim.profiles import PROFILES

AUDIT = ROOT / "playbooks" / "audit.yml"
REMEDIATE = ROOT / "playbooks" / "remediate.yml"
TASK = ROOT / "tests" / "integration" / "playbooks" / "tls12_task.yml"
TASK_NAME = "Run win_tls12"
AGENT = "ansible_collections.m365ops.activation.plugins.modules.win_agent"
CLIENT_KEY = r"HKLM\SYSTEM\CurrentControlSet\Control\SecurityProviders\SCHANNEL\Protocols\TLS 1.2\Client"
WINHTTP = r"HKLM\SOFTWARE\Microsoft\Windows\CurrentVersion\Internet Settings\WinHttp"
FLEET_TASK = "m365ops.activation.fleet : Fleet | Activation concerns"
# Profiles the remediate playbook brings to compliance (win7-rtm is unsupported, the broken Event Log needs sfc).
SUPPORTED = sorted(name for name in PROFILES if name not in ("win7-rtm", "win10-eventlog-broken"))
TLS_DRIFTING = {"win10-tls-hardened", "win7sp1", "win7sp1-nokb", "win7sp1-langpack", "win7sp1-rollup", "ws2012"}
# A default run imports WinINet's proxy where WinHTTP goes direct and the proxy answers from the host (not
# win10-proxy-machine's, which does not: review G24), and replaces a WinHTTP proxy only where it does not answer while
# every other source agrees on a route that does (win10-stale-proxy: review G25).
DRIFTING = TLS_DRIFTING | {"win10-ncsi-off", "win10-provider-missing", "win10-static-ipv6", "win10-ghost-static",
                           "win10-nla-disabled", "win10-lsp", "ws2022-static-ip", "win10-proxy-site", "win10-dhcp-disabled",
                           "win10-stale-proxy"}


def value(fleet: Fleet, host: str, key: str, name: str, view: str = "64"):
    return fleet.hosts[host].host.registry.read(key, view, [name])["values"].get(name)


def test_remediate_converges_every_profile_and_second_run_changes_nothing(fleet: Fleet, inventory: Path) -> None:
    for profile in SUPPORTED:
        fleet.add(profile, profile)
    fleet.write_inventory(inventory)

    first = run_playbook(inventory, REMEDIATE)
    assert first.rc == 0, first.stdout[-3000:]
    assert first.changed_hosts() == DRIFTING

    second = run_playbook(inventory, REMEDIATE)
    assert second.rc == 0, second.stdout[-3000:]
    assert second.changed_hosts() == set()
    assert set(second.stats) >= set(SUPPORTED)

    for host in TLS_DRIFTING - {"ws2012"}:
        assert value(fleet, host, CLIENT_KEY, "Enabled") == {"type": "dword", "value": 1}
        assert value(fleet, host, CLIENT_KEY, "DisabledByDefault") == {"type": "dword", "value": 0}
    # Windows 8 / Server 2012 SCHANNEL offers TLS 1.2 by default: only WinHTTP and WinINet were written there.
    assert value(fleet, "ws2012", CLIENT_KEY, "Enabled") is None
    for host in TLS_DRIFTING:
        for view in ("64", "32"):
            assert value(fleet, host, WINHTTP, "DefaultSecureProtocols", view)["value"] & 0x800
    # Modern hosts that were healthy keep their absent values absent.
    assert value(fleet, "win11", CLIENT_KEY, "Enabled") is None
    assert value(fleet, "win10", WINHTTP, "DefaultSecureProtocols") is None


def test_hardened_host_keeps_its_other_protocol_bits(fleet: Fleet, inventory: Path) -> None:
    fleet.add("hardened", "win10-tls-hardened")
    fleet.write_inventory(inventory)
    assert run_playbook(inventory, TASK).rc == 0
    # 0x280 (TLS 1.0 + TLS 1.1 as the admin left them) plus TLS 1.2; SSL 2/3 stay off.
    assert value(fleet, "hardened", WINHTTP, "DefaultSecureProtocols") == {"type": "dword", "value": 0xA80}


def test_legacy_absent_bitmap_gets_tls12_without_ssl3(fleet: Fleet, inventory: Path) -> None:
    fleet.add("win7", "win7sp1")
    fleet.write_inventory(inventory)
    assert run_playbook(inventory, TASK).rc == 0
    assert value(fleet, "win7", WINHTTP, "DefaultSecureProtocols", "32") == {"type": "dword", "value": 0x880}
    raw = fleet.hosts["win7"].host.state["registry"]["HKLM"]["keys"]["SOFTWARE"]["keys"]["Wow6432Node"]
    assert "DefaultSecureProtocols" in raw["keys"]["Microsoft"]["keys"]["Windows"]["keys"]["CurrentVersion"]["keys"][
        "Internet Settings"]["keys"]["WinHttp"]["values"], "the 32-bit view must land in Wow6432Node"


def test_check_mode_predicts_the_real_run_and_leaves_state_byte_identical(fleet: Fleet, inventory: Path) -> None:
    fleet.add("hardened", "win10-tls-hardened")
    fleet.write_inventory(inventory)
    state_file = fleet.hosts["hardened"].host.state_path
    before = state_file.read_bytes()

    audit = run_playbook(inventory, TASK, "--check", "--diff")
    assert audit.rc == 0
    predicted = audit.result("hardened", TASK_NAME)
    assert predicted["changed"] is True and predicted["check_mode"] is True
    assert "backup" not in predicted
    assert state_file.read_bytes() == before

    real = run_playbook(inventory, TASK)
    applied = real.result("hardened", TASK_NAME)
    assert applied["changes"] == predicted["changes"]
    assert sorted((record["key"], record["view"], record["name"], json.dumps(record["after"])) for record in applied["backup"]) == \
        sorted((change["key"], change["view"], change["name"], json.dumps(change["after"])) for change in predicted["changes"])
    assert state_file.read_bytes() != before


def test_diff_shows_before_and_after_of_each_value(fleet: Fleet, inventory: Path) -> None:
    fleet.add("hardened", "win10-tls-hardened")
    fleet.write_inventory(inventory)
    run = run_playbook(inventory, TASK, "--check", "--diff")
    assert '-"Enabled"=dword:00000000' in run.stdout
    assert '+"Enabled"=dword:00000001' in run.stdout
    assert '-"DefaultSecureProtocols"=dword:00000280' in run.stdout
    assert '+"DefaultSecureProtocols"=dword:00000a80' in run.stdout


def test_windows7_without_kb3140245_is_remediated_but_reported_blocked(fleet: Fleet, inventory: Path, tmp_path: Path) -> None:
    fleet.add("nokb", "win7sp1-nokb")
    fleet.write_inventory(inventory)
    report_file = tmp_path / "report.json"
    run = run_playbook(inventory, REMEDIATE)
    result = run.result("nokb", FLEET_TASK)["concerns"]["tls12"]
    assert result["tls12"]["kb3140245"] == "missing"
    assert any("KB3140245" in blocker for blocker in result["blockers"])
    assert value(fleet, "nokb", CLIENT_KEY, "Enabled") == {"type": "dword", "value": 1}

    audit = run_playbook(inventory, AUDIT, extra_vars={"m365ops_report_file": str(report_file)})
    assert audit.rc == 0
    report = json.loads(report_file.read_text(encoding="utf-8"))
    assert report["hosts"]["nokb"]["status"] == "blocked"
    assert report["totals"]["blocked"] == 1


def test_require_kb3140245_fails_before_changing_anything(fleet: Fleet, inventory: Path) -> None:
    fleet.add("nokb", "win7sp1-nokb")
    fleet.write_inventory(inventory)
    before = fleet.hosts["nokb"].host.state_path.read_bytes()
    run = run_playbook(inventory, TASK, extra_vars={"tls12_require_kb3140245": True})
    assert run.rc == 2
    result = run.result("nokb", TASK_NAME)
    assert run.status("nokb", TASK_NAME) == "failed" and "KB3140245 is not in place" in result["msg"]
    assert fleet.hosts["nokb"].host.state_path.read_bytes() == before
    assert fleet.hosts["nokb"].host.counters["executions"] == {AGENT: 1}


def test_unsupported_release_fails_with_the_prerequisite(fleet: Fleet, inventory: Path) -> None:
    fleet.add("rtm", "win7-rtm")
    fleet.write_inventory(inventory)
    run = run_playbook(inventory, TASK)
    result = run.result("rtm", TASK_NAME)
    assert run.status("rtm", TASK_NAME) == "failed"
    assert "Service Pack 1" in result["msg"] and result["tls12"]["release_class"] == "unsupported"


@pytest.mark.parametrize(("extra_vars", "playbook", "named"), [
    ({"tls12_server": "sometimes"}, TASK, "server"),
    ({"tls12_dotnet": [1, 2]}, TASK, "dotnet"),
    ({"tls12_wininet_users": "ignore", "tls12_wininet_signed_out": True}, TASK, "wininet_signed_out"),
    ({}, ROOT / "tests" / "integration" / "playbooks" / "tls12_unknown_option.yml", "sever"),
])
def test_bad_options_fail_before_any_winrm_request(fleet: Fleet, inventory: Path, extra_vars: dict, playbook: Path, named: str) -> None:
    fleet.add("host", "win10-tls-hardened")
    fleet.write_inventory(inventory)
    run = run_playbook(inventory, playbook, extra_vars=extra_vars)
    assert run.rc == 2
    assert named in run.result("host", TASK_NAME)["msg"]
    assert fleet.hosts["host"].host.counters["requests"] == 0


def test_one_agent_execution_when_compliant_two_when_not(fleet: Fleet, inventory: Path) -> None:
    fleet.add("healthy", "win11")
    fleet.add("hardened", "win10-tls-hardened")
    fleet.write_inventory(inventory)
    run = run_playbook(inventory, TASK)
    assert run.rc == 0
    assert fleet.hosts["healthy"].host.counters["executions"] == {AGENT: 1}
    assert fleet.hosts["hardened"].host.counters["executions"] == {AGENT: 2}
    assert run.result("healthy", TASK_NAME)["agent_executions"] == 1
    assert run.result("hardened", TASK_NAME)["agent_executions"] == 2

    check = run_playbook(inventory, TASK, "--check")
    assert check.rc == 0
    assert fleet.hosts["hardened"].host.counters["executions"] == {AGENT: 3}, "a compliant host is probed once more, never written"


def test_backup_dir_records_every_value_found_before_the_write(fleet: Fleet, inventory: Path, tmp_path: Path) -> None:
    fleet.add("hardened", "win10-tls-hardened")
    fleet.write_inventory(inventory)
    run = run_playbook(inventory, TASK, extra_vars={"tls12_backup_dir": str(tmp_path / "backups")})
    result = run.result("hardened", TASK_NAME)
    files = list((tmp_path / "backups" / "hardened").glob("*.json"))
    assert [str(path) for path in files] == [result["backup_file"]]
    document = json.loads(files[0].read_text(encoding="utf-8"))
    assert document["module"] == "m365ops.activation.win_tls12" and document["host"] == "hardened"
    enabled = next(record for record in document["records"] if record["name"] == "Enabled")
    assert enabled["before"] == {"type": "dword", "value": 0} and enabled["after"] == {"type": "dword", "value": 1}
    assert len(document["records"]) == len(result["changes"]) == 5


def test_access_denied_key_names_the_key_and_what_to_do(fleet: Fleet, inventory: Path) -> None:
    host = fleet.add("locked", "win10-tls-hardened")
    tls12 = host.state["registry"]["HKLM"]["keys"]["SYSTEM"]["keys"]["CurrentControlSet"]["keys"]["Control"]["keys"][
        "SecurityProviders"]["keys"]["SCHANNEL"]["keys"]["Protocols"]["keys"]["TLS 1.2"]
    tls12["keys"]["Client"]["deny"] = ["write"]
    host.save()
    fleet.write_inventory(inventory)
    run = run_playbook(inventory, TASK)
    result = run.result("locked", TASK_NAME)
    assert run.status("locked", TASK_NAME) == "failed"
    assert "access_denied" in result["msg"] and "Administrators" in result["msg"] and "TLS 1.2\\Client" in result["msg"]
    assert result["backup"] == [], "the first failed write stops the batch, so nothing else was changed"


def test_wrong_password_is_unreachable(fleet: Fleet, inventory: Path) -> None:
    fleet.add("host", "win11")
    fleet.write_inventory(inventory)
    give_wrong_password(inventory)
    run = run_playbook(inventory, TASK)
    assert run.rc == 4
    assert run.stats["host"]["unreachable"] == 1
    assert "credentials were rejected" in run.result("host", TASK_NAME)["msg"]
    assert fleet.hosts["host"].host.counters["auth_failures"] >= 1


def test_kb3140245_is_decided_by_winhttp_dll_where_its_version_is_given(fleet: Fleet, inventory: Path) -> None:
    """A language pack put the old winhttp.dll back (the list still shows the update); a rollup carries the file unlisted."""
    for name in ("win7sp1-langpack", "win7sp1-rollup", "win7sp1"):
        fleet.add(name, name)
    fleet.write_inventory(inventory)
    by_list = run_playbook(inventory, TASK, "--check")
    # Without the KB's table, a winhttp.dll still at the build Windows 7 SP1 shipped with says the update is not in effect,
    # whatever the hotfix list says (review G26).
    langpack = by_list.result("win7sp1-langpack", TASK_NAME)
    assert (langpack["status"], langpack["tls12"]["kb3140245"], langpack["tls12"]["kb3140245_evidence"]) == ("blocked", "missing", "shipped_build")
    assert "6.1.7601.17514, the build Windows 7 SP1 shipped with" in langpack["blockers"][0]
    assert by_list.result("win7sp1", TASK_NAME)["tls12"]["kb3140245"] == "installed"
    assert by_list.result("win7sp1-rollup", TASK_NAME)["status"] == "blocked"

    # The number is this test's own (the simulator's illustrative build), not Microsoft's table.
    by_file = run_playbook(inventory, TASK, "--check", extra_vars={"tls12_kb3140245_file_versions": {"6.1": "6.1.7601.23400"}})
    langpack, rollup, healthy = (by_file.result(name, TASK_NAME) for name in ("win7sp1-langpack", "win7sp1-rollup", "win7sp1"))
    assert langpack["status"] == "blocked" and langpack["tls12"]["kb3140245_evidence"] == "file_version"
    assert "language pack" in langpack["blockers"][0] and "6.1.7601.17514" in langpack["blockers"][0]
    assert rollup["tls12"]["kb3140245"] == "installed" and not rollup["blockers"]
    assert healthy["tls12"]["kb3140245"] == "installed"
    assert healthy["tls12"]["winhttp_dll_versions"] == {r"C:\Windows\System32\winhttp.dll": "6.1.7601.23400",
                                                        r"C:\Windows\SysWOW64\winhttp.dll": "6.1.7601.23400"}


USER_WININET = r"Software\Microsoft\Windows\CurrentVersion\Internet Settings"


def test_each_signed_in_users_tls12_box_is_reported_set_when_asked_and_restored(fleet: Fleet, inventory: Path, tmp_path: Path) -> None:
    from winsim.profiles import BOB_SID, CAROL_SID, USER_SID
    fleet.add("terminal", "win10-users-tls")
    fleet.write_inventory(inventory)

    def user_value(sid: str):
        return value(fleet, "terminal", f"HKU\\{sid}\\{USER_WININET}", "SecureProtocols")["value"]

    audit = run_playbook(inventory, TASK, "--check").result("terminal", TASK_NAME)
    assert audit["status"] == "drift" and audit["changed"] is False
    assert [item for item in audit["drift"] if "CORP\\alice's WinINet SecureProtocols" in item]
    users = {entry["user"]: entry for entry in audit["tls12"]["wininet_users"]}
    assert set(users) == {"CORP\\alice", "CORP\\bob"} and users["CORP\\bob"]["secure_protocols"] == 0xA80

    backups = tmp_path / "backups"
    predicted = run_playbook(inventory, TASK, "--check", extra_vars={"tls12_wininet_users": "set"}).result("terminal", TASK_NAME)
    applied = run_playbook(inventory, TASK, extra_vars={"tls12_wininet_users": "set", "tls12_backup_dir": str(backups)})
    result = applied.result("terminal", TASK_NAME)
    # Check mode names exactly what the real run changes: alice's value, not bob's, and not carol's (no session).
    assert [change["key"] for change in predicted["changes"]] == [change["key"] for change in result["changes"]]
    assert [change["key"] for change in result["changes"]] == [f"HKU\\{USER_SID}\\{USER_WININET}"]
    assert (user_value(USER_SID), user_value(BOB_SID), user_value(CAROL_SID)) == (0x8A0, 0xA80, 0xA0)
    assert result["status"] == "remediated"
    again = run_playbook(inventory, TASK, extra_vars={"tls12_wininet_users": "set"})
    assert again.changed_hosts() == set()

    restore = run_playbook(inventory, ROOT / "playbooks" / "restore.yml", extra_vars={"m365ops_backup_dir": str(backups)})
    assert restore.rc == 0 and user_value(USER_SID) == 0xA0


def unloaded_value(hive: dict) -> int:
    """SecureProtocols in a hive as the simulator keeps it while it is not loaded."""
    node = hive
    for part in USER_WININET.split("\\"):
        node = node["keys"][part]
    return node["values"]["SecureProtocols"]["value"]


def test_users_who_are_not_signed_in_are_reached_only_when_asked_and_their_hives_are_left_as_found(
        fleet: Fleet, inventory: Path, tmp_path: Path) -> None:
    from winsim.profiles import ADMIN_SID, BACKUP_SERVICE_SID, CAROL_SID, DAVE_SID, USER_SID
    fleet.add("terminal", "win10-users-tls")
    fleet.write_inventory(inventory)
    host = fleet.hosts["terminal"].host
    asked = {"tls12_wininet_users": "set", "tls12_wininet_signed_out": True}

    def loaded() -> set:
        return set(host.state["registry"]["HKU"]["keys"])

    before = loaded()
    predicted = run_playbook(inventory, TASK, "--check", extra_vars=asked).result("terminal", TASK_NAME)
    # Check mode loaded dave's hive to read it and unloaded it; carol's, held by a lingering process, stays loaded.
    assert loaded() == before and DAVE_SID in host.state["unloaded_hives"] and CAROL_SID in before
    backups = tmp_path / "backups"
    run = run_playbook(inventory, TASK, extra_vars={**asked, "tls12_backup_dir": str(backups)})
    result = run.result("terminal", TASK_NAME)
    assert run.rc == 0 and result["status"] == "remediated", run.stdout[-2000:]
    assert [(change.get("key"), change.get("hive")) for change in predicted["changes"]] == \
        [(change.get("key"), change.get("hive")) for change in result["changes"]]
    keys = [change["key"] for change in result["changes"] if change.get("key")]
    assert sorted(keys) == sorted(f"HKU\\{sid}\\{USER_WININET}" for sid in (USER_SID, CAROL_SID, DAVE_SID))
    assert [change["hive"] for change in result["changes"] if change.get("hive")] == ["load", "unload"]
    assert loaded() == before
    assert value(fleet, "terminal", f"HKU\\{CAROL_SID}\\{USER_WININET}", "SecureProtocols")["value"] == 0x8A0
    assert unloaded_value(host.state["unloaded_hives"][DAVE_SID]) == 0x8A0
    users = {entry["user"]: entry for entry in result["tls12"]["wininet_users"]}
    assert users["profile dave"]["signed_in"] is False and users["CORP\\alice"]["signed_in"] is True
    assert result["tls12"]["profiles_without_hive"] == ["profile erin"]
    # The backup service's account and the WinRM account hold the same old value in hives their own logons hold:
    # neither is a signed-out user, so neither is changed (G19).
    assert result["tls12"]["profiles_left_out"] == ["profile svc-backup: an account a service logs on as",
                                                    "profile winsim-admin: the account this run connects as"]
    for sid in (BACKUP_SERVICE_SID, ADMIN_SID):
        assert value(fleet, "terminal", f"HKU\\{sid}\\{USER_WININET}", "SecureProtocols")["value"] == 0xA0
    again = run_playbook(inventory, TASK, extra_vars=asked)
    assert again.changed_hosts() == set() and loaded() == before

    # Restore in check mode loads dave's hive to read it and changes nothing; the real one puts back every user's value,
    # dave's through his hive loaded again for it, and leaves it unloaded.
    restored = ROOT / "playbooks" / "restore.yml"
    checked = run_playbook(inventory, restored, "--check", extra_vars={"m365ops_backup_dir": str(backups)})
    assert checked.rc == 0 and loaded() == before and unloaded_value(host.state["unloaded_hives"][DAVE_SID]) == 0x8A0
    assert value(fleet, "terminal", f"HKU\\{USER_SID}\\{USER_WININET}", "SecureProtocols")["value"] == 0x8A0
    restore = run_playbook(inventory, ROOT / "playbooks" / "restore.yml", extra_vars={"m365ops_backup_dir": str(backups)})
    assert restore.rc == 0, restore.stdout[-2000:]
    assert loaded() == before and unloaded_value(host.state["unloaded_hives"][DAVE_SID]) == 0xA0
    for sid in (USER_SID, CAROL_SID):
        assert value(fleet, "terminal", f"HKU\\{sid}\\{USER_WININET}", "SecureProtocols")["value"] == 0xA0
