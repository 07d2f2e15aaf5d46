# -*- coding: utf-8 -*-
# Copyright: m365ops.activation contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Where a policy value comes from: the local Group Policy object's Registry.pol, or GPOs from the domain.

Registry.pol ("PReg" files) holds the registry settings of one Group Policy object: a header (``PReg``,
version 1), then entries ``[key;value;type;size;data]`` with the brackets, separators and strings in
UTF-16LE (strings NUL-terminated), type and size as little-endian DWORDs. The local GPO keeps its machine
settings in ``%SystemRoot%\\System32\\GroupPolicy\\Machine\\Registry.pol``. The GPOs applied to the
machine are listed by Windows under ``...\\Group Policy\\State\\Machine\\GPO-List``.
"""

from __future__ import annotations

import base64
import struct
import typing as t
from dataclasses import dataclass

LOCAL_MACHINE_POL = r"%SystemRoot%\System32\GroupPolicy\Machine\Registry.pol"
GPO_LIST = r"HKLM\SOFTWARE\Microsoft\Windows\CurrentVersion\Group Policy\State\Machine\GPO-List"
SIGNATURE = b"PReg"
REG_SZ, REG_EXPAND_SZ, REG_DWORD, REG_MULTI_SZ, REG_QWORD = 1, 2, 4, 7, 11


@dataclass(frozen=True)
class PolicyEntry:
    key: str
    name: str
    type: int
    value: t.Any


def _char(data: bytes, offset: int, expected: str) -> int:
    if data[offset:offset + 2] != expected.encode("utf-16-le"):
        raise ValueError(f"expected {expected!r} at byte {offset}")
    return offset + 2


def _string(data: bytes, offset: int) -> tuple[str, int]:
    end = offset
    while True:
        if end + 2 > len(data):
            raise ValueError(f"unterminated string at byte {offset}")
        if data[end:end + 2] == b"\0\0":
            return data[offset:end].decode("utf-16-le"), end + 2
        end += 2


def _value(kind: int, raw: bytes) -> t.Any:
    if kind == REG_DWORD and len(raw) == 4:
        return struct.unpack("<I", raw)[0]
    if kind == REG_QWORD and len(raw) == 8:
        return struct.unpack("<Q", raw)[0]
    if kind in (REG_SZ, REG_EXPAND_SZ):
        return raw.decode("utf-16-le").rstrip("\0")
    if kind == REG_MULTI_SZ:
        return [part for part in raw.decode("utf-16-le").split("\0") if part]
    return raw.hex()


def parse_registry_pol(data: bytes) -> list[PolicyEntry]:
    """The entries of a Registry.pol file; ValueError names the byte where a malformed file stops making sense."""
    if data[:4] != SIGNATURE or len(data) < 8 or struct.unpack("<I", data[4:8])[0] != 1:
        raise ValueError("not a Registry.pol file (no PReg version 1 header)")
    entries = []
    offset = 8
    while offset < len(data):
        offset = _char(data, offset, "[")
        key, offset = _string(data, offset)
        offset = _char(data, offset, ";")
        name, offset = _string(data, offset)
        offset = _char(data, offset, ";")
        if offset + 10 > len(data):
            raise ValueError(f"truncated entry at byte {offset}")
        kind = struct.unpack("<I", data[offset:offset + 4])[0]
        offset = _char(data, offset + 4, ";")
        size = struct.unpack("<I", data[offset:offset + 4])[0]
        offset = _char(data, offset + 4, ";")
        if offset + size > len(data):
            raise ValueError(f"entry {key}\\{name} claims {size} bytes past the end of the file")
        raw = data[offset:offset + size]
        offset = _char(data, offset + size, "]")
        entries.append(PolicyEntry(key, name, kind, _value(kind, raw)))
    return entries


def policy_source(key: str, name: str, local_pol: t.Any, gpo_list: dict[str, t.Any]) -> dict[str, t.Any]:
    """What sets ``HKLM\\<key>\\<name>``: ``local_gpo`` when the local GPO's Registry.pol holds it, ``domain_gpo`` (with the
    names of the GPOs applied from the domain) when the machine has such GPOs, else ``unknown`` (a script or a hand).

    ``local_pol`` is the file_read answer for LOCAL_MACHINE_POL, ``gpo_list`` the registry_read_subkeys answer for GPO_LIST.
    """
    relative = key.split("\\", 1)[1] if key.upper().startswith("HKLM\\") else key
    local: str | None = None
    if local_pol.get("exists") and local_pol.get("content"):
        try:
            entries = parse_registry_pol(base64.b64decode(local_pol["content"]))
        except ValueError as error:
            local = f"unreadable ({error})"
        else:
            if any(entry.key.lower() == relative.lower() and entry.name.lower() == name.lower() for entry in entries):
                return {"source": "local_gpo", "file": local_pol.get("expanded", LOCAL_MACHINE_POL)}
    domain = sorted(str(details["values"].get("DisplayName", {}).get("value") or entry)
                    for entry, details in (gpo_list.get("subkeys") or {}).items()
                    if str(details["values"].get("Link", {}).get("value") or "").upper().startswith("LDAP:"))
    if domain:
        return {"source": "domain_gpo", "gpos": domain}
    answer: dict[str, t.Any] = {"source": "unknown"}
    if local:
        answer["local_registry_pol"] = local
    return answer
