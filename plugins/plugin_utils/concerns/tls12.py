# -*- coding: utf-8 -*-
# Copyright: m365ops.activation contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""TLS 1.2 for Microsoft 365 activation (article: "Windows 8.1 and earlier").

Office's identity client needs TLS 1.2 from SCHANNEL, WinHTTP and WinINet.
- Windows 8.1 / Server 2012 R2 and later negotiate TLS 1.2 by default, so only values that
  switch it off (a hardening script, an old GPO) are repaired; absent values stay absent.
- Windows 7 SP1 / Server 2008 R2 SP1 ship TLS 1.2 off in SCHANNEL for clients, so the enabling
  values are written there; Windows 8 / Server 2012 enable it in SCHANNEL but not in WinHTTP, so
  only the protocol bitmaps are written there. WinHTTP honours DefaultSecureProtocols on those
  releases only with update KB3140245 installed (the update does not write the value itself).
  Whether the update is in place is a property of winhttp.dll, not of the hotfix list: a language pack
  installed after the update replaces its payload while the list still shows it, and a later rollup can
  carry the file without listing the update. Given the KB's file version for the release
  (``kb3140245_file_versions``), both copies of winhttp.dll decide; without it the hotfix list does, and
  the result says that it is only a hint.
WinINet's "Use TLS 1.2" box is per user: each signed-in user's value in their own hive (read
through HKEY_USERS, no logon of theirs needed) is reported, and with ``wininet_users: set`` given the TLS 1.2 bit; the
machine-wide value is a fallback, never reported as a user's setting. A user policy without TLS 1.2 is a blocker. With
``wininet_signed_out`` the users who are not signed in are reached too, their hive loaded around the read and the change.
Protocol bits are only ever added: SSL 2/3 are never turned on, and TLS 1.0/1.1 are never
re-enabled where they were off (KB5017811 turned them off on Windows 10 on purpose).
"""

from __future__ import annotations

import typing as t

from ansible.errors import AnsibleActionFail

from ansible_collections.m365ops.activation.plugins.plugin_utils.engine.concern import Concern, HostState, Plan, ProbeContext, Reason
from ansible_collections.m365ops.activation.plugins.plugin_utils.hives import (
    PROFILE_LIST, around, loaded_around, merged, profiles_left_out, profiles_without_hive, signed_out_profiles,
)
from ansible_collections.m365ops.activation.plugins.plugin_utils.registry import (
    ManagedValues, RegistryKey, RegistryRef, RegistryValue, ValueChange, dword_of,
)
from ansible_collections.m365ops.activation.plugins.plugin_utils.user_sessions import signed_in_users, unresolved_users

SCHANNEL_TLS12 = r"HKLM\SYSTEM\CurrentControlSet\Control\SecurityProviders\SCHANNEL\Protocols\TLS 1.2"
WINHTTP = r"HKLM\SOFTWARE\Microsoft\Windows\CurrentVersion\Internet Settings\WinHttp"
WININET = r"HKLM\SOFTWARE\Microsoft\Windows\CurrentVersion\Internet Settings"
# "Turn off encryption support" GPO; the exact policy key is unconfirmed, so it is only reported.
WININET_POLICY = r"HKLM\SOFTWARE\Policies\Microsoft\Windows\CurrentVersion\Internet Settings"
# The same two, relative to a user's hive (HKU\<SID>).
USER_WININET = r"Software\Microsoft\Windows\CurrentVersion\Internet Settings"
USER_WININET_POLICY = r"Software\Policies\Microsoft\Windows\CurrentVersion\Internet Settings"
DOTNET_FRAMEWORKS = (r"HKLM\SOFTWARE\Microsoft\.NETFramework\v2.0.50727", r"HKLM\SOFTWARE\Microsoft\.NETFramework\v4.0.30319")
DOTNET_VALUES = ("SchUseStrongCrypto", "SystemDefaultTlsVersions")
# The .NET Framework 3.5.1 updates that make v2.0.50727 honour those values (Microsoft's "Enable TLS 1.2 on clients", docs/sources.md section 1).
DOTNET35_TLS_UPDATES = {(6, 1): "KB3154518", (6, 2): "KB3154519", (6, 3): "KB3154520"}

TLS1_0 = 0x80
TLS1_2 = 0x800
TLS1_1 = 0x200
# Written where WinHTTP's value is absent on Windows 7/2008 R2/2012: TLS 1.2 added to the TLS 1.0 those
# releases use by default (0xA0 = SSL 3.0 + TLS 1.0); SSL 3.0 is left off.
LEGACY_PROTOCOLS_WHEN_ABSENT = TLS1_0 | TLS1_2
# WinINet's default with IE11 (the only supported IE on these releases) is TLS 1.0 + 1.1 + 1.2: where its value is
# absent, the Easy Fix's 0xA80 keeps TLS 1.1, which 0x880 would take away.
WININET_WHEN_ABSENT = TLS1_0 | TLS1_1 | TLS1_2
KB3140245 = "KB3140245"
WINHTTP_DLLS = (r"%SystemRoot%\System32\winhttp.dll", r"%SystemRoot%\SysWOW64\winhttp.dll")
# winhttp.dll as the releases KB3140245 applies to shipped it (Windows 7 SP1 and Server 2008 R2 SP1: the SP1 build;
# Server 2012: its RTM build): a copy still at that build carries no update, whatever the hotfix list says.
SHIPPED_WINHTTP = {"6.1": "6.1.7601.17514", "6.2": "6.2.9200.16384"}
UI_LANGUAGES = r"HKLM\SYSTEM\CurrentControlSet\Control\MUI\UILanguages"
KB3140245_RELEASES = ("6.1", "6.2")

LEGACY = "legacy"      # 6.1 SP1, 6.2: TLS 1.2 must be switched on (SCHANNEL on 6.1 only, WinHTTP on both)
MODERN = "modern"      # 6.3 and later: TLS 1.2 is on unless something switched it off
# SCHANNEL enables TLS 1.1/1.2 for clients by default from Windows 8 / Server 2012 (6.2).
SCHANNEL_ON_BY_DEFAULT = (6, 2)


def release_class(state: HostState) -> tuple[str | None, str | None]:
    """Return (class, None) or (None, the reason the release is not supported)."""
    windows = state.windows
    if windows.version < (6, 1):
        return None, (f"{windows.name} cannot use TLS 1.2 for Microsoft 365 activation; "
                      "Windows 7 SP1 / Server 2008 R2 SP1 is the oldest release this module supports")
    if windows.version == (6, 1) and windows.service_pack < 1:
        return None, (f"{windows.name} has no Service Pack 1; install SP1 first (article step 1: "
                      "'make sure Service Pack 1 is installed'), then run this module again")
    return (LEGACY if windows.version < (6, 3) else MODERN), None


def schannel_refs(side: str) -> tuple[RegistryRef, RegistryRef]:
    key = RegistryKey(f"{SCHANNEL_TLS12}\\{side}")
    return RegistryRef(key, "Enabled"), RegistryRef(key, "DisabledByDefault")


def _views(state: HostState) -> tuple[str, ...]:
    return ("64", "32") if state.windows.has_wow64 else ("64",)


def plan_schannel(plan: Plan, state: HostState, cls: str, side: str) -> None:
    enabled_ref, disabled_ref = schannel_refs(side)
    enabled = state.registry.get(enabled_ref)
    disabled = state.registry.get(disabled_ref)
    # Any non-zero Enabled counts as on: some guides write 0xFFFFFFFF.
    if (enabled is None and cls == LEGACY) or (enabled is not None and not dword_of(enabled)):
        why = "absent, and this release ships TLS 1.2 off" if enabled is None else "set to 0, so TLS 1.2 is never negotiated"
        plan.set_value(state, enabled_ref, RegistryValue.dword(1), f"SCHANNEL TLS 1.2 {side} Enabled is {why}", True)
    if (disabled is None and cls == LEGACY) or (disabled is not None and dword_of(disabled) != 0):
        why = "absent, and this release defaults it to on" if disabled is None else "non-zero, so TLS 1.2 is off unless an app asks for it"
        plan.set_value(state, disabled_ref, RegistryValue.dword(0), f"SCHANNEL TLS 1.2 {side} DisabledByDefault is {why}", True)


def plan_protocol_bitmap(plan: Plan, state: HostState, cls: str, ref: RegistryRef, label: str, reboot: bool,
                         when_absent: int = LEGACY_PROTOCOLS_WHEN_ABSENT) -> None:
    """Add the TLS 1.2 bit to a protocol bitmap (WinHTTP DefaultSecureProtocols, WinINet SecureProtocols)."""
    current = state.registry.get(ref)
    bits = dword_of(current)
    if current is None:
        if cls == LEGACY:
            plan.set_value(state, ref, RegistryValue.dword(when_absent), f"{label} is absent, so this release offers no TLS 1.2", reboot)
        return
    if bits is None:
        plan.set_value(state, ref, RegistryValue.dword(when_absent if cls == LEGACY else TLS1_2),
                       f"{label} is a {current.type}, not a DWORD bitmap", reboot)
    elif not bits & TLS1_2:
        plan.set_value(state, ref, RegistryValue.dword(bits | TLS1_2),
                       f"{label} is {bits:#x}, which lacks TLS 1.2 (0x800)", reboot)


class Tls12(Concern):
    NAME = "tls12"
    FACTS_KEY = "tls12"
    MANAGED = (
        ManagedValues(f"{SCHANNEL_TLS12}\\Client", ("Enabled", "DisabledByDefault"), kinds=("dword",)),
        ManagedValues(f"{SCHANNEL_TLS12}\\Server", ("Enabled", "DisabledByDefault"), kinds=("dword",)),
        ManagedValues(WINHTTP, ("DefaultSecureProtocols",), ("64", "32"), kinds=("dword",)),
        ManagedValues(WININET, ("SecureProtocols",), kinds=("dword",)),
        ManagedValues(USER_WININET, ("SecureProtocols",), per_user=True, kinds=("dword",)),
        *(ManagedValues(framework, DOTNET_VALUES, ("64", "32"), kinds=("dword",)) for framework in DOTNET_FRAMEWORKS),
    )
    ARGUMENT_SPEC = {
        "server": {"type": "bool", "default": False},
        "winhttp": {"type": "bool", "default": True},
        "wininet": {"type": "bool", "default": True},
        "wininet_users": {"type": "str", "default": "report", "choices": ["report", "set", "ignore"]},
        "wininet_signed_out": {"type": "bool", "default": False},
        "dotnet": {"type": "bool", "default": False},
        "require_kb3140245": {"type": "bool", "default": False},
        "kb3140245_file_versions": {"type": "dict", "default": {}},
    }

    def check_arguments(self, args: dict[str, t.Any]) -> None:
        if args["wininet_signed_out"] and (not args["wininet"] or args["wininet_users"] == "ignore"):
            raise AnsibleActionFail("wininet_signed_out: reaches the users' own WinINet value, which wininet: false or "
                                    "wininet_users: ignore leaves alone; drop one of them")
        check_file_versions(args["kb3140245_file_versions"])

    def probe_ops(self, args: dict[str, t.Any], context: ProbeContext) -> dict[str, dict[str, t.Any]]:
        ops = {"winhttp_dlls": {"op": "file_stat", "paths": list(WINHTTP_DLLS)},
               "ui_languages": {"op": "registry_enum", "key": UI_LANGUAGES, "view": "64"}}
        if _per_user(args):
            settings, policies = user_wininet_reads()
            ops.update(sessions={"op": "user_sessions"}, user_wininet=settings, user_wininet_policies=policies)
            if args["wininet_signed_out"]:
                ops["profiles"] = PROFILE_LIST
        return ops

    def followup_ops(self, args: dict[str, t.Any], state: HostState) -> dict[str, dict[str, t.Any]]:
        """With ``wininet_signed_out``: the hives of users who are not signed in, loaded for the reads and unloaded after."""
        settings, policies = user_wininet_reads()
        return around(_signed_out(args, state), {"user_wininet": settings, "user_wininet_policies": policies})

    def registry_refs(self, args: dict[str, t.Any]) -> t.Iterable[RegistryRef]:
        yield from schannel_refs("Client")
        if args["server"]:
            yield from schannel_refs("Server")
        for view in ("64", "32"):
            if args["winhttp"]:
                yield RegistryRef(RegistryKey(WINHTTP, view), "DefaultSecureProtocols")
            if args["dotnet"]:
                for framework in DOTNET_FRAMEWORKS:
                    for name in DOTNET_VALUES:
                        yield RegistryRef(RegistryKey(framework, view), name)
        if args["wininet"]:
            yield RegistryRef(RegistryKey(WININET), "SecureProtocols")
            yield RegistryRef(RegistryKey(WININET_POLICY), "SecureProtocols")

    def plan(self, args: dict[str, t.Any], state: HostState) -> Plan:
        return plan_tls12(args, state)


def check_file_versions(versions: t.Mapping[str, t.Any]) -> None:
    for release, version in versions.items():
        if release not in KB3140245_RELEASES:
            raise AnsibleActionFail(f"kb3140245_file_versions: {release!r} is not a release KB3140245 applies to; "
                                    f"use {' or '.join(KB3140245_RELEASES)}")
        if file_version(version) is None:
            raise AnsibleActionFail(f"kb3140245_file_versions.{release}: {str(version)[:40]!r} is not a file version such as "
                                    "6.1.7601.12345 (four numbers of at most 65535, from the KB's file information table)")


def _per_user(args: dict[str, t.Any]) -> bool:
    return bool(args["wininet"]) and args["wininet_users"] != "ignore"


def user_wininet_reads() -> list[dict[str, t.Any]]:
    """Every loaded user hive's own SecureProtocols, and its user-side policy."""
    return [{"op": "registry_read_user_hives", "subkey": USER_WININET, "names": ["SecureProtocols"]},
            {"op": "registry_read_user_hives", "subkey": USER_WININET_POLICY, "names": ["SecureProtocols"]}]


def _signed_out(args: dict[str, t.Any], state: HostState) -> list[dict[str, t.Any]]:
    """With ``wininet_signed_out``: the profiles of users who are not signed in whose hive can be loaded."""
    if not (_per_user(args) and args["wininet_signed_out"]) or not state.asked("profiles"):
        return []
    sessions = state.probe("sessions").data
    return signed_out_profiles(state.probe("profiles").data, signed_in_users(sessions), bool(unresolved_users(sessions)))


def file_version(text: t.Any) -> tuple[int, int, int, int] | None:
    """``major.minor.build.private`` as numbers, or None when ``text`` is not such a version."""
    parts = str(text).split(".") if isinstance(text, str) else []
    if len(parts) != 4 or not all(part.isascii() and part.isdigit() and len(part) <= 5 and int(part) <= 0xFFFF for part in parts):
        return None
    return int(parts[0]), int(parts[1]), int(parts[2]), int(parts[3])


def kb3140245_status(args: dict[str, t.Any], state: HostState, plan: Plan) -> tuple[str, str | None]:
    """(installed | missing, why it is missing) for a Windows 7 SP1 / 2008 R2 / 2012 host, with the evidence in ``plan.facts``."""
    windows = state.windows
    files, languages = state.probe("winhttp_dlls").data.get("files", {}), state.probe("ui_languages").data.get("subkeys", [])
    copies = {entry.get("expanded", path): entry.get("version") for path, entry in files.items()
              if entry.get("exists") and (path == WINHTTP_DLLS[0] or windows.has_wow64)}
    listed = windows.has_hotfix(KB3140245)
    plan.facts.update(winhttp_dll_versions=copies, ui_languages=sorted(languages))
    release = f"{windows.version[0]}.{windows.version[1]}"
    wanted = args["kb3140245_file_versions"].get(release)
    if wanted is None:
        plan.facts["kb3140245_evidence"] = "hotfix_list"
        if not listed:
            return "missing", (f"the hotfix list of {windows.name} does not show it (a later rollup may carry winhttp.dll without "
                               f"listing it: set kb3140245_file_versions.{release} from the KB's file table to decide by the file)")
        shipped = SHIPPED_WINHTTP.get(release)
        at_shipped = sorted(path for path, version in copies.items() if shipped and file_version(version) == file_version(shipped))
        if at_shipped:
            # The one fact that needs no KB table: a winhttp.dll at the build the release shipped with has no update in it,
            # whatever the hotfix list says (review G26).
            plan.facts["kb3140245_evidence"] = "shipped_build"
            return "missing", (f"the hotfix list shows {KB3140245}, but {', '.join(at_shipped)} is still at {shipped}, the build "
                               f"{windows.name} shipped with: the update is not in effect (a language pack installed after it puts the "
                               "old file back); install the update again")
        if len(languages) > 1:
            plan.warnings.append(f"{KB3140245} is in the hotfix list, but {windows.name} has {len(languages)} display languages "
                                 f"({', '.join(sorted(languages))}): a language pack installed after the update replaces its winhttp.dll. "
                                 f"Set kb3140245_file_versions.{release} from the KB's file table to decide by the file.")
        return "installed", None
    plan.facts["kb3140245_evidence"] = "file_version"
    minimum = file_version(wanted)
    older = {path: version for path, version in copies.items() if file_version(version) is None or file_version(version) < minimum}
    if not copies or older:
        shown = ", ".join(f"{path} {version or 'without a version'}" for path, version in sorted(older.items())) or "winhttp.dll not found"
        hint = (" although the hotfix list shows it: a language pack installed after the update replaced the file, so the update "
                "must be installed again") if listed else ""
        return "missing", f"winhttp.dll is older than {wanted} ({shown}){hint}"
    if not listed:
        plan.warnings.append(f"winhttp.dll carries {KB3140245} ({wanted} or later) although the hotfix list does not show the update "
                             "(a later rollup installed it)")
    return "installed", None


def plan_tls12(args: dict[str, t.Any], state: HostState) -> Plan:
    plan = Plan()
    windows = state.windows
    cls, unsupported = release_class(state)
    plan.facts = {"os": windows.name, "release_class": cls or "unsupported", "kb3140245": "not_applicable"}
    if unsupported:
        plan.failure = unsupported
        return plan
    if cls == LEGACY:
        plan.facts["kb3140245"], why = kb3140245_status(args, state, plan)
        if why:
            message = (f"{KB3140245} is not in place on {windows.name}: {why}. WinHTTP ignores DefaultSecureProtocols until it is, "
                       "so Office keeps failing with 0xCAA70007/0xCAA80000. Install it (ansible.windows.win_updates or the .msu) and reboot.")
            if args["require_kb3140245"]:
                plan.failure = message
                return plan
            plan.blockers.append(Reason("tls12.kb3140245_missing", message))

    schannel_cls = MODERN if windows.version >= SCHANNEL_ON_BY_DEFAULT else cls
    plan_schannel(plan, state, schannel_cls, "Client")
    if args["server"]:
        plan_schannel(plan, state, schannel_cls, "Server")
    if args["winhttp"]:
        for view in _views(state):
            label = "WinHTTP DefaultSecureProtocols" + ("" if view == "64" else " (32-bit view)")
            plan_protocol_bitmap(plan, state, cls, RegistryRef(RegistryKey(WINHTTP, view), "DefaultSecureProtocols"), label, True)
    if args["wininet"]:
        plan_protocol_bitmap(plan, state, cls, RegistryRef(RegistryKey(WININET), "SecureProtocols"),
                             "WinINet SecureProtocols (Internet Options 'Use TLS 1.2', machine-wide fallback)", False, WININET_WHEN_ABSENT)
        policy = dword_of(state.registry.get(RegistryRef(RegistryKey(WININET_POLICY), "SecureProtocols")))
        plan.facts["wininet_policy_secure_protocols"] = policy
        if policy is not None and not policy & TLS1_2:
            plan.blockers.append(Reason(
                "tls12.group_policy",
                f"Group Policy sets WinINet SecureProtocols to {policy:#x} (no TLS 1.2) under {WININET_POLICY}; "
                "policy wins over the value this module sets. Change the GPO 'Turn off encryption support'."))
        if args["wininet_users"] != "ignore":
            plan_user_wininet(args, state, plan)
    if args["dotnet"]:
        skipped = []
        for view in _views(state):
            for framework in DOTNET_FRAMEWORKS:
                key = RegistryKey(framework, view)
                if not state.registry.key_exists(key):
                    skipped.append(str(key))
                    continue
                for name in DOTNET_VALUES:
                    plan.set_value(state, RegistryRef(key, name), RegistryValue.dword(1),
                                   f".NET Framework {name} is not 1 under {key}; .NET apps would not use TLS 1.2 by default")
        plan.facts["dotnet_frameworks_not_installed"] = skipped
        update = DOTNET35_TLS_UPDATES.get(windows.version)
        dotnet35 = any(state.registry.key_exists(RegistryKey(DOTNET_FRAMEWORKS[0], view)) for view in _views(state))
        if update and dotnet35 and not windows.has_hotfix(update):
            # The hotfix list cannot prove absence (a later rollup carries the fix), so this is a warning, not a blocker.
            plan.warnings.append(f".NET Framework 3.5 (v2.0.50727) uses SchUseStrongCrypto/SystemDefaultTlsVersions only with the "
                                 f".NET 3.5.1 TLS update ({update}) or a later rollup, which the hotfix list of {windows.name} does not show")
    return plan


def plan_user_wininet(args: dict[str, t.Any], state: HostState, plan: Plan) -> None:
    """Each user's own WinINet SecureProtocols: reported, and given the TLS 1.2 bit with ``wininet_users: set``; the
    signed-in users' from their loaded hives, and with ``wininet_signed_out`` the others' from hives loaded around it."""
    sessions, settings, policies = (state.probe(name).data for name in ("sessions", "user_wininet", "user_wininet_policies"))
    seen: list[dict[str, t.Any]] = []
    for sid, user in sorted(signed_in_users(sessions).items(), key=lambda item: item[1].lower()):
        seen.append(_plan_user(args, plan, sid, user, settings, policies, plan.changes))
    plan.blockers += [Reason("tls12.user_unknown", why) for why in unresolved_users(sessions)]
    profiles = _signed_out(args, state)
    if profiles:
        settings, policies = (merged(state.followups, name).data for name in ("user_wininet", "user_wininet_policies"))
        for profile in profiles:
            changes: list[t.Any] = []
            seen.append({**_plan_user(args, plan, profile["sid"], profile["user"], settings, policies, changes), "signed_in": False})
            plan.changes += loaded_around(profile, changes, "its hive is loaded for the change")
    if _per_user(args) and args["wininet_signed_out"] and state.asked("profiles"):
        plan.facts["profiles_without_hive"] = profiles_without_hive(state.probe("profiles").data)
        plan.facts["profiles_left_out"] = profiles_left_out(state.probe("profiles").data, signed_in_users(sessions), bool(unresolved_users(sessions)))
    plan.facts["wininet_users"] = seen


def _plan_user(args: dict[str, t.Any], plan: Plan, sid: str, user: str, settings: t.Mapping[str, t.Any], policies: t.Mapping[str, t.Any],
               changes: list[t.Any]) -> dict[str, t.Any]:
    """One user's value and policy from ``registry_read_user_hives`` answers: the change into ``changes``, or drift or a blocker."""
    hive = (settings.get("hives") or {}).get(sid)
    if not isinstance(hive, dict):
        return {"user": user, "sid": sid, "hive_loaded": False, "signed_in": True}
    value = RegistryValue.from_agent((hive.get("values") or {}).get("SecureProtocols"))
    policy = dword_of(RegistryValue.from_agent(((((policies.get("hives") or {}).get(sid) or {}).get("values")) or {}).get("SecureProtocols")))
    bits = dword_of(value)
    seen = {"user": user, "sid": sid, "hive_loaded": True, "signed_in": True, "secure_protocols": bits if value is not None else None,
            "set_by_user": value is not None, "policy": policy}
    if policy is not None and not policy & TLS1_2:
        plan.blockers.append(Reason(
            "tls12.user_group_policy",
            f"Group Policy sets {user}'s WinINet SecureProtocols to {policy:#x} (no TLS 1.2) in the user's policy "
            "key; it wins over the user's value. Change the GPO 'Turn off encryption support' (User Configuration)."))
    if value is None or (bits is not None and bits & TLS1_2):
        # Absent: the machine-wide value or Windows' default applies; nothing of the user's to change.
        return seen
    shown = f"{bits:#x}" if bits is not None else f"a {value.type}"
    reason = f"{user}'s WinINet SecureProtocols (Internet Options 'Use TLS 1.2') is {shown}, which lacks TLS 1.2 (0x800)"
    if args["wininet_users"] == "set":
        ref = RegistryRef(RegistryKey(f"HKU\\{sid}\\{USER_WININET}"), "SecureProtocols")
        changes.append(ValueChange(ref, value, RegistryValue.dword(bits | TLS1_2 if bits is not None else WININET_WHEN_ABSENT), reason))
    else:
        plan.drift.append(Reason("tls12.user_wininet", f"{reason}; wininet_users: set adds it"))
    return seen
