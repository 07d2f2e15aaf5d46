"""Hives of users who are not signed in: which profiles are reached, the loads around reads and changes, and restore
planning through a hive loaded for it."""
from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

from ansible_collections.m365ops.activation.plugins.plugin_utils.concerns.restore import Restore
from ansible_collections.m365ops.activation.plugins.plugin_utils.engine.agent import OpResult
from ansible_collections.m365ops.activation.plugins.plugin_utils.engine.integrity import BackupKey
from ansible_collections.m365ops.activation.plugins.plugin_utils.hives import (
    HiveStep, around, hive_sid, loaded_around, merged, profiles_left_out, profiles_without_hive, signed_out_profiles,
)
from ansible_collections.m365ops.activation.plugins.plugin_utils.registry import RegistryKey, RegistryRef, RegistrySnapshot, ValueChange
from hoststate import dword, make_state

ALICE = "S-1-5-21-1-2-3-1104"
CAROL = "S-1-5-21-1-2-3-1109"
DAVE = "S-1-5-21-1-2-3-1111"
ERIN = "S-1-5-21-1-2-3-1113"
GONE = "S-1-5-21-1-2-3-1200"
USER_WININET = r"Software\Microsoft\Windows\CurrentVersion\Internet Settings"
PROFILES = {"profiles": [
    {"sid": ALICE, "path": "C:\\Users\\alice", "loaded": True, "hive_file": True},
    {"sid": CAROL, "path": "C:\\Users\\carol", "loaded": True, "hive_file": True},
    {"sid": DAVE, "path": "C:\\Users\\dave", "loaded": False, "hive_file": True},
    {"sid": ERIN, "path": "C:\\Users\\erin", "loaded": False, "hive_file": False},
    {"sid": "S-1-5-21-1-2-3-1300", "path": None, "loaded": False, "hive_file": False},
]}


def test_every_profile_but_the_signed_in_users_is_reached_and_one_without_a_hive_file_only_named() -> None:
    found = signed_out_profiles(PROFILES, [ALICE.lower()])
    assert [(entry["sid"], entry["user"], entry["loaded"]) for entry in found] == [(CAROL, "profile carol", True), (DAVE, "profile dave", False)]
    assert profiles_without_hive(PROFILES) == ["profile erin"]


def test_the_connection_account_and_service_accounts_are_never_signed_out_users() -> None:
    admin, service = "S-1-5-21-9-9-9-500", "S-1-5-21-1-2-3-1201"
    listed = {"profiles": [*PROFILES["profiles"], {"sid": admin, "path": "C:\\Users\\admin", "loaded": True, "hive_file": True, "self": True},
                           {"sid": service, "path": "C:\\Users\\svc-backup", "loaded": False, "hive_file": True, "service": True}]}
    assert [entry["sid"] for entry in signed_out_profiles(listed, [ALICE])] == [CAROL, DAVE]
    assert profiles_left_out(listed, [ALICE]) == ["profile admin: the account this run connects as",
                                                  "profile svc-backup: an account a service logs on as"]
    # While a signed-in user could not be identified, a loaded hive may be theirs: only hives nobody holds are reached.
    assert [entry["sid"] for entry in signed_out_profiles(listed, [ALICE], unidentified=True)] == [DAVE]
    assert "profile carol: its hive is loaded and a signed-in user could not be identified" in profiles_left_out(listed, [ALICE], True)
    # Restore puts back what a backup recorded, whoever's hive it is.
    assert [entry["sid"] for entry in signed_out_profiles(listed, [ALICE], every=True)] == [CAROL, DAVE, admin, service]


def test_only_hives_not_loaded_are_loaded_and_unloaded_around_the_reads() -> None:
    found = signed_out_profiles(PROFILES, [ALICE])
    read = {"op": "registry_read_user_hives", "subkey": USER_WININET, "names": ["SecureProtocols"]}
    marker = {"marker_key": r"HKLM\SOFTWARE\m365ops\activation\LoadedHives"}
    ops = list(around(found, {"read": read}).values())
    # dave's hive is read alone while it is loaded; the read of every hive loaded already (carol's) comes after.
    assert ops == [{"op": "user_hive_load", "sid": DAVE, **marker}, {**read, "sids": [DAVE]}, {"op": "user_hive_unload", "sid": DAVE, **marker}, read]
    assert not around([], {"read": read})
    change = ValueChange(RegistryRef(RegistryKey(f"HKU\\{DAVE}\\{USER_WININET}"), "SecureProtocols"), dword(0xA0), dword(0x8A0), "why")
    carol, dave = found
    assert loaded_around(carol, [change], "why") == [change]
    wrapped = loaded_around(dave, [change], "why")
    assert [type(step) for step in wrapped] == [HiveStep, ValueChange, HiveStep] and [wrapped[0].load, wrapped[2].load] == [True, False]
    assert loaded_around(dave, [], "why") == []


def test_hives_are_loaded_read_and_unloaded_one_profile_at_a_time() -> None:
    """Review G19: never more than one hive loaded for the reads; a read of a key in a hive goes with that hive."""
    profiles = [{"sid": DAVE, "loaded": False}, {"sid": ERIN, "loaded": False}, {"sid": CAROL, "loaded": True}]
    reads = {"all": {"op": "registry_read_user_hives", "subkey": USER_WININET, "names": ["SecureProtocols"]},
             "erin's key": {"op": "registry_read", "key": f"HKU\\{ERIN.lower()}\\{USER_WININET}", "names": ["x"]},
             "folders": {"op": "directory_stat", "paths": ["C:\\Users\\dave"]}}
    ops = around(profiles, reads)
    assert list(ops) == [f"hive_load {DAVE}", f"all {DAVE}", f"hive_unload {DAVE}",
                         f"hive_load {ERIN}", "erin's key", f"all {ERIN}", f"hive_unload {ERIN}", "all", "folders"]
    answers = {"all": OpResult("registry_read_user_hives", True, {"hives": {CAROL: {"values": {}}}}),
               f"all {DAVE}": OpResult("registry_read_user_hives", True, {"hives": {DAVE: {"values": {"SecureProtocols": 1}}}}),
               f"all {ERIN}": OpResult("registry_read_user_hives", True, {"hives": {ERIN: {"values": {}}}})}
    assert set(merged(answers, "all").data["hives"]) == {CAROL, DAVE, ERIN}
    answers[f"all {ERIN}"] = OpResult("registry_read_user_hives", False, error="access_denied")
    assert merged(answers, "all").error == "access_denied"


def test_hive_sid_names_only_a_users_hive() -> None:
    assert hive_sid(f"HKU\\{DAVE}\\Software") == DAVE and hive_sid(f"HKU\\{DAVE}") == DAVE
    assert hive_sid("HKU\\.DEFAULT\\Software") is None and hive_sid("HKLM\\SOFTWARE") is None and hive_sid("HKU\\S-1-5-18\\x") is None


def test_overlay_replaces_only_the_keys_read_again() -> None:
    first, second = RegistryKey(f"HKU\\{DAVE}\\{USER_WININET}"), RegistryKey(r"HKLM\SOFTWARE\Example")
    a, b = RegistryRef(first, "SecureProtocols"), RegistryRef(second, "Value")
    probe = RegistrySnapshot({a: None, b: dword(1)}, {second})
    later = RegistrySnapshot({a: dword(0x8A0)}, {first})
    merged = probe.overlay(later, [first])
    assert (merged.get(a), merged.get(b), merged.key_exists(first), merged.key_exists(second)) == (dword(0x8A0), dword(1), True, True)


KEY = BackupKey(b"k" * 32, "a test key")


def backup(tmp_path: Path, sids: list[str]) -> Path:
    records = [{"kind": "registry", "key": f"HKU\\{sid}\\{USER_WININET}", "view": "64", "name": "SecureProtocols",
                "before": {"type": "dword", "value": 0xA0}, "after": {"type": "dword", "value": 0x8A0}, "created_key": None,
                "reboot_required": False, "module": "m365ops.activation.win_tls12"} for sid in sids]
    records = [KEY.sign("pc", record) for record in records]
    folder = tmp_path / "pc"
    folder.mkdir()
    document = {"format": 1, "host": "pc", "module": "m365ops.activation.win_tls12", "created": "2026-11-01T00:00:00Z", "records": records}
    (folder / "a.json").write_text(json.dumps(document))
    return tmp_path


def test_restore_loads_a_signed_out_users_hive_around_the_change_and_names_a_user_who_is_gone(tmp_path: Path) -> None:
    concern = Restore("pc", KEY)
    args = {"backups": str(backup(tmp_path, [CAROL, DAVE, GONE])), "modules": None}
    concern.check_arguments(args)
    refs = list(concern.registry_refs(args))
    assert concern.probe_ops(args, None) == {"profiles": {"op": "profile_list"}}
    # The probe read carol's value (her hive is loaded); dave's and the gone user's keys read as absent.
    state = make_state("win10", refs, {(f"HKU\\{CAROL}\\{USER_WININET}", "64", "SecureProtocols"): dword(0x8A0)},
                       existing_keys=((f"HKU\\{CAROL}\\{USER_WININET}", "64"),), probes={"profiles": OpResult("profile_list", True, PROFILES)})
    named = concern.followup_ops(args, state)
    followups = list(named.values())
    assert [op["op"] for op in followups] == ["user_hive_load", "registry_read", "user_hive_unload"] and followups[0]["sid"] == DAVE
    answers = (OpResult("user_hive_load", True, {"loaded": True}),
               OpResult("registry_read", True, {"exists": True, "values": {"SecureProtocols": {"type": "dword", "value": 0x8A0}}}),
               OpResult("user_hive_unload", True, {"unloaded": True}))
    plan = concern.plan(args, replace(state, followups=dict(zip(named, answers))))
    steps = [(type(change).__name__, getattr(change, "sid", None) or str(change.ref.key)) for change in plan.changes]
    assert steps == [("HiveStep", DAVE), ("ValueChange", f"HKU\\{DAVE}\\{USER_WININET}"), ("HiveStep", DAVE),
                     ("ValueChange", f"HKU\\{CAROL}\\{USER_WININET}")]
    assert all(change.after == dword(0xA0) for change in plan.changes if isinstance(change, ValueChange))
    assert any(GONE in warning for warning in plan.warnings)
