"""The TLS 1.2 decision over many starting states (WINDOWS_FACTS section 1)."""
from __future__ import annotations

import itertools

import pytest

from ansible_collections.m365ops.activation.plugins.action import win_tls12
from ansible_collections.m365ops.activation.plugins.action.win_tls12 import ActionModule, plan_tls12
from ansible_collections.m365ops.activation.plugins.plugin_utils.registry import RegistryKey, RegistryRef, RegistryValue
from hoststate import changes_of, dword, make_state

CLIENT = win_tls12.SCHANNEL_TLS12 + r"\Client"
SERVER = win_tls12.SCHANNEL_TLS12 + r"\Server"
WINHTTP = win_tls12.WINHTTP
WININET = win_tls12.WININET
POLICY = win_tls12.WININET_POLICY
NET4 = win_tls12.DOTNET_FRAMEWORKS[1]

DEFAULTS = {"server": False, "winhttp": True, "wininet": True, "dotnet": False, "require_kb3140245": False}


def run(release: str, values=None, **kwargs):
    args = {**DEFAULTS, **{key: value for key, value in kwargs.items() if key in DEFAULTS}}
    extra = {key: value for key, value in kwargs.items() if key not in DEFAULTS}
    refs = list(ActionModule.registry_refs(None, args))
    return plan_tls12(args, make_state(release, refs, values, **extra))


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
    assert changes_of(plan) == {(NET4, view, name): 1 for view in ("64", "32") for name in win_tls12.DOTNET_VALUES}
    assert plan.facts["dotnet_frameworks_not_installed"] == [
        win_tls12.DOTNET_FRAMEWORKS[0], f"{win_tls12.DOTNET_FRAMEWORKS[0]} (32-bit view)"]
    assert not any(change.reboot_required for change in plan.changes)


def test_dotnet_already_set_needs_nothing() -> None:
    values = {(NET4, view, name): dword(1) for view in ("64", "32") for name in win_tls12.DOTNET_VALUES}
    plan = run("win11", values, dotnet=True, existing_keys=((NET4, "64"), (NET4, "32")))
    assert plan.changes == []


def test_probe_reads_each_key_once() -> None:
    refs = list(ActionModule.registry_refs(None, {**DEFAULTS, "server": True, "dotnet": True}))
    assert len(refs) == len(set(refs))
    assert RegistryRef(RegistryKey(WINHTTP, "32"), "DefaultSecureProtocols") in refs


def test_dotnet35_values_without_their_update_are_said_to_need_it() -> None:
    frameworks = (("HKLM\\SOFTWARE\\Microsoft\\.NETFramework\\v2.0.50727", "64"), ("HKLM\\SOFTWARE\\Microsoft\\.NETFramework\\v4.0.30319", "64"))
    plan = run("win7", dotnet=True, existing_keys=frameworks)
    assert any("KB3154518" in warning for warning in plan.warnings)
    with_update = run("win7", dotnet=True, existing_keys=frameworks, hotfixes=("KB3140245", "KB3154518"))
    assert not any("KB3154518" in warning for warning in with_update.warnings)
    assert not any("KB315451" in warning for warning in run("win10", dotnet=True, existing_keys=frameworks).warnings)
