# -*- coding: utf-8 -*-
# Copyright: m365ops.activation contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Profile hives of users who are not signed in.

A user's HKCU is HKEY_USERS\\<SID> only while something holds the hive loaded: their logon, or ``reg.exe load``. For a
user who is not signed in, a concern that was asked to reach them reads the ProfileList (``profile_list``), loads each
such hive for its reads and unloads it again in the same execution, and plans its changes between a load and an unload
(``HiveStep``). A profile whose NTUSER.DAT is gone is never loaded (reg.exe would create an empty one). The agent
unloads only a hive it loaded in the same execution, and its load and unload are not write ops, so an unload still
runs after a failed change.

An unload can still fail (a process holds the hive open through the agent's five tries), and an execution can be
killed between the two. So every load is remembered on the host before it happens (``HIVE_MARKERS``, one value per
SID holding the time of the load) and forgotten after the unload. Every run reads the markers in its probe; a run that
is not in check mode and finds one spends one more execution (``unload_left_ops``) unloading each hive left loaded
for longer than ``HIVE_MARKER_AGE`` (a younger one may be another run's, in use) and reports what it did
(``left_loaded_warnings``); a hive no longer loaded has its marker removed.
"""

from __future__ import annotations

import typing as t
from dataclasses import dataclass

from ansible_collections.m365ops.activation.plugins.plugin_utils.engine.agent import OpResult
from ansible_collections.m365ops.activation.plugins.plugin_utils.engine.changes import DiffEntry
from ansible_collections.m365ops.activation.plugins.plugin_utils.registry import USER_HIVE, RegistryKey

PROFILE_LIST: dict[str, t.Any] = {"op": "profile_list"}
# Where the agent remembers a hive it loaded until it has unloaded it: value <SID>, the UTC time of the load.
HIVE_MARKERS = RegistryKey(r"HKLM\SOFTWARE\m365ops\activation\LoadedHives")
HIVE_MARKERS_READ: dict[str, t.Any] = {"op": "registry_read", "key": HIVE_MARKERS.path, "view": HIVE_MARKERS.view}
# A hive marked for less than this may be in use by another run's execution right now: it is left for a later run.
HIVE_MARKER_AGE = 600


@dataclass(frozen=True)
class HiveStep:
    """Load (before its changes) or unload (after them) the hive of a user who is not signed in."""

    sid: str
    user: str
    load: bool
    reason: str = ""
    reboot_required: bool = False

    @property
    def target(self) -> str:
        return f"{self.user}'s hive"

    def to_op(self) -> dict[str, t.Any]:
        return {"op": "user_hive_load" if self.load else "user_hive_unload", "sid": self.sid, "marker_key": HIVE_MARKERS.path}

    def as_result(self) -> dict[str, t.Any]:
        return {"user": self.user, "sid": self.sid, "hive": "load" if self.load else "unload", "reason": self.reason}

    def diff(self) -> DiffEntry:
        return DiffEntry(("hive", self.sid, "0" if self.load else "9"), (f"[{self.user} hive]", f"[{self.user} hive]"))

    def backup_record(self, applied: dict[str, t.Any]) -> None:
        return None


def profile_name(profile: t.Mapping[str, t.Any]) -> str:
    """How a signed-out user is named in results: by the folder of their profile (the account name needs a lookup)."""
    return f"profile {str(profile['path']).rstrip(chr(92)).rsplit(chr(92), 1)[-1]}"


def left_out(profile: t.Mapping[str, t.Any], unidentified: bool = False) -> str | None:
    """Why a profile that is not a signed-in user's is still not a signed-out user's to change, or None: the account this
    agent runs as (its own logon holds that hive), an account a service logs on as (G19), and, while a signed-in user's
    SID could not be found, any loaded hive, which may be that user's (G2)."""
    if profile.get("self"):
        return "the account this run connects as"
    if profile.get("service"):
        return "an account a service logs on as"
    if unidentified and profile.get("loaded"):
        return "its hive is loaded and a signed-in user could not be identified"
    return None


def signed_out_profiles(profile_list: t.Mapping[str, t.Any], signed_in: t.Iterable[str], unidentified: bool = False,
                        every: bool = False) -> list[dict[str, t.Any]]:
    """The profiles of a ``profile_list`` answer whose users are not among the ``signed_in`` SIDs, each with ``sid``,
    ``user``, ``path`` and ``loaded`` (a hive a lingering process of theirs holds needs no load); a profile whose
    NTUSER.DAT is gone is left out, and so is one ``left_out`` names, unless ``every`` (restore, which puts back only
    what a backup recorded)."""
    skip = {sid.upper() for sid in signed_in}
    found = []
    for profile in profile_list.get("profiles") or []:
        if str(profile.get("sid")).upper() in skip or not profile.get("path"):
            continue
        if not every and left_out(profile, unidentified):
            continue
        if profile.get("loaded") or profile.get("hive_file", True):
            found.append({"sid": str(profile["sid"]), "user": profile_name(profile), "path": str(profile["path"]), "loaded": bool(profile.get("loaded"))})
    return found


def profiles_left_out(profile_list: t.Mapping[str, t.Any], signed_in: t.Iterable[str], unidentified: bool = False) -> list[str]:
    """The profiles ``signed_out_profiles`` leaves out on purpose, each named with why, for facts."""
    skip = {sid.upper() for sid in signed_in}
    return sorted(f"{profile_name(profile)}: {why}" for profile in profile_list.get("profiles") or []
                  if profile.get("path") and str(profile.get("sid")).upper() not in skip and (why := left_out(profile, unidentified)))


def profiles_without_hive(profile_list: t.Mapping[str, t.Any]) -> list[str]:
    """Profiles Windows still lists whose NTUSER.DAT is gone (a folder deleted by hand): nothing to load, named in facts."""
    return sorted(profile_name(profile) for profile in profile_list.get("profiles") or []
                  if profile.get("path") and not profile.get("loaded") and profile.get("hive_file") is False)


def around(profiles: t.Sequence[t.Mapping[str, t.Any]], reads: t.Mapping[str, dict[str, t.Any]]) -> dict[str, dict[str, t.Any]]:
    """``reads`` (by name) for the hives of ``profiles``, one profile at a time (review G19): each hive not loaded yet is
    loaded, read and unloaded before the next one is loaded. A read of a key in that hive goes between its load and
    unload; a ``registry_read_user_hives`` is made there for that hive alone (named ``<name> <SID>``), and once more at
    the end for the hives that were loaded already; every other read comes at the end. The loads and unloads are named
    ``hive_load <SID>`` and ``hive_unload <SID>``; ``merged`` puts a read's answers together. Nothing without profiles."""
    if not profiles:
        return {}
    ops: dict[str, dict[str, t.Any]] = {}
    placed: set[str] = set()
    for profile in profiles:
        if profile.get("loaded"):
            continue
        sid = str(profile["sid"])
        mine = {name: op for name, op in reads.items() if (hive_sid(str(op.get("key") or "")) or "").upper() == sid.upper()}
        ops[f"hive_load {sid}"] = {"op": "user_hive_load", "sid": sid, "marker_key": HIVE_MARKERS.path}
        ops.update(mine)
        ops.update({f"{name} {sid}": {**op, "sids": [sid]} for name, op in reads.items() if op.get("op") == "registry_read_user_hives"})
        ops[f"hive_unload {sid}"] = {"op": "user_hive_unload", "sid": sid, "marker_key": HIVE_MARKERS.path}
        placed.update(mine)
    ops.update({name: op for name, op in reads.items() if name not in placed})
    return ops


def merged(answers: t.Mapping[str, OpResult], name: str) -> OpResult:
    """The answer of the read ``name`` that ``around`` made per hive: its ``hives`` from every part put together, or
    the first part that failed."""
    parts = [answers[name], *(answer for key, answer in answers.items() if key.startswith(f"{name} S-1-"))]
    failed = next((part for part in parts if not part.ok), None)
    if failed is not None:
        return failed
    hives: dict[str, t.Any] = {}
    for part in parts:
        hives.update(part.data.get("hives") or {})
    return OpResult(parts[0].op, True, {**parts[0].data, "hives": hives})


def loaded_around(profile: t.Mapping[str, t.Any], changes: t.Sequence[t.Any], why: str) -> list[t.Any]:
    """``changes`` of one signed-out user, between the load and the unload of their hive when it is not loaded."""
    if not changes or profile.get("loaded"):
        return list(changes)
    return [HiveStep(profile["sid"], profile["user"], True, f"{profile['user']} is not signed in: {why}"), *changes,
            HiveStep(profile["sid"], profile["user"], False, f"{profile['user']}'s hive unloaded again")]


def hive_sid(path: str) -> str | None:
    """The SID of the user hive a registry path is in (``HKU\\S-1-5-21-...\\...``), or None."""
    match = USER_HIVE.match(path + "\\")
    return path.split("\\")[1] if match else None


def hive_markers(answer: OpResult) -> dict[str, str]:
    """The hives an earlier execution loaded and has not unloaded yet (or is using now): SID to the time of the load."""
    if not answer.ok:
        return {}
    return {sid: str(value.get("value")) for sid, value in (answer.data.get("values") or {}).items() if isinstance(value, dict)}


def unload_left_ops() -> list[dict[str, t.Any]]:
    """The op that unloads every hive left loaded by an earlier execution (marked longer than ``HIVE_MARKER_AGE``)."""
    return [{"op": "user_hive_unload_recorded", "marker_key": HIVE_MARKERS.path, "older_than_seconds": HIVE_MARKER_AGE}]


def left_loaded_warnings(markers: t.Mapping[str, str], answer: OpResult | None) -> list[str]:
    """What became of the hives earlier executions left loaded; ``answer`` None in check mode (nothing is unloaded)."""
    if answer is None:
        return [f"the hive of {sid}, loaded by the collection at {since}, was not unloaded then (a process held it, or the "
                "execution was stopped) and may still be loaded under HKEY_USERS: the next run that is not in check mode "
                "unloads it" for sid, since in sorted(markers.items())]
    if not answer.ok:
        return [f"unloading the hives the collection left loaded ({', '.join(sorted(markers))}) failed: {answer.message} ({answer.error})"]
    data = answer.data
    told = [f"the hive of {sid}, left loaded by an earlier run of the collection at {markers.get(sid, 'an unknown time')}, was unloaded"
            for sid in data.get("unloaded") or []]
    told += [f"the hive of {item.get('sid')}, left loaded by an earlier run of the collection at {item.get('since')}, is still "
             f"loaded: {item.get('message')} (a process holds it, or the user has signed in since; the next run tries again)"
             for item in data.get("still_loaded") or [] if isinstance(item, dict)]
    return told
