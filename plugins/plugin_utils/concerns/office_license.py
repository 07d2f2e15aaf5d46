# -*- coding: utf-8 -*-
# Copyright: m365ops.activation contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Microsoft 365 Apps activation state reset for every signed-in user (the article's link to "Reset Microsoft 365 Apps
for enterprise activation state"; docs/sources.md section 8), the manual equivalent of OLicenseCleanup.

Per user signed in interactively: the license caches under their %LOCALAPPDATA% (vNext ``Microsoft\\Office\\Licenses``,
and ``Microsoft\\Office\\16.0\\Licensing``, where shared computer activation keeps its tokens) are moved to a dated
folder beside them (or removed, with ``files: delete``), in the user's own session; their
``HKCU\\Software\\Microsoft\\Office\\16.0\\Common\\Licensing`` and ``\\Identity`` are emptied through HKEY_USERS, every
value into the backup records, which restore puts back. The Office credentials are m365ops.activation.win_office_credentials'
step (the office_license role runs both). Office open in a user's session blocks that user: Office would write the
state again. Nothing left to remove is compliant; nobody signed in is "no user session".
"""

from __future__ import annotations

import datetime
import typing as t
from dataclasses import dataclass

from ansible.errors import AnsibleActionFail

from ansible_collections.m365ops.activation.plugins.plugin_utils.concerns.office_update import APPS
from ansible_collections.m365ops.activation.plugins.plugin_utils.engine.agent import OpResult
from ansible_collections.m365ops.activation.plugins.plugin_utils.engine.changes import DiffEntry
from ansible_collections.m365ops.activation.plugins.plugin_utils.engine.concern import Concern, HostState, Plan, ProbeContext, Reason
from ansible_collections.m365ops.activation.plugins.plugin_utils.facts.click_to_run import ClickToRun, click_to_run_facts
from ansible_collections.m365ops.activation.plugins.plugin_utils.hives import (
    PROFILE_LIST, around, loaded_around, merged, profiles_left_out, profiles_without_hive, signed_out_profiles,
)
from ansible_collections.m365ops.activation.plugins.plugin_utils.registry import (
    KeyRemoval, ManagedValues, RegistryKey, RegistryRef, RegistryValue, ValueChange, value_problem,
)
from ansible_collections.m365ops.activation.plugins.plugin_utils.user_sessions import NO_SESSION, USERS_OPTION, reach, session_answers, unresolved_users
from ansible_collections.m365ops.activation.plugins.plugin_utils.user_sessions import signed_in_users

LICENSING = r"Software\Microsoft\Office\16.0\Common\Licensing"
IDENTITY = r"Software\Microsoft\Office\16.0\Common\Identity"
CACHES = (r"%LOCALAPPDATA%\Microsoft\Office\Licenses", r"%LOCALAPPDATA%\Microsoft\Office\16.0\Licensing")
# The read of shared computer activation's token folder where SCLCacheOverride moved it (a follow-up: its path is read first).
TOKEN_CACHE = "token_folder"
# What Microsoft's OLicenseCleanup.vbs and signoutofwamaccounts.ps1 clear and this reset does not (G5), said in every result.
NOT_CLEARED = (
    "WAM (Web Account Manager) accounts, through which Office signs in on Entra ID joined, hybrid joined and workplace-joined "
    "devices: Microsoft's signoutofwamaccounts.ps1 signs them out",
    "the users' Office 16.0 Common\\Internet\\WebServiceCache, Common\\ServicesManagerCache and Registration keys, and Click-to-Run's "
    "*.EmailAddress, *.TenantId and ProductKeys values, which OLicenseCleanup.vbs also resets",
    "volume license product keys (ospp.vbs /unpkey)",
)


@dataclass(frozen=True)
class CacheRemoval:
    """One license cache folder of one user, moved aside (or removed) in that user's session."""

    sid: str
    user: str
    path: str
    files: tuple[str, ...]
    move_to: str | None
    timeout_seconds: int
    reason: str
    reboot_required: bool = False
    own: bool = False

    @property
    def target(self) -> str:
        return f"{self.user}'s {self.path}"

    def to_op(self) -> dict[str, t.Any]:
        return {"op": "user_session_write", **reach(self.own, [self.sid]), "timeout_seconds": self.timeout_seconds,
                "ops": [{"op": "directory_remove", "path": self.path, "move_to": self.move_to}]}

    def as_result(self) -> dict[str, t.Any]:
        return {"user": self.user, "sid": self.sid, "path": self.path, "files": list(self.files), "moved_to": self.move_to,
                "reason": self.reason}

    def diff(self) -> DiffEntry:
        return DiffEntry(("files", self.sid, self.path), (f"[{self.user} {self.path}]", f"[-{self.user} {self.path}]"),
                         ("\n".join(self.files), ""), self.path)

    def backup_record(self, applied: dict[str, t.Any]) -> dict[str, t.Any]:
        # Files are not restored by restore; where they were moved is said, so a person can put them back.
        return {"kind": "action", "user": self.user, "sid": self.sid, "removed_directory": self.path, "files": list(self.files),
                "moved_to": self.move_to}


@dataclass(frozen=True)
class ProfileCacheRemoval(CacheRemoval):
    """A cache folder of a user who is not signed in, by its path in the profile, moved or removed as the administrator."""

    def to_op(self) -> dict[str, t.Any]:
        return {"op": "directory_remove", "path": self.path, "move_to": self.move_to}


class OfficeLicense(Concern):
    NAME = "office_license"
    FACTS_KEY = "office_license"
    MANAGED = (ManagedValues(LICENSING, ("*",), per_user=True, subtree=True), ManagedValues(IDENTITY, ("*",), per_user=True, subtree=True))
    ARGUMENT_SPEC = {
        "files": {"type": "str", "default": "move", "choices": ["move", "delete"]},
        "timeout_seconds": {"type": "int", "default": 60},
        "users": USERS_OPTION,
        "signed_out": {"type": "bool", "default": False},
    }

    def check_arguments(self, args: dict[str, t.Any]) -> None:
        if not 5 <= args["timeout_seconds"] <= 600:
            raise AnsibleActionFail(f"timeout_seconds: must be 5 to 600, not {args['timeout_seconds']}")
        # One stamp per task: the dated folder a real run moves the caches to.
        args["stamp"] = datetime.datetime.now(datetime.timezone.utc).strftime("%Y%m%dT%H%M%SZ")

    def registry_refs(self, args: dict[str, t.Any]) -> t.Iterable[RegistryRef]:
        return ClickToRun().registry_refs(args)

    def probe_ops(self, args: dict[str, t.Any], context: ProbeContext) -> dict[str, dict[str, t.Any]]:
        ops = {"sessions": {"op": "user_sessions"},
               "licensing": {"op": "registry_read_user_hives", "subkey": LICENSING, "tree": True},
               "identity": {"op": "registry_read_user_hives", "subkey": IDENTITY, "tree": True},
               # The same task reads each user's work account: where Windows reports a join, Office signs in through WAM.
               "caches": {"op": "user_session_read", **reach(args["users"] == "become"),
                          "ops": [{"op": "directory_stat", "paths": list(CACHES)}, {"op": "work_account"}], "timeout_seconds": args["timeout_seconds"]},
               "processes": {"op": "process_list", "names": list(APPS)}}
        return {**ops, "profiles": PROFILE_LIST} if args["signed_out"] else ops

    def followup_ops(self, args: dict[str, t.Any], state: HostState) -> dict[str, dict[str, t.Any]]:
        """Signed-out users' hives, loaded for the reads and unloaded after (only with ``signed_out``), and the token
        folder SCLCacheOverride names, read in each user's session, where its environment variables are theirs."""
        folder = token_folder(state)
        token = {TOKEN_CACHE: self._token_read(args, folder)} if folder else {}
        return {**offline_reads(offline_profiles(args, state)), **token}

    def _token_read(self, args: dict[str, t.Any], folder: str) -> dict[str, t.Any]:
        return {"op": "user_session_read", **reach(args["users"] == "become"), "ops": [{"op": "directory_stat", "paths": [folder]}],
                "timeout_seconds": args["timeout_seconds"]}

    def plan(self, args: dict[str, t.Any], state: HostState) -> Plan:
        plan = Plan()
        sessions, licensing, identity, caches, processes = (state.probe(name).data for name in ("sessions", "licensing", "identity", "caches",
                                                                                                "processes"))
        own = args["users"] == "become"
        # The become user is whoever the agent runs as: named by the answer of its own session.
        users = {str(session.get("sid")): str(session.get("user")) for session, _answer, _why in session_answers(caches)} if own else signed_in_users(sessions)
        office = click_to_run_facts(state)
        plan.facts = {"shared_computer_activation": bool(office.get("shared_computer_activation")), "users": []}
        offline = offline_profiles(args, state)
        unknown = [] if own else unresolved_users(sessions)
        if args["signed_out"] and state.asked("profiles"):
            plan.facts["profiles_without_hive"] = profiles_without_hive(state.probe("profiles").data)
            plan.facts["profiles_left_out"] = profiles_left_out(state.probe("profiles").data, signed_in_users(sessions), bool(unknown))
        plan.blockers += [Reason("office_license.user_unknown", why) for why in unknown]
        if not users and not offline:
            if not unknown:
                plan.blockers.append(Reason("office_license.no_session", NO_SESSION))
            return plan
        folder = token_folder(state)
        paths = (*CACHES, folder) if folder else CACHES
        folders = _folders(caches, state.followup(TOKEN_CACHE).data if folder else None)
        answers = {str(session.get("sid")): answer for session, answer, _why in session_answers(caches)}
        plan.facts.update(token_folder=folder, not_cleared=list(NOT_CLEARED))
        open_in = {int(item.get("session_id", -1)) for item in processes.get("processes") or []}
        for sid, user in sorted(users.items(), key=lambda item: item[1].lower()):
            seen: dict[str, t.Any] = {"user": user, "sid": sid, "reset": False, "registry_values": 0, "caches": {}}
            plan.facts["users"].append(seen)
            mine = {int(session["session_id"]) for session in sessions.get("sessions") or [] if str(session["sid"]) == sid}
            if mine & open_in and not own:
                plan.blockers.append(Reason(
                    "office_license.office_open",
                    f"Office is open in {user}'s session: it would write the activation state again; "
                    "ask the user to close Office, then run again"))
                continue
            seen["reset"] = True
            seen["wam"] = _wam(plan, user, answers.get(sid))
            for subkey, trees in ((LICENSING, licensing), (IDENTITY, identity)):
                seen["registry_values"] += _plan_key(plan, user, f"HKU\\{sid}\\{subkey}", ((trees.get("hives") or {}).get(sid) or {}))
            found, why = folders.get(sid, ({}, f"{user}'s session gave no answer"))
            if why:
                plan.failure = f"reading {user}'s license caches: {why}"
                continue
            for path in paths:
                entry = found.get(path) or {}
                seen["caches"][path] = entry.get("file_count", 0) if entry.get("exists") else None
                if entry.get("exists"):
                    move_to = None if args["files"] == "delete" else _moved_to(path, args["stamp"], path == folder)
                    plan.changes.append(CacheRemoval(sid, user, path, tuple(entry.get("files") or ()), move_to, args["timeout_seconds"],
                                                     f"{user} has a license cache in {path} ({entry.get('file_count', 0)} files)", own=own))
        if offline:
            plan_offline(args, plan, offline, state.followups)
            if folder:
                plan.facts["not_cleared"].append(f"the token folder {folder} of users who are not signed in: its path is expanded only in a user's own session")
        return plan

    def verify_ops(self, args: dict[str, t.Any], plan: Plan) -> dict[str, dict[str, t.Any]]:
        if not plan.changes:
            return {}
        # Every signed-out profile the plan covered is read back too, also one whose only change was its cache folder.
        reads = self.probe_ops(args, ProbeContext())
        folder = plan.facts.get("token_folder")
        return {**{name: reads[name] for name in ("licensing", "identity", "caches")}, **offline_reads(plan.facts.get("signed_out_profiles") or []),
                **({TOKEN_CACHE: self._token_read(args, folder)} if folder else {})}

    def verify(self, args: dict[str, t.Any], plan: Plan, applied: t.Sequence[OpResult], checks: t.Mapping[str, OpResult]) -> list[str]:
        if not checks:
            return []
        problems = []
        users = {entry["sid"]: entry["user"] for entry in plan.facts["users"] if entry["reset"]}
        for sid, user in users.items():
            for subkey, answer in ((LICENSING, checks["licensing"]), (IDENTITY, checks["identity"])):
                tree = (answer.data.get("hives") or {}).get(sid) or {}
                if _resettable(tree):
                    problems.append(f"{user}'s {subkey} still holds values")
        token = checks[TOKEN_CACHE].data if TOKEN_CACHE in checks else None
        for sid, (found, why) in _folders(checks["caches"].data, token).items():
            if sid in users and (why or any(entry.get("exists") for entry in found.values())):
                problems.append(f"{users[sid]}'s license caches are still there ({why or 'read again after the removal'})")
        profiles = plan.facts.get("signed_out_profiles") or []
        if profiles and OFFLINE_LICENSING in checks:
            left = read_offline(profiles, checks)
            problems += [f"{entry['user']}'s activation state is still there" for entry in left if entry["values"] or entry["files"]]
        return problems


def offline_profiles(args: dict[str, t.Any], state: HostState) -> list[dict[str, t.Any]]:
    """With ``signed_out``: the profiles of the users who are not signed in (nor the become user, reached in its own
    session with ``users: become``)."""
    if not args["signed_out"] or not state.asked("profiles"):
        return []
    sessions = state.probe("sessions").data
    reached = [*signed_in_users(sessions), *(str(session.get("sid")) for session, _answer, _why in session_answers(state.probe("caches").data))]
    return signed_out_profiles(state.probe("profiles").data, reached, bool(unresolved_users(sessions)))


def _profile_caches(profile: t.Mapping[str, t.Any]) -> list[str]:
    return [path.replace("%LOCALAPPDATA%", f"{profile['path']}\\AppData\\Local") for path in CACHES]


# The reads of signed-out users' hives and cache folders (the names differ from the probe's, which the verification reads too).
OFFLINE_LICENSING, OFFLINE_IDENTITY, OFFLINE_CACHES = "offline_licensing", "offline_identity", "offline_caches"


def offline_reads(profiles: t.Sequence[t.Mapping[str, t.Any]]) -> dict[str, dict[str, t.Any]]:
    """Load each hive, read its keys, unload it, then the next; then the cache folders: the hives are left as they were
    found."""
    return around(profiles, {OFFLINE_LICENSING: {"op": "registry_read_user_hives", "subkey": LICENSING, "tree": True},
                             OFFLINE_IDENTITY: {"op": "registry_read_user_hives", "subkey": IDENTITY, "tree": True},
                             OFFLINE_CACHES: {"op": "directory_stat", "paths": [path for profile in profiles for path in _profile_caches(profile)]}})


def read_offline(profiles: t.Sequence[t.Mapping[str, t.Any]], answers: t.Mapping[str, OpResult]) -> list[dict[str, t.Any]]:
    """Per signed-out profile what the reads found: the two trees and the cache folders."""
    licensing, identity = (merged(answers, name).data for name in (OFFLINE_LICENSING, OFFLINE_IDENTITY))
    folders = answers[OFFLINE_CACHES].data
    found = []
    for profile in profiles:
        trees = [((data.get("hives") or {}).get(profile["sid"]) or {}) for data in (licensing, identity)]
        caches = {path: (folders.get("directories") or {}).get(path) or {} for path in _profile_caches(profile)}
        found.append({**profile, "trees": trees, "caches": caches,
                      "values": sum(_resettable(tree) for tree in trees),
                      "files": sum(entry.get("file_count", 0) for entry in caches.values() if entry.get("exists"))})
    return found


def plan_offline(args: dict[str, t.Any], plan: Plan, profiles: t.Sequence[t.Mapping[str, t.Any]], answers: t.Mapping[str, OpResult]) -> None:
    """Signed-out users: their hive loaded around the registry changes, their cache folders moved as the administrator."""
    failed = next((answer for answer in answers.values() if not answer.ok), None)
    if failed is not None:
        plan.failure = f"loading or reading the hives of users who are not signed in: {failed.message or failed.error}"
        return
    plan.facts["signed_out_profiles"] = [dict(profile) for profile in profiles]
    for entry in read_offline(profiles, answers):
        plan.facts["users"].append({"user": entry["user"], "sid": entry["sid"], "reset": True, "registry_values": entry["values"],
                                    "caches": {path: cache.get("file_count") if cache.get("exists") else None for path, cache in entry["caches"].items()}})
        if not entry["values"] and not entry["files"]:
            continue
        if entry["values"]:
            keys = Plan()
            for subkey, tree in zip((LICENSING, IDENTITY), entry["trees"]):
                _plan_key(keys, entry["user"], f"HKU\\{entry['sid']}\\{subkey}", tree)
            plan.changes += loaded_around(entry, keys.changes, "its hive is loaded for the reset")
        for path, cache in entry["caches"].items():
            if cache.get("exists"):
                leaf = "16.0-Licensing" if "16.0" in path else path.rsplit("\\", 1)[-1]
                move_to = None if args["files"] == "delete" else (
                    f"{entry['path']}\\AppData\\Local\\Microsoft\\Office\\m365ops-license-backup-{args['stamp']}\\{leaf}")
                plan.changes.append(ProfileCacheRemoval(entry["sid"], entry["user"], path, tuple(cache.get("files") or ()), move_to,
                                                        args["timeout_seconds"], f"{entry['user']} has a license cache in {path}"))


def _folders(data: t.Mapping[str, t.Any], token: t.Mapping[str, t.Any] | None = None) -> dict[str, tuple[dict[str, t.Any], str | None]]:
    """Per SID, the directory_stat answers of the user's tasks (the caches, and the token folder when it was read), or
    why there is none."""
    found: dict[str, tuple[dict[str, t.Any], str | None]] = {}
    for answers in (data, token or {}):
        for session, answer, why in session_answers(answers):
            listed = next((item for item in (answer or {}).get("results") or [] if item.get("op") == "directory_stat"), {})
            known, before = found.get(str(session.get("sid")), ({}, None))
            found[str(session.get("sid"))] = ({**known, **(listed.get("directories") or {})}, before or why)
    return found


def token_folder(state: HostState) -> str | None:
    """The folder SCLCacheOverride gives shared computer activation's tokens, as written, or None (G5)."""
    office = click_to_run_facts(state)
    folder = office.get("token_folder") if office.get("shared_computer_activation") else None
    return str(folder["path"]) if folder else None


def _moved_to(path: str, stamp: str, token: bool) -> str:
    """Where a cache folder is moved: a dated folder beside the Office folders in %LOCALAPPDATA%, or, for a token folder
    that may be on a share, a dated folder beside it on the same volume (a folder cannot be moved across volumes)."""
    if token:
        return f"{path.rstrip(chr(92))}-m365ops-license-backup-{stamp}"
    leaf = path.rsplit("\\", 1)[-1] if "16.0" not in path else "16.0-Licensing"
    return f"%LOCALAPPDATA%\\Microsoft\\Office\\m365ops-license-backup-{stamp}\\{leaf}"


def _wam(plan: Plan, user: str, answer: t.Mapping[str, t.Any] | None) -> str | None:
    """The join Windows reports to ``user`` in their session's ``answer`` (device or workplace), with the warning that
    WAM's accounts remain, or None."""
    read = next((item for item in (answer or {}).get("results") or [] if item.get("op") == "work_account"), {})
    join = read.get("join") if read.get("supported") else None
    if not isinstance(join, dict) or join.get("join_type") not in ("device", "workplace"):
        return None
    plan.warnings.append(
        f"{user}'s {'device is joined to' if join['join_type'] == 'device' else 'work or school account is in'} Entra ID "
        f"({join.get('tenant_name') or join.get('tenant_id') or 'a tenant'}): Office signs in through Web Account Manager, whose "
        "accounts this reset does not sign out; Microsoft's signoutofwamaccounts.ps1 does (Reset Microsoft 365 Apps for "
        "enterprise activation state)")
    return str(join["join_type"])


def _resettable(tree: t.Mapping[str, t.Any]) -> int:
    """How many values of a measured tree the reset removes: those restore can write back (G20)."""
    return sum(1 for entry in (tree.get("keys") or {}).values() for value in (entry.get("values") or {}).values() if value_problem(value) is None)


def _plan_key(plan: Plan, user: str, root: str, tree: t.Mapping[str, t.Any]) -> int:
    """Every value under ``root`` removed (each one a backup record), then the keys, deepest first, once empty.

    A value of a type restore cannot write back (REG_NONE, a raw kind) is left in place, with the keys that hold it, and
    named as drift: the reset never deletes what its backup could not restore (G20)."""
    keys = tree.get("keys") or {}
    count = 0
    kept: list[str] = []
    for relative in sorted(keys):
        key = RegistryKey(f"{root}\\{relative}" if relative else root)
        for name, value in sorted((keys[relative].get("values") or {}).items()):
            if value_problem(value) is not None:
                kept.append(relative)
                plan.drift.append(Reason(
                    "office_license.unexpected_value",
                    f"{user}'s {key}\\{name} is a {value.get('type') if isinstance(value, dict) else 'malformed'} value, which "
                    "restore could not write back: left in place, with the keys that hold it"))
                continue
            plan.changes.append(ValueChange(RegistryRef(key, name), RegistryValue.from_agent(value), None,
                                            f"{user}'s Office activation state: {key}"))
            count += 1
    for relative in sorted(keys, key=lambda item: item.count("\\") if item else -1, reverse=True):
        if any(not relative or held == relative or held.startswith(relative + "\\") for held in kept):
            continue
        key = RegistryKey(f"{root}\\{relative}" if relative else root)
        plan.changes.append(KeyRemoval(key, f"{user}'s Office activation state key {key}"))
    return count
