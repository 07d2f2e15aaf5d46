"""The TLS 1.2 decision over many starting states (docs/sources.md section 1)."""
from __future__ import annotations

import itertools
import re

import pytest
from ansible.errors import AnsibleActionFail

from ansible_collections.m365ops.activation.plugins.plugin_utils.concerns import tls12
from ansible_collections.m365ops.activation.plugins.plugin_utils.concerns.tls12 import Tls12, plan_tls12
from ansible_collections.m365ops.activation.plugins.plugin_utils.engine.agent import OpResult
from ansible_collections.m365ops.activation.plugins.plugin_utils.registry import RegistryKey, RegistryRef, RegistryValue
from hoststate import changes_of, dword, make_state

CLIENT = tls12.SCHANNEL_TLS12 + r"\Client"
SERVER = tls12.SCHANNEL_TLS12 + r"\Server"
WINHTTP = tls12.WINHTTP
WININET = tls12.WININET
POLICY = tls12.WININET_POLICY
NET4 = tls12.DOTNET_FRAMEWORKS[1]

DEFAULTS = {"server": False, "winhttp": True, "wininet": True, "wininet_users": "report", "wininet_signed_out": False, "dotnet": False,
            "require_kb3140245": False, "kb3140245_file_versions": {}}


def file_probes(winhttp: str | None = "6.1.7601.23400", languages: tuple[str, ...] = ("en-US",), users: dict | None = None) -> dict:
    """What the probe's file_stat of both winhttp.dll copies, the MUI language list, and the signed-in users' WinINet values
    answer. ``users``: SID -> (name, SecureProtocols or None, user policy or None, hive loaded)."""
    files = {path: {"expanded": path.replace("%SystemRoot%", "C:\\Windows"), "exists": winhttp is not None, "version": winhttp}
             for path in tls12.WINHTTP_DLLS}
    users = users or {}
    sessions = [{"sid": sid, "user": name, "session_id": index + 1} for index, (sid, (name, *_rest)) in enumerate(users.items())]

    def hives(position: int) -> dict:
        return {sid: {"exists": True, "values": {} if entry[position] is None else {"SecureProtocols": {"type": "dword", "value": entry[position]}}}
                for sid, entry in users.items() if entry[3]}
    return {"winhttp_dlls": OpResult("file_stat", True, {"files": files}),
            "ui_languages": OpResult("registry_enum", True, {"exists": True, "subkeys": list(languages)}),
            "sessions": OpResult("user_sessions", True, {"sessions": sessions}),
            "user_wininet": OpResult("registry_read_user_hives", True, {"hives": hives(1)}),
            "user_wininet_policies": OpResult("registry_read_user_hives", True, {"hives": hives(2)})}


def run(release: str, values=None, winhttp_dll: str | None = "6.1.7601.23400", languages: tuple[str, ...] = ("en-US",), users=None, **kwargs):
    args = {**DEFAULTS, **{key: value for key, value in kwargs.items() if key in DEFAULTS}}
    extra = {key: value for key, value in kwargs.items() if key not in DEFAULTS}
    refs = list(Tls12().registry_refs(args))
    return plan_tls12(args, make_state(release, refs, values, probes=file_probes(winhttp_dll, languages, users), **extra))


LEGACY_ABSENT = {
    (CLIENT, "64", "Enabled"): 1, (CLIENT, "64", "DisabledByDefault"): 0,
    (WINHTTP, "64", "DefaultSecureProtocols"): 0x880, (WINHTTP, "32", "DefaultSecureProtocols"): 0x880,
    # WinINet keeps TLS 1.1, which IE11 has on by default (0x880 would take it away).
    (WININET, "64", "SecureProtocols"): 0xA80,
}
# Windows 8 / Server 2012: SCHANNEL already offers TLS 1.2; only WinHTTP and WinINet need it.
SCHANNEL_ON = {key: value for key, value in LEGACY_ABSENT.items() if key[0] != CLIENT}

CASES = [
    # (id, release, starting values, options, expected changes)
    ("win11 defaults need nothing", "win11", {}, {}, {}),
    ("win10 defaults need nothing", "win10", {}, {}, {}),
    ("8.1 defaults need nothing", "win81", {}, {}, {}),
    ("2022 defaults need nothing", "2022", {}, {}, {}),
    ("modern Enabled=0 is repaired", "win10", {(CLIENT, "64", "Enabled"): dword(0)}, {}, {(CLIENT, "64", "Enabled"): 1}),
    ("0xFFFFFFFF counts as enabled", "win10", {(CLIENT, "64", "Enabled"): dword(0xFFFFFFFF)}, {}, {}),
    ("modern DisabledByDefault=1 is repaired", "win11", {(CLIENT, "64", "DisabledByDefault"): dword(1)}, {},
     {(CLIENT, "64", "DisabledByDefault"): 0}),
    ("Enabled as a string is rewritten as a DWORD", "win10", {(CLIENT, "64", "Enabled"): RegistryValue("string", "0")}, {},
     {(CLIENT, "64", "Enabled"): 1}),
    ("bitmap without TLS 1.2 keeps its other bits", "win10",
     {(WINHTTP, "64", "DefaultSecureProtocols"): dword(0x280), (WINHTTP, "32", "DefaultSecureProtocols"): dword(0x280)}, {},
     {(WINHTTP, "64", "DefaultSecureProtocols"): 0xA80, (WINHTTP, "32", "DefaultSecureProtocols"): 0xA80}),
    ("TLS 1.3-only bitmap gains TLS 1.2", "win11", {(WINHTTP, "64", "DefaultSecureProtocols"): dword(0x2000)}, {},
     {(WINHTTP, "64", "DefaultSecureProtocols"): 0x2800}),
    ("bitmap with TLS 1.2 and 1.3 is fine", "win11", {(WINHTTP, "64", "DefaultSecureProtocols"): dword(0x2800)}, {}, {}),
    ("non-DWORD bitmap on a modern host becomes TLS 1.2", "win10",
     {(WININET, "64", "SecureProtocols"): RegistryValue("string", "2688")}, {}, {(WININET, "64", "SecureProtocols"): 0x800}),
    ("legacy defaults get the enabling values", "win7", {}, {}, LEGACY_ABSENT),
    ("2008 R2 is legacy too", "2008r2", {}, {}, LEGACY_ABSENT),
    ("2012 needs the bitmaps, not SCHANNEL", "2012", {}, {}, SCHANNEL_ON),
    ("legacy explicit SSL3+TLS1.0 keeps its bits", "win7",
     {(CLIENT, "64", "Enabled"): dword(1), (CLIENT, "64", "DisabledByDefault"): dword(0),
      (WINHTTP, "64", "DefaultSecureProtocols"): dword(0xA0), (WINHTTP, "32", "DefaultSecureProtocols"): dword(0xA80),
      (WININET, "64", "SecureProtocols"): dword(0xA80)}, {},
     {(WINHTTP, "64", "DefaultSecureProtocols"): 0x8A0}),
    ("legacy already configured needs nothing", "win7",
     {(CLIENT, "64", "Enabled"): dword(1), (CLIENT, "64", "DisabledByDefault"): dword(0),
      (WINHTTP, "64", "DefaultSecureProtocols"): dword(0xA80), (WINHTTP, "32", "DefaultSecureProtocols"): dword(0x800),
      (WININET, "64", "SecureProtocols"): dword(0xA80)}, {}, {}),
    ("32-bit Windows has one registry view", "win7", {}, {"architecture": "x86"},
     {key: value for key, value in LEGACY_ABSENT.items() if key[1] == "64"}),
    ("server side only when asked", "win10", {(SERVER, "64", "Enabled"): dword(0)}, {}, {}),
    ("server side repaired when asked", "win10", {(SERVER, "64", "Enabled"): dword(0)}, {"server": True},
     {(SERVER, "64", "Enabled"): 1}),
    ("winhttp off leaves DefaultSecureProtocols alone", "win7", {}, {"winhttp": False},
     {key: value for key, value in LEGACY_ABSENT.items() if key[2] != "DefaultSecureProtocols"}),
    ("wininet off leaves SecureProtocols alone", "win10", {(WININET, "64", "SecureProtocols"): dword(0x80)}, {"wininet": False}, {}),
]


@pytest.mark.parametrize(("release", "values", "options", "expected"), [case[1:] for case in CASES], ids=[case[0] for case in CASES])
def test_plan(release: str, values: dict, options: dict, expected: dict) -> None:
    plan = run(release, values, **options)
    assert plan.failure is None
    assert changes_of(plan) == expected


def test_reboot_is_required_for_schannel_and_winhttp_but_not_wininet() -> None:
    wininet_only = run("win10", {(WININET, "64", "SecureProtocols"): dword(0x80)})
    assert [change.reboot_required for change in wininet_only.changes] == [False]
    schannel = run("win10", {(CLIENT, "64", "Enabled"): dword(0)})
    assert [change.reboot_required for change in schannel.changes] == [True]


@pytest.mark.parametrize("release", ["win7", "win10"])
def test_only_the_tls12_bit_is_ever_added(release: str) -> None:
    protocol_bits = (0x8, 0x20, 0x80, 0x200, 0x800, 0x2000)
    for size in range(len(protocol_bits) + 1):
        for combination in itertools.combinations(protocol_bits, size):
            before = sum(combination)
            plan = run(release, {(WINHTTP, "64", "DefaultSecureProtocols"): dword(before)})
            after = changes_of(plan).get((WINHTTP, "64", "DefaultSecureProtocols"), before)
            assert after & before == before, f"{before:#x} lost bits"
            assert after & ~before in (0, 0x800), f"{before:#x} -> {after:#x} turned on more than TLS 1.2"
            assert after & 0x800


def test_missing_kb3140245_blocks_but_still_writes_the_values() -> None:
    plan = run("win7", hotfixes=())
    assert changes_of(plan) == LEGACY_ABSENT
    assert plan.facts["kb3140245"] == "missing"
    assert len(plan.blockers) == 1 and "KB3140245" in plan.blockers[0]


def test_require_kb3140245_fails_without_changes() -> None:
    plan = run("2012", hotfixes=(), require_kb3140245=True)
    assert plan.failure and "KB3140245" in plan.failure
    assert plan.changes == []


def test_kb3140245_is_not_asked_of_modern_releases() -> None:
    plan = run("win10", hotfixes=(), require_kb3140245=True)
    assert plan.failure is None and plan.facts["kb3140245"] == "not_applicable"


@pytest.mark.parametrize(("release", "needle"), [("vista", "oldest release"), ("win7rtm", "Service Pack 1")])
def test_unsupported_releases_fail_with_the_prerequisite(release: str, needle: str) -> None:
    plan = run(release)
    assert plan.failure and needle in plan.failure
    assert plan.changes == [] and plan.facts["release_class"] == "unsupported"


def test_group_policy_without_tls12_is_reported_not_changed() -> None:
    plan = run("win10", {(POLICY, "64", "SecureProtocols"): dword(0x280)})
    assert plan.changes == []
    assert plan.facts["wininet_policy_secure_protocols"] == 0x280
    assert any("Group Policy" in blocker for blocker in plan.blockers)


def test_dotnet_values_only_for_installed_frameworks() -> None:
    plan = run("win10", dotnet=True, existing_keys=((NET4, "64"), (NET4, "32")))
    assert changes_of(plan) == {(NET4, view, name): 1 for view in ("64", "32") for name in tls12.DOTNET_VALUES}
    assert plan.facts["dotnet_frameworks_not_installed"] == [
        tls12.DOTNET_FRAMEWORKS[0], f"{tls12.DOTNET_FRAMEWORKS[0]} (32-bit view)"]
    assert not any(change.reboot_required for change in plan.changes)


def test_dotnet_already_set_needs_nothing() -> None:
    values = {(NET4, view, name): dword(1) for view in ("64", "32") for name in tls12.DOTNET_VALUES}
    plan = run("win11", values, dotnet=True, existing_keys=((NET4, "64"), (NET4, "32")))
    assert plan.changes == []


def test_probe_reads_each_key_once() -> None:
    refs = list(Tls12().registry_refs({**DEFAULTS, "server": True, "dotnet": True}))
    assert len(refs) == len(set(refs))
    assert RegistryRef(RegistryKey(WINHTTP, "32"), "DefaultSecureProtocols") in refs


def test_dotnet35_values_without_their_update_are_said_to_need_it() -> None:
    frameworks = (("HKLM\\SOFTWARE\\Microsoft\\.NETFramework\\v2.0.50727", "64"), ("HKLM\\SOFTWARE\\Microsoft\\.NETFramework\\v4.0.30319", "64"))
    plan = run("win7", dotnet=True, existing_keys=frameworks)
    assert any("KB3154518" in warning for warning in plan.warnings)
    with_update = run("win7", dotnet=True, existing_keys=frameworks, hotfixes=("KB3140245", "KB3154518"))
    assert not any("KB3154518" in warning for warning in with_update.warnings)
    assert not any("KB315451" in warning for warning in run("win10", dotnet=True, existing_keys=frameworks).warnings)


KB_FILE = "6.1.7601.23400"


@pytest.mark.parametrize(("winhttp", "hotfixes", "status", "hint"), [
    # The file decides, whatever the hotfix list says.
    ("6.1.7601.23400", ("KB3140245",), "installed", None),
    ("6.1.7601.23401", (), "installed", "does not show the update"),
    ("6.1.7601.17514", ("KB3140245",), "missing", "language pack"),
    ("6.1.7601.17514", (), "missing", None),
    # Compared as numbers, not as text: 6.1.7601.9999 is older than .23400 although '9' > '2'.
    ("6.1.7601.9999", (), "missing", None),
    (None, ("KB3140245",), "missing", "winhttp.dll not found"),
])
def test_kb3140245_is_decided_by_the_winhttp_dll_version_when_it_is_given(winhttp, hotfixes, status, hint) -> None:
    plan = run("win7", hotfixes=hotfixes, winhttp_dll=winhttp, kb3140245_file_versions={"6.1": KB_FILE})
    assert plan.facts["kb3140245"] == status and plan.facts["kb3140245_evidence"] == "file_version"
    assert bool(plan.blockers) == (status == "missing")
    if hint:
        assert any(hint in text for text in plan.blockers + plan.warnings)


def test_without_a_file_version_the_hotfix_list_decides_and_a_second_language_is_a_warning() -> None:
    single = run("win7", winhttp_dll="6.1.7601.23400")
    assert single.facts["kb3140245"] == "installed" and single.facts["kb3140245_evidence"] == "hotfix_list"
    assert single.warnings == []
    japanese = run("win7", winhttp_dll="6.1.7601.23400", languages=("en-US", "ja-JP"))
    assert japanese.facts["kb3140245"] == "installed"
    assert any("language pack" in warning and "kb3140245_file_versions.6.1" in warning for warning in japanese.warnings)
    missing = run("win7", hotfixes=())
    assert "kb3140245_file_versions.6.1" in missing.blockers[0]


def test_a_file_version_for_another_release_leaves_the_hotfix_list_in_charge() -> None:
    plan = run("2012", hotfixes=(), winhttp_dll="6.2.9200.30000", kb3140245_file_versions={"6.1": KB_FILE})
    assert plan.facts["kb3140245"] == "missing" and plan.facts["kb3140245_evidence"] == "hotfix_list"


@pytest.mark.parametrize(("versions", "needle"), [
    ({"6.3": KB_FILE}, "'6.3' is not a release"),
    ({"6.1": "6.1.7601"}, "kb3140245_file_versions.6.1"),
    ({"6.1": "6.1.7601.70000"}, "at most 65535"),
    ({"6.1": "6.1.7601.2\n3400"}, "'6.1.7601.2\\n3400'"),
    ({"6.1": 6.1}, "not a file version"),
])
def test_bad_kb3140245_file_versions_are_refused_before_contact(versions, needle) -> None:
    with pytest.raises(AnsibleActionFail, match=re.escape(needle)):
        Tls12().check_arguments({**DEFAULTS, "kb3140245_file_versions": versions})


ALICE, BOB, CAROL = "S-1-5-21-1-2-3-1104", "S-1-5-21-1-2-3-1105", "S-1-12-1-4-5-6-7"


def test_each_signed_in_users_wininet_box_is_reported_and_set_only_when_asked() -> None:
    users = {ALICE: ("CORP\\alice", 0xA0, None, True), BOB: ("CORP\\bob", None, None, True), CAROL: ("AzureAD\\carol", 0xA80, None, True)}
    reported = run("win10", users=users)
    assert changes_of(reported) == {} and len(reported.drift) == 1 and "CORP\\alice's WinINet SecureProtocols" in reported.drift[0]
    facts = {entry["user"]: entry for entry in reported.facts["wininet_users"]}
    # Bob set nothing: the machine-wide value or Windows' default applies, and it is never reported as his.
    assert (facts["CORP\\bob"]["set_by_user"], facts["CORP\\bob"]["secure_protocols"]) == (False, None)
    assert facts["AzureAD\\carol"]["secure_protocols"] == 0xA80
    fixed = run("win10", users=users, wininet_users="set")
    key = f"HKU\\{ALICE}\\{tls12.USER_WININET}"
    assert changes_of(fixed) == {(key, "64", "SecureProtocols"): 0x8A0} and fixed.drift == []
    assert run("win10", users=users, wininet_users="ignore").facts.get("wininet_users") is None


def test_a_user_policy_without_tls12_is_a_blocker_and_an_unloaded_hive_is_said() -> None:
    users = {ALICE: ("CORP\\alice", None, 0xA0, True), BOB: ("CORP\\bob", None, None, False)}
    plan = run("win10", users=users, wininet_users="set")
    assert changes_of(plan) == {} and any("CORP\\alice's WinINet SecureProtocols to 0xa0" in blocker for blocker in plan.blockers)
    assert {entry["user"]: entry["hive_loaded"] for entry in plan.facts["wininet_users"]} == {"CORP\\alice": True, "CORP\\bob": False}


def test_restore_may_put_back_a_users_value_and_nothing_else_of_their_hive() -> None:
    from ansible_collections.m365ops.activation.plugins.plugin_utils.registry import RegistryKey, RegistryRef
    managed = [entry for entry in Tls12.MANAGED if entry.per_user]
    ref = RegistryRef(RegistryKey(f"HKU\\{ALICE}\\{tls12.USER_WININET}"), "SecureProtocols")
    assert any(entry.covers(ref) for entry in managed)
    assert not any(entry.covers(RegistryRef(RegistryKey(f"HKU\\{ALICE}\\Software\\Other"), "SecureProtocols")) for entry in managed)
    assert not any(entry.covers(RegistryRef(RegistryKey(f"HKU\\.DEFAULT\\{tls12.USER_WININET}"), "SecureProtocols")) for entry in managed)


@pytest.mark.parametrize(("release", "shipped"), [("win7", "6.1.7601.17514"), ("2012", "6.2.9200.16384")])
def test_a_winhttp_dll_at_the_build_the_release_shipped_with_has_no_update_whatever_the_hotfix_list_says(release, shipped) -> None:
    """Review G26: no KB table is needed for the one case the file settles alone."""
    plan = run(release, winhttp_dll=shipped)
    assert plan.facts["kb3140245"] == "missing" and plan.facts["kb3140245_evidence"] == "shipped_build"
    assert f"is still at {shipped}" in plan.blockers[0] and "install the update again" in plan.blockers[0]
