# -*- coding: utf-8 -*-
# Copyright: m365ops.activation contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The WinHTTP default proxy as data: validation, semantic comparison, the change, and the blob for diagnostics."""

from __future__ import annotations

import base64
import binascii
import ipaddress
import re
import struct
import typing as t
from dataclasses import dataclass

from ansible_collections.m365ops.activation.plugins.plugin_utils.changes import DiffEntry

_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_HOSTNAME = re.compile(rf"^{_LABEL}(?:\.{_LABEL})*$")
_BYPASS = re.compile(r"^(?:<local>|[A-Za-z0-9*?.\-_\[\]:]+)$")
SCHEMES = ("http", "https", "ftp", "socks")


class ProxyError(ValueError):
    """An option value that is not a proxy WinHTTP understands."""


def _server(text: str, what: str) -> str:
    """Validate ``host[:port]`` (host a name, IPv4, or [IPv6]) and return it with the host lower-cased."""
    text = text.strip()
    match = re.match(r"^(\[[^\]]+\]|[^:\[\]]+)(?::(\d+))?$", text)
    if not match:
        raise ProxyError(f"{what}: '{text}' is not host:port")
    host, port = match.group(1), match.group(2)
    if host.startswith("["):
        try:
            ipaddress.IPv6Address(host[1:-1])
        except ValueError as error:
            raise ProxyError(f"{what}: '{host}' is not an IPv6 address") from error
    elif not _HOSTNAME.match(host):
        raise ProxyError(f"{what}: '{host}' is not a host name or IPv4 address")
    if port is not None and not 1 <= int(port) <= 65535:
        raise ProxyError(f"{what}: port {port} is not between 1 and 65535")
    return host.lower() + (f":{int(port)}" if port is not None else "")


def normalize_proxy(text: str) -> str:
    """``host:port`` or ``http=host:port;https=host:port``, in canonical form (case, spacing, scheme order)."""
    entries = [entry.strip() for entry in text.split(";") if entry.strip()]
    if not entries:
        raise ProxyError("proxy: empty")
    if len(entries) == 1 and "=" not in entries[0]:
        return _server(entries[0], "proxy")
    per_scheme = {}
    for entry in entries:
        scheme, separator, server = entry.partition("=")
        scheme = scheme.strip().lower()
        if not separator or scheme not in SCHEMES:
            raise ProxyError(f"proxy: '{entry}' is not scheme=host:port with scheme one of {', '.join(SCHEMES)}")
        if scheme in per_scheme:
            raise ProxyError(f"proxy: scheme '{scheme}' is given twice")
        per_scheme[scheme] = _server(server, "proxy")
    return ";".join(f"{scheme}={per_scheme[scheme]}" for scheme in SCHEMES if scheme in per_scheme)


def normalize_bypass(entries: t.Iterable[str]) -> list[str]:
    """Bypass entries, each validated, duplicates (case-insensitive) removed, order kept."""
    seen: set[str] = set()
    result = []
    for entry in (item.strip() for item in entries):
        if not entry:
            continue
        if not _BYPASS.match(entry):
            raise ProxyError(f"bypass: '{entry}' is not <local> or a host name, address or wildcard pattern")
        if entry.lower() not in seen:
            seen.add(entry.lower())
            result.append(entry if entry == "<local>" else entry.lower())
    return result


@dataclass(frozen=True)
class ProxySetting:
    access_type: str  # direct | named
    proxy: str | None = None
    bypass: tuple[str, ...] = ()

    @classmethod
    def from_agent(cls, data: dict[str, t.Any]) -> "ProxySetting":
        if data.get("access_type") != "named":
            return cls("direct")
        bypass = [entry for entry in re.split(r"[;\s]+", data.get("bypass") or "") if entry]
        return cls("named", data.get("proxy"), tuple(bypass))

    def same_as(self, other: "ProxySetting") -> bool:
        """Equal for WinHTTP: case, spacing, scheme order and bypass order do not matter."""
        if self.access_type != other.access_type:
            return False
        if self.access_type == "direct":
            return True
        try:
            return (normalize_proxy(self.proxy or "") == normalize_proxy(other.proxy or "")
                    and {entry.lower() for entry in self.bypass} == {entry.lower() for entry in other.bypass})
        except ProxyError:
            return False

    def describe(self) -> str:
        if self.access_type == "direct":
            return "direct access (no proxy)"
        return f"proxy {self.proxy}" + (f", bypass {';'.join(self.bypass)}" if self.bypass else "")

    def as_agent(self) -> dict[str, t.Any]:
        return {"access_type": self.access_type, "proxy": self.proxy, "bypass": ";".join(self.bypass) or None}


@dataclass(frozen=True)
class ProxyChange:
    before: ProxySetting
    after: ProxySetting
    reason: str
    reboot_required: bool = False

    @property
    def target(self) -> str:
        return "the WinHTTP default proxy"

    def to_op(self) -> dict[str, t.Any]:
        return {"op": "winhttp_proxy_write", **self.after.as_agent()}

    def as_result(self) -> dict[str, t.Any]:
        return {"setting": "winhttp_proxy", "before": self.before.as_agent(), "after": self.after.as_agent(), "reason": self.reason}

    def diff(self) -> DiffEntry:
        return DiffEntry(("winhttp",), ("[WinHTTP default proxy]", "[WinHTTP default proxy]"), (self.before.describe(), self.after.describe()))

    def backup_record(self, applied: dict[str, t.Any]) -> dict[str, t.Any]:
        return {"kind": "winhttp_proxy", "before": applied.get("before"), "after": self.after.as_agent()}


def decode_winhttp_settings(blob_base64: str) -> dict[str, t.Any] | None:
    """Explain the undocumented WinHttpSettings blob (diagnostics only; never written)."""
    try:
        data = base64.b64decode(blob_base64)
        version, counter, flags = struct.unpack_from("<III", data, 0)
        offset = 12
        texts = []
        for _field in range(2):
            (length,) = struct.unpack_from("<I", data, offset)
            texts.append(data[offset + 4: offset + 4 + length].decode("ascii", "replace"))
            offset += 4 + length
    except (binascii.Error, struct.error, TypeError):
        return None
    return {"version": version, "counter": counter, "direct": bool(flags & 1), "named_proxy": bool(flags & 2),
            "proxy": texts[0] or None, "bypass": texts[1] or None}
