"""The simulated registry: a tree of case-insensitive keys holding typed values.

Physical paths are stored, as on Windows: the 32-bit view of HKLM\\SOFTWARE on a 64-bit
host lives under HKLM\\SOFTWARE\\Wow6432Node. Keys can carry a ``deny`` list (``read``,
``write``) that models an ACL the connecting administrator does not pass.
"""
from __future__ import annotations

import base64
import binascii
from typing import Any

HIVES = {
    "HKLM": "HKLM", "HKEY_LOCAL_MACHINE": "HKLM",
    "HKCU": "HKCU", "HKEY_CURRENT_USER": "HKCU",
    "HKU": "HKU", "HKEY_USERS": "HKU",
    "HKCR": "HKCR", "HKEY_CLASSES_ROOT": "HKCR",
    "HKCC": "HKCC", "HKEY_CURRENT_CONFIG": "HKCC",
}
VALUE_TYPES = ("string", "expand_string", "multi_string", "dword", "qword", "binary", "none")


class RegistryError(Exception):
    """An operation failed the way the Windows registry API would fail."""

    def __init__(self, error: str, message: str) -> None:
        super().__init__(message)
        self.error = error


def split_key(key: str) -> tuple[str, list[str]]:
    """Split ``HKLM\\A\\B`` (or ``HKLM:\\A\\B``) into the canonical hive and its path parts."""
    if not isinstance(key, str) or not key.strip():
        raise RegistryError("invalid_argument", "key must be a non-empty string such as HKLM\\SOFTWARE\\Example")
    head, rest = key.replace("/", "\\").partition("\\")[::2]
    hive = HIVES.get(head.rstrip(":").upper())
    if hive is None:
        raise RegistryError("invalid_argument", f"unknown hive '{head}' in key '{key}'; use HKLM, HKCU, HKU, HKCR or HKCC")
    parts = [part for part in rest.split("\\") if part]
    return hive, parts


def physical_parts(hive: str, parts: list[str], view: str, architecture: str) -> list[str]:
    """Apply WOW64 redirection: the 32-bit view of HKLM\\SOFTWARE maps to SOFTWARE\\Wow6432Node."""
    if view not in ("64", "32"):
        raise RegistryError("invalid_argument", f"view must be '64' or '32', not '{view}'")
    if view == "64" or architecture == "x86" or hive != "HKLM" or not parts:
        return parts
    if parts[0].lower() != "software" or (len(parts) > 1 and parts[1].lower() == "wow6432node"):
        return parts
    return [parts[0], "Wow6432Node", *parts[1:]]


def validate_value(value_type: str, value: Any) -> Any:
    """Return ``value`` in its stored form, or raise invalid_argument naming the accepted form."""
    if value_type not in VALUE_TYPES:
        raise RegistryError("invalid_argument", f"type must be one of {', '.join(VALUE_TYPES)}, not '{value_type}'")
    if value_type in ("dword", "qword"):
        limit = 0xFFFFFFFF if value_type == "dword" else 0xFFFFFFFFFFFFFFFF
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= limit:
            raise RegistryError("invalid_argument", f"a {value_type} value must be an integer from 0 to {limit:#x}, not {value!r}")
        return value
    if value_type in ("string", "expand_string"):
        if not isinstance(value, str):
            raise RegistryError("invalid_argument", f"a {value_type} value must be a string, not {value!r}")
        return value
    if value_type == "multi_string":
        if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
            raise RegistryError("invalid_argument", f"a multi_string value must be a list of strings, not {value!r}")
        return list(value)
    if value_type == "binary":
        try:
            base64.b64decode(value or "", validate=True)
        except (binascii.Error, TypeError) as exc:
            raise RegistryError("invalid_argument", f"a binary value must be base64 text: {exc}") from exc
        return value or ""
    return None


class Registry:
    """Registry operations over the JSON tree ``{"keys": {...}, "values": {...}, "deny": [...]}``."""

    def __init__(self, tree: dict[str, Any], architecture: str, as_system: bool = False) -> None:
        self.tree = tree
        self.architecture = architecture
        # Windows itself (SYSTEM) reads keys the WinRM account is denied.
        self.as_system = as_system

    def _walk(self, key: str, view: str, access: str, create: bool = False) -> dict[str, Any] | None:
        hive, parts = split_key(key)
        parts = physical_parts(hive, parts, view, self.architecture)
        node = self.tree.setdefault(hive, {"keys": {}, "values": {}})
        for part in parts:
            if access in node.get("deny", []) and not self.as_system:
                raise RegistryError("access_denied", f"access is denied to {key}")
            children = node.setdefault("keys", {})
            match = next((name for name in children if name.lower() == part.lower()), None)
            if match is None:
                if not create:
                    return None
                children[part] = {"keys": {}, "values": {}}
                match = part
            node = children[match]
        if access in node.get("deny", []) and not self.as_system:
            raise RegistryError("access_denied", f"access is denied to {key}")
        return node

    @staticmethod
    def _find_value(node: dict[str, Any], name: str) -> str | None:
        return next((existing for existing in node.get("values", {}) if existing.lower() == name.lower()), None)

    def read(self, key: str, view: str, names: list[str] | None) -> dict[str, Any]:
        node = self._walk(key, view, "read")
        if node is None:
            return {"exists": False, "values": {}, "first_missing": self._first_missing(key, view)}
        stored = node.get("values", {})
        if names is None:
            return {"exists": True, "values": {name: dict(item) for name, item in stored.items()}}
        values = {}
        for name in names:
            match = self._find_value(node, name)
            if match is not None:
                values[name] = dict(stored[match])
        return {"exists": True, "values": values}

    def read_subkeys(self, key: str, view: str, names: list[str]) -> dict[str, Any]:
        node = self._walk(key, view, "read")
        if node is None:
            return {"exists": False, "subkeys": {}}
        answer = {}
        for subkey in sorted(node.get("keys", {})):
            answer[subkey] = {"values": self.read(f"{key}\\{subkey}", view, names)["values"]}
        return {"exists": True, "subkeys": answer}

    def enumerate(self, key: str, view: str) -> dict[str, Any]:
        node = self._walk(key, view, "read")
        if node is None:
            return {"exists": False, "subkeys": [], "value_names": []}
        return {"exists": True, "subkeys": sorted(node.get("keys", {})), "value_names": sorted(node.get("values", {}))}

    def write(self, key: str, view: str, name: str, value_type: str, value: Any, apply: bool) -> dict[str, Any]:
        stored_value = validate_value(value_type, value)
        node = self._walk(key, view, "write", create=False)
        before = None
        if node is not None:
            match = self._find_value(node, name)
            if match is not None:
                before = dict(node["values"][match])
        after = {"type": value_type, "value": stored_value}
        changed = before != after
        created_key = self._first_missing(key, view) if node is None else None
        if created_key is not None and created_key.count("\\") == 1 and split_key(key)[0] in ("HKU", "HKLM"):
            # RegCreateKeyEx: no application creates a direct child of HKEY_USERS or HKEY_LOCAL_MACHINE (a hive is loaded).
            raise RegistryError("access_denied", f"{created_key} cannot be created: it would be a hive of its own (is the user's hive loaded?)")
        if changed and apply:
            node = self._walk(key, view, "write", create=True)
            match = self._find_value(node, name)
            if match is not None:
                del node["values"][match]
            node["values"][name] = after
        return {"changed": changed, "created_key": created_key, "before": before}

    def _first_missing(self, key: str, view: str) -> str:
        """The topmost key of ``key``'s path that does not exist yet, spelled as the caller spelled it."""
        hive, parts = split_key(key)
        for depth in range(1, len(parts) + 1):
            prefix = "\\".join([hive, *parts[:depth]])
            if self._walk(prefix, view, "read") is None:
                return prefix
        return key

    def read_tree(self, key: str, view: str) -> dict[str, Any]:
        """Every value at and below ``key``, by subkey path relative to it ('' for the key itself)."""
        node = self._walk(key, view, "read")
        if node is None:
            return {"exists": False, "keys": {}, "truncated": False}
        keys: dict[str, Any] = {}
        pending = [("", node)]
        while pending:
            relative, current = pending.pop()
            keys[relative] = {"values": {name: dict(item) for name, item in current.get("values", {}).items()}}
            pending.extend((f"{relative}\\{name}" if relative else name, child) for name, child in current.get("keys", {}).items())
        return {"exists": True, "keys": keys, "truncated": False}

    def tree_stat(self, key: str, view: str) -> dict[str, Any]:
        node = self._walk(key, view, "read")
        if node is None:
            return {"exists": False, "values": 0, "subkeys": 0}
        values = subkeys = 0
        pending = [node]
        while pending:
            current = pending.pop()
            if "read" in current.get("deny", []):
                raise RegistryError("access_denied", f"access is denied to a subkey of {key}")
            values += len(current.get("values", {}))
            children = list(current.get("keys", {}).values())
            subkeys += len(children)
            pending.extend(children)
        return {"exists": True, "values": values, "subkeys": subkeys}

    def delete_value(self, key: str, view: str, name: str, apply: bool) -> dict[str, Any]:
        node = self._walk(key, view, "write")
        match = None if node is None else self._find_value(node, name)
        if match is None:
            return {"changed": False, "before": None}
        before = dict(node["values"][match])
        if apply:
            del node["values"][match]
        return {"changed": True, "before": before}

    def delete_key(self, key: str, view: str, apply: bool, only_if_no_values: bool = False) -> dict[str, Any]:
        hive, parts = split_key(key)
        if not parts:
            raise RegistryError("invalid_argument", f"refusing to delete the hive root '{key}'")
        parent_key = "\\".join([hive, *parts[:-1]])
        parent = self._walk(parent_key, view, "write")
        if parent is None:
            return {"changed": False}
        children = parent.get("keys", {})
        leaf = parts[-1]
        match = next((name for name in children if name.lower() == leaf.lower()), None)
        if match is None:
            return {"changed": False}
        if "write" in children[match].get("deny", []):
            raise RegistryError("access_denied", f"access is denied to {key}")
        if only_if_no_values and self.tree_stat(key, view)["values"]:
            return {"changed": False, "kept": True}
        if apply:
            del children[match]
        return {"changed": True}
