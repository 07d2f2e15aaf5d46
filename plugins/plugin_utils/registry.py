# -*- coding: utf-8 -*-
# Copyright: m365ops.activation contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Registry values as data: references, typed values, desired changes, ops, diff text and backup records."""

from __future__ import annotations

import re
import typing as t
from dataclasses import dataclass, field

from ansible_collections.m365ops.activation.plugins.plugin_utils.engine.agent import AgentOpError, OpResult
from ansible_collections.m365ops.activation.plugins.plugin_utils.engine.changes import DiffEntry


@dataclass(frozen=True, order=True)
class RegistryKey:
    """A key as the agent addresses it: ``HKLM\\...`` plus the registry view (``64`` or ``32``)."""

    path: str
    view: str = "64"

    def __str__(self) -> str:
        return self.path if self.view == "64" else f"{self.path} (32-bit view)"


@dataclass(frozen=True, order=True)
class RegistryRef:
    """One named value in one key and view."""

    key: RegistryKey
    name: str

    def __str__(self) -> str:
        return f"{self.key.path}\\{self.name}" + ("" if self.key.view == "64" else " (32-bit view)")


@dataclass(frozen=True)
class RegistryValue:
    type: str
    value: t.Any

    @classmethod
    def from_agent(cls, document: dict[str, t.Any] | None) -> "RegistryValue | None":
        return None if document is None else cls(type=document["type"], value=document["value"])

    @classmethod
    def dword(cls, value: int) -> "RegistryValue":
        return cls("dword", value)

    def as_dict(self) -> dict[str, t.Any]:
        return {"type": self.type, "value": self.value}

    def render(self) -> str:
        """The value as a .reg file would spell it."""
        if self.type == "dword":
            return f"dword:{self.value:08x}"
        if self.type == "qword":
            return f"hex(b):{self.value:016x}"
        if self.type in ("string", "expand_string"):
            return ("" if self.type == "string" else "expand:") + '"' + str(self.value).replace('"', '\\"') + '"'
        if self.type == "multi_string":
            return "multi:" + ",".join(f'"{item}"' for item in self.value)
        return f"{self.type}:{self.value}"


# A user's profile hive under HKEY_USERS: domain, local and Entra ID accounts.
USER_HIVE = re.compile(r"^HKU\\S-1-(5-21|12-1)-[0-9-]+\\", re.IGNORECASE)


@dataclass(frozen=True)
class ManagedValues:
    """Registry values a concern may change, and so restore may put back: value names of one key, in some views."""

    key: str
    names: tuple[str, ...]
    views: tuple[str, ...] = ("64",)
    # ``key`` is relative to a user's hive: it is managed under HKU\<that user's SID> for every user.
    per_user: bool = False
    # Every value of the key and of every key below it (``names`` is then ignored).
    subtree: bool = False
    # The types the concern writes there (empty: any the agent writes), and, for text, the longest it writes: restore
    # writes nothing a forward run could not have found or written (a 1 MB string as SCHANNEL Enabled, a newline in a
    # probe host).
    kinds: tuple[str, ...] = ()
    max_text: int = 0

    def value_problem(self, value: t.Mapping[str, t.Any]) -> str | None:
        """Why ``value`` (already a writable {type, value}) is not one this concern reads or writes here, or None."""
        if self.kinds and value["type"] not in self.kinds:
            return f"a {value['type']} value, where the collection reads and writes {' or '.join(self.kinds)}"
        texts = value["value"] if value["type"] == "multi_string" else [value["value"]] if value["type"] in ("string", "expand_string") else []
        if self.max_text and any(len(text) > self.max_text or any(ord(char) < 32 for char in text) for text in texts):
            return f"text longer than {self.max_text} characters or with control characters, which the collection never writes here"
        return None

    def covers(self, ref: RegistryRef) -> bool:
        path = ref.key.path
        if self.per_user:
            hive = USER_HIVE.match(path)
            if hive is None:
                return False
            path = path[hive.end():]
        if ref.key.view not in self.views:
            return False
        if self.subtree:
            return path.lower() == self.key.lower() or path.lower().startswith(self.key.lower() + "\\")
        return path.lower() == self.key.lower() and ref.name.lower() in {name.lower() for name in self.names}


# What a stored value of each type must look like (restore refuses anything else).
DWORD_MAX = 0xFFFFFFFF
QWORD_MAX = 0xFFFFFFFFFFFFFFFF


def value_problem(document: t.Any) -> str | None:
    """Why ``document`` is not a ``{"type", "value"}`` the agent can write, or None."""
    if not isinstance(document, dict) or set(document) != {"type", "value"}:
        return "a value must be {type, value}"
    kind, value = document["type"], document["value"]
    if kind in ("dword", "qword"):
        limit = DWORD_MAX if kind == "dword" else QWORD_MAX
        ok = isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= limit
    elif kind in ("string", "expand_string"):
        ok = isinstance(value, str)
    elif kind == "multi_string":
        ok = isinstance(value, list) and all(isinstance(item, str) for item in value)
    elif kind == "binary":
        ok = isinstance(value, str) and re.fullmatch(r"[A-Za-z0-9+/]*={0,2}", value) is not None and len(value) % 4 == 0
    else:
        return f"type '{kind}' is not one the collection writes"
    return None if ok else f"a {kind} value cannot be {value!r}"[:200]


def dword_of(value: RegistryValue | None) -> int | None:
    """The integer of a REG_DWORD value; None when the value is absent or of another type."""
    return value.value if value is not None and value.type == "dword" else None


@dataclass(frozen=True)
class ValueChange:
    """A value to set (``after``) or remove (``after`` is None), and why."""

    ref: RegistryRef
    before: RegistryValue | None
    after: RegistryValue | None
    reason: str
    reboot_required: bool = False
    # The key the write will create (the topmost missing key of the path, as the probe read it), so the write-ahead record
    # names it before the agent's answer does; None when the key exists or the probe could not tell.
    creates: str | None = field(default=None, compare=False)

    @property
    def target(self) -> str:
        return str(self.ref)

    def diff(self) -> DiffEntry:
        name = f'"{self.ref.name}"'
        before = f"{name}={self.before.render()}" if self.before else f"{name}=(absent)"
        after = f"{name}={self.after.render()}" if self.after else f"{name}=(absent)"
        header = f"[{self.ref.key}]"
        return DiffEntry((self.ref.key.path, self.ref.key.view), (header, header), (before, after), self.ref.name)

    def probed_answer(self) -> dict[str, t.Any]:
        """What the write op will answer, as far as the probe knows."""
        return {"before": None if self.before is None else self.before.as_dict(), "created_key": self.creates if self.after is not None else None}

    def backup_record(self, applied: dict[str, t.Any]) -> dict[str, t.Any]:
        record = self.as_result()
        del record["reason"]
        return {"kind": "registry", **record, "before": applied.get("before"),
                "created_key": applied.get("created_key"), "reboot_required": self.reboot_required}

    def to_op(self) -> dict[str, t.Any]:
        target = {"key": self.ref.key.path, "view": self.ref.key.view, "name": self.ref.name}
        if self.after is None:
            return {"op": "registry_delete_value", **target}
        return {"op": "registry_write", **target, "type": self.after.type, "value": self.after.value}

    def as_result(self) -> dict[str, t.Any]:
        return {
            "key": self.ref.key.path, "view": self.ref.key.view, "name": self.ref.name,
            "before": None if self.before is None else self.before.as_dict(),
            "after": None if self.after is None else self.after.as_dict(),
            "reason": self.reason,
        }


@dataclass(frozen=True)
class KeyRemoval:
    """Remove a key that a remediation created, provided its subtree holds no values by then."""

    key: RegistryKey
    reason: str
    reboot_required: bool = False

    @property
    def target(self) -> str:
        return f"key {self.key}"

    def diff(self) -> DiffEntry:
        # Sorted after everything inside the key: the order in which it is applied.
        return DiffEntry((self.key.path + "\\\uffff", self.key.view), (f"[{self.key}]", f"[-{self.key}]"))

    def backup_record(self, applied: dict[str, t.Any]) -> dict[str, t.Any]:
        return {"kind": "registry_key", "key": self.key.path, "view": self.key.view, "removed": True}

    def to_op(self) -> dict[str, t.Any]:
        return {"op": "registry_delete_key", "key": self.key.path, "view": self.key.view, "only_if_no_values": True}

    def as_result(self) -> dict[str, t.Any]:
        return {"key": self.key.path, "view": self.key.view, "name": None, "before": "(key)", "after": None, "reason": self.reason}


class RegistrySnapshot:
    """The probed values, and which keys exist, of the refs a concern reads."""

    def __init__(self, values: dict[RegistryRef, RegistryValue | None], existing_keys: set[RegistryKey],
                 trees: dict[RegistryKey, dict[str, t.Any]] | None = None, first_missing: dict[RegistryKey, str] | None = None) -> None:
        self._values = values
        self._existing_keys = existing_keys
        self._trees = trees or {}
        self._first_missing = first_missing or {}

    def creates(self, key: RegistryKey) -> str | None:
        """The key a write below ``key`` creates (the topmost missing key of its path), None when ``key`` exists or the
        read did not say."""
        return None if key in self._existing_keys else self._first_missing.get(key)

    def get(self, ref: RegistryRef) -> RegistryValue | None:
        if ref not in self._values:
            raise KeyError(f"{ref} was not probed; add it to the concern's registry_refs()")
        return self._values[ref]

    def key_exists(self, key: RegistryKey) -> bool:
        return key in self._existing_keys

    def tree(self, key: RegistryKey) -> dict[str, t.Any]:
        """``exists`` and the recursive ``values``/``subkeys`` counts of a key the concern asked to measure."""
        if key not in self._trees:
            raise KeyError(f"{key} was not measured; add it to the concern's tree_keys()")
        return self._trees[key]

    def overlay(self, other: "RegistrySnapshot", keys: t.Iterable[RegistryKey]) -> "RegistrySnapshot":
        """This snapshot with what ``other`` read of ``keys`` (values, existence, trees) in place of its own: a later
        read of some keys (a hive loaded for it) over the probe's."""
        keys = set(keys)
        values = {**self._values, **{ref: value for ref, value in other._values.items() if ref.key in keys}}
        existing = {key for key in self._existing_keys if key not in keys} | {key for key in other._existing_keys if key in keys}
        missing = {**{key: top for key, top in self._first_missing.items() if key not in keys},
                   **{key: top for key, top in other._first_missing.items() if key in keys}}
        return RegistrySnapshot(values, existing, {**self._trees, **{key: tree for key, tree in other._trees.items() if key in keys}}, missing)


def read_ops(refs: t.Iterable[RegistryRef]) -> tuple[list[RegistryKey], list[dict[str, t.Any]]]:
    """One ``registry_read`` op per key and view, naming only the values the concern needs."""
    names: dict[RegistryKey, list[str]] = {}
    for ref in refs:
        names.setdefault(ref.key, [])
        if ref.name not in names[ref.key]:
            names[ref.key].append(ref.name)
    keys = sorted(names)
    return keys, [{"op": "registry_read", "key": key.path, "view": key.view, "names": names[key]} for key in keys]


def tree_ops(keys: t.Iterable[RegistryKey]) -> list[dict[str, t.Any]]:
    return [{"op": "registry_tree_stat", "key": key.path, "view": key.view} for key in keys]


def snapshot(refs: t.Iterable[RegistryRef], keys: list[RegistryKey], results: list[OpResult],
             tree_keys: t.Sequence[RegistryKey] = (), tree_results: t.Sequence[OpResult] = ()) -> RegistrySnapshot:
    by_key: dict[RegistryKey, OpResult] = {}
    for key, result in zip(keys, results):
        if not result.ok:
            raise AgentOpError(result, f"reading {key}")
        by_key[key] = result
    trees = {}
    for key, result in zip(tree_keys, tree_results):
        if not result.ok:
            raise AgentOpError(result, f"measuring {key}")
        trees[key] = result.data
    values = {ref: RegistryValue.from_agent(by_key[ref.key].data["values"].get(ref.name)) for ref in refs}
    existing = {key for key, result in by_key.items() if result.data.get("exists")}
    existing |= {key for key, tree in trees.items() if tree.get("exists")}
    first_missing = {key: result.data["first_missing"] for key, result in by_key.items()
                     if not result.data.get("exists") and isinstance(result.data.get("first_missing"), str)}
    return RegistrySnapshot(values, existing, trees, first_missing)
