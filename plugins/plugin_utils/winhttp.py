# -*- coding: utf-8 -*-
# Copyright: m365ops.activation contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The WinHTTP default proxy and the WinINet proxy settings as data.

Validation (full-string, DNS length limits, messages that name the offending part), semantic comparison,
the WinHTTP change per registry view, and the two undocumented blobs decoded for evidence: WinHTTP's
``WinHttpSettings`` and WinINet's ``DefaultConnectionSettings`` (what ``netsh winhttp import proxy source=ie``
reads).

On 64-bit Windows the WinHTTP default proxy exists once per registry view: 64-bit processes read
``HKLM\\SOFTWARE\\...\\Connections\\WinHttpSettings``, 32-bit ones (32-bit Office) the ``Wow6432Node`` twin.
The 64-bit view is read and written through the WinHTTP API; the 32-bit view is written by the 32-bit
``netsh`` (``%SystemRoot%\\SysWOW64``), as Microsoft's guidance for x64 says, and read back from its blob.
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
import re
import struct
import typing as t
from dataclasses import dataclass

from ansible_collections.m365ops.activation.plugins.plugin_utils.engine.agent import OpResult
from ansible_collections.m365ops.activation.plugins.plugin_utils.engine.changes import DiffEntry
from ansible_collections.m365ops.activation.plugins.plugin_utils.registry import RegistryKey, RegistryRef

if t.TYPE_CHECKING:
    from ansible_collections.m365ops.activation.plugins.plugin_utils.engine.concern import HostState

CONNECTIONS = r"HKLM\SOFTWARE\Microsoft\Windows\CurrentVersion\Internet Settings\Connections"
SETTINGS_VALUE = "WinHttpSettings"
NETSH_32 = r"%SystemRoot%\SysWOW64\netsh.exe"
VIEW_NAMES = {"64": "64-bit", "32": "32-bit"}
# WinHTTP's default configuration knows these schemes; it ignores socks= entries (it has no SOCKS support).
SCHEMES = ("http", "https", "ftp")
MAX_HOST = 253
MAX_LABEL = 63
MAX_BYPASS_ENTRY = 255
_LABEL = re.compile(r"[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?")
_BYPASS = re.compile(r"<local>|[A-Za-z0-9*?._\-\[\]:]+")
_SERVER = re.compile(r"(\[[^\]]*\]|[^:\[\]]*)(?::([0-9]{1,5}))?")


class ProxyError(ValueError):
    """An option value that is not a proxy WinHTTP understands."""


def _shown(text: str) -> str:
    """The text as it can be shown in one line: control characters escaped, long text cut."""
    shown = text.encode("unicode_escape").decode("ascii")
    return shown if len(shown) <= 80 else shown[:77] + "..."


def _host(host: str, what: str) -> str:
    if host.startswith("["):
        try:
            return f"[{ipaddress.IPv6Address(host[1:-1]).compressed}]"
        except ValueError as error:
            raise ProxyError(f"{what}: '{_shown(host)}' is not an IPv6 address in brackets") from error
    if not host:
        raise ProxyError(f"{what}: the host name is empty")
    if len(host) > MAX_HOST:
        raise ProxyError(f"{what}: the host name is {len(host)} characters long; DNS allows at most {MAX_HOST}")
    labels = host.rstrip(".").split(".")
    if all(label.isdigit() for label in labels):
        try:
            return str(ipaddress.IPv4Address(host))
        except ValueError as error:
            raise ProxyError(f"{what}: '{_shown(host)}' is neither an IPv4 address nor a host name "
                             "(a host name cannot be all digits)") from error
    for label in labels:
        if len(label) > MAX_LABEL:
            raise ProxyError(f"{what}: the label '{_shown(label[:20])}...' of '{_shown(host[:40])}' is {len(label)} characters long; "
                             f"DNS allows at most {MAX_LABEL}")
        if not _LABEL.fullmatch(label):
            raise ProxyError(f"{what}: '{_shown(label)}' in '{_shown(host)}' is not a host name label "
                             "(letters, digits, '-' and '_'; no spaces, newlines or other characters)")
    return host.lower()


def _server(text: str, what: str) -> str:
    """Validate ``host[:port]`` (a name, IPv4, or [IPv6]; an ``http://`` prefix is dropped) and return it canonical."""
    text = text.strip()
    lowered = text.lower()
    if lowered.startswith("http://"):
        text = text[len("http://"):].rstrip("/")
    elif "://" in text:
        raise ProxyError(f"{what}: '{_shown(text)}' names a scheme WinHTTP cannot use for its proxy; give host:port")
    match = _SERVER.fullmatch(text)
    if not match:
        raise ProxyError(f"{what}: '{_shown(text)}' is not host:port")
    host, port = match.group(1), match.group(2)
    if port is not None and not 1 <= int(port) <= 65535:
        raise ProxyError(f"{what}: port {port} is not between 1 and 65535")
    return _host(host, what) + (f":{int(port)}" if port is not None else "")


def split_proxy(text: str, what: str = "proxy") -> tuple[str, list[str]]:
    """``host:port`` or ``scheme=host:port;...`` in canonical form, and the socks entries WinHTTP would ignore."""
    entries = [entry.strip() for entry in text.split(";") if entry.strip()]
    if not entries:
        raise ProxyError(f"{what}: blank; give host:port (to remove the WinHTTP proxy, ask for direct access explicitly)")
    if len(entries) == 1 and "=" not in entries[0]:
        return _server(entries[0], what), []
    per_scheme: dict[str, str] = {}
    ignored = []
    for entry in entries:
        scheme, separator, server = entry.partition("=")
        scheme = scheme.strip().lower()
        if separator and scheme == "socks":
            ignored.append(entry)
            continue
        if not separator or scheme not in SCHEMES:
            raise ProxyError(f"{what}: '{_shown(entry)}' is not scheme=host:port with scheme one of {', '.join(SCHEMES)}")
        if scheme in per_scheme:
            raise ProxyError(f"{what}: scheme '{scheme}' is given twice")
        per_scheme[scheme] = _server(server, what)
    if not per_scheme:
        raise ProxyError(f"{what}: only socks entries ({'; '.join(ignored)}), which WinHTTP ignores")
    return ";".join(f"{scheme}={per_scheme[scheme]}" for scheme in SCHEMES if scheme in per_scheme), ignored


def normalize_proxy(text: str, what: str = "proxy") -> str:
    """A proxy as the user asks for it: socks entries are refused, since WinHTTP would ignore them."""
    proxy, ignored = split_proxy(text, what)
    if ignored:
        raise ProxyError(f"{what}: WinHTTP has no SOCKS support and ignores '{'; '.join(ignored)}'; give http=, https= or ftp= entries")
    return proxy


def normalize_bypass(entries: t.Iterable[str], what: str = "bypass") -> list[str]:
    """Bypass entries, each validated whole, duplicates (case-insensitive) removed, order kept."""
    seen: set[str] = set()
    result = []
    for raw in entries:
        entry = raw.strip()
        if not entry:
            continue
        if len(entry) > MAX_BYPASS_ENTRY:
            raise ProxyError(f"{what}: an entry of {len(entry)} characters is longer than {MAX_BYPASS_ENTRY}")
        if not _BYPASS.fullmatch(entry):
            raise ProxyError(f"{what}: '{_shown(entry)}' is not <local> or a host name, address or wildcard pattern")
        if entry.lower() not in seen:
            seen.add(entry.lower())
            result.append(entry if entry == "<local>" else entry.lower())
    return result


def split_bypass(text: str | None) -> list[str]:
    """A bypass list as WinHTTP and WinINet store it: entries separated by ';' (or whitespace)."""
    return [entry for entry in re.split(r"[;\s]+", text or "") if entry]


def is_loopback(proxy: str) -> bool:
    """Whether every server of a canonical proxy string is this machine (a local filter or debugging proxy)."""
    hosts = [server.rsplit("=", 1)[-1] for server in proxy.split(";")]
    names = [re.sub(r":[0-9]+\Z", "", host).strip("[]") for host in hosts]
    return all(name == "localhost" or _is_loopback_address(name) for name in names)


def _is_loopback_address(name: str) -> bool:
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


@dataclass(frozen=True)
class ProxySetting:
    access_type: str  # direct | named | other (an access type the default configuration should not hold)
    proxy: str | None = None
    bypass: tuple[str, ...] = ()
    code: int | None = None

    @classmethod
    def from_agent(cls, data: t.Mapping[str, t.Any]) -> "ProxySetting":
        if data.get("access_type") == "named":
            return cls("named", data.get("proxy"), tuple(split_bypass(data.get("bypass"))))
        if data.get("access_type") == "direct":
            return cls("direct")
        # Never taken for direct access: a module that did would "fix" something it does not understand.
        return cls("other", data.get("proxy"), tuple(split_bypass(data.get("bypass"))), data.get("access_type_code"))

    @classmethod
    def from_blob(cls, decoded: t.Mapping[str, t.Any] | None) -> "ProxySetting":
        """The setting a ``WinHttpSettings`` blob holds; an absent blob is WinHTTP's default, direct access."""
        if not decoded or not decoded.get("named_proxy") or not decoded.get("proxy"):
            return cls("direct")
        return cls("named", decoded["proxy"], tuple(split_bypass(decoded.get("bypass"))))

    def same_as(self, other: "ProxySetting") -> bool:
        """Equal for WinHTTP: case, spacing, scheme order and bypass order do not matter."""
        if self.access_type != other.access_type:
            return False
        if self.access_type == "direct":
            return True
        if self.access_type == "other":
            return self.code == other.code
        try:
            return (normalize_proxy(self.proxy or "") == normalize_proxy(other.proxy or "")
                    and {entry.lower() for entry in self.bypass} == {entry.lower() for entry in other.bypass})
        except ProxyError:
            return False

    def describe(self) -> str:
        if self.access_type == "direct":
            return "direct access (no proxy)"
        if self.access_type == "other":
            return f"WinHTTP access type {self.code}, which this module does not know"
        return f"proxy {self.proxy}" + (f", bypass {';'.join(self.bypass)}" if self.bypass else "")

    def as_agent(self) -> dict[str, t.Any]:
        answer = {"access_type": self.access_type, "proxy": self.proxy, "bypass": ";".join(self.bypass) or None}
        return answer if self.access_type != "other" else {**answer, "access_type_code": self.code}

    def netsh_arguments(self) -> list[str]:
        """``netsh winhttp ...`` arguments that set this configuration (judged by exit code only)."""
        if self.access_type == "direct":
            return ["winhttp", "reset", "proxy"]
        arguments = ["winhttp", "set", "proxy", f"proxy-server={self.proxy}"]
        return arguments + ([f"bypass-list={';'.join(self.bypass)}"] if self.bypass else [])


def settings_ref(view: str) -> RegistryRef:
    return RegistryRef(RegistryKey(CONNECTIONS, view), SETTINGS_VALUE)


@dataclass(frozen=True)
class ProxyChange:
    """Set the WinHTTP default proxy of one registry view."""

    before: ProxySetting
    after: ProxySetting
    reason: str
    view: str = "64"
    reboot_required: bool = False

    @property
    def target(self) -> str:
        return f"the WinHTTP default proxy ({VIEW_NAMES[self.view]} view)"

    def to_op(self) -> dict[str, t.Any]:
        if self.view == "64":
            return {"op": "winhttp_proxy_write", **self.after.as_agent()}
        return {"op": "process_run", "path": NETSH_32, "arguments": self.after.netsh_arguments(), "success_exit_codes": [0],
                "timeout_seconds": 120}

    def as_result(self) -> dict[str, t.Any]:
        return {"setting": "winhttp_proxy", "view": self.view, "before": self.before.as_agent(), "after": self.after.as_agent(),
                "reason": self.reason}

    def diff(self) -> DiffEntry:
        header = f"[WinHTTP default proxy, {VIEW_NAMES[self.view]} view]"
        return DiffEntry(("winhttp", self.view), (header, header), (self.before.describe(), self.after.describe()))

    def backup_record(self, applied: dict[str, t.Any]) -> dict[str, t.Any]:
        # The API write reports what it replaced; netsh does not, so the probed setting is the record.
        before = applied.get("before") if self.view == "64" and applied.get("before") else self.before.as_agent()
        return {"kind": "winhttp_proxy", "view": self.view, "before": before, "after": self.after.as_agent()}


def _texts(data: bytes, offset: int, count: int) -> tuple[list[str], int]:
    texts = []
    for _field in range(count):
        (length,) = struct.unpack_from("<I", data, offset)
        if offset + 4 + length > len(data):
            raise struct.error("length beyond the end of the blob")
        texts.append(data[offset + 4: offset + 4 + length].decode("ascii", "replace"))
        offset += 4 + length
    return texts, offset


def decode_winhttp_settings(blob_base64: str) -> dict[str, t.Any] | None:
    """Explain the undocumented WinHttpSettings blob (evidence and read-back only; never written)."""
    try:
        data = base64.b64decode(blob_base64, validate=True)
        version, counter, flags = struct.unpack_from("<III", data, 0)
        (proxy, bypass), _end = _texts(data, 12, 2)
    except (binascii.Error, struct.error, TypeError, ValueError):
        return None
    return {"version": version, "counter": counter, "direct": bool(flags & 1), "named_proxy": bool(flags & 2),
            "proxy": proxy or None, "bypass": bypass or None}


# DefaultConnectionSettings flags (WinINet's INTERNET_PER_CONN_FLAGS).
FLAG_PROXY = 0x02
FLAG_AUTO_PROXY_URL = 0x04
FLAG_AUTO_DETECT = 0x08


def decode_connection_settings(blob_base64: str) -> dict[str, t.Any] | None:
    """WinINet's DefaultConnectionSettings: u32 version, u32 counter, u32 flags, then proxy, bypass and PAC URL strings."""
    try:
        data = base64.b64decode(blob_base64, validate=True)
        _version, _counter, flags = struct.unpack_from("<III", data, 0)
        (proxy, bypass, pac_url), _end = _texts(data, 12, 3)
    except (binascii.Error, struct.error, TypeError, ValueError):
        return None
    return {"manual_proxy": bool(flags & FLAG_PROXY), "proxy": proxy or None, "bypass": bypass or None,
            "pac": bool(flags & FLAG_AUTO_PROXY_URL), "pac_url": pac_url or None, "auto_detect": bool(flags & FLAG_AUTO_DETECT)}


@dataclass(frozen=True)
class WinInetProxy:
    """The proxy one WinINet configuration (the machine's, or one user's) uses, as evidence for WinHTTP."""

    source: str
    manual_proxy: str | None = None        # canonical, when the manual proxy box is ticked
    bypass: tuple[str, ...] = ()
    pac_url: str | None = None
    auto_detect: bool = False
    raw_proxy: str | None = None           # as stored, when it could not be understood
    problem: str | None = None
    ignored: tuple[str, ...] = ()

    @classmethod
    def from_settings(cls, source: str, settings: t.Mapping[str, t.Any]) -> "WinInetProxy":
        pac_url = settings.get("pac_url") if settings.get("pac") else None
        auto_detect = bool(settings.get("auto_detect"))
        raw = settings.get("proxy") if settings.get("manual_proxy") else None
        if not raw:
            return cls(source, pac_url=pac_url, auto_detect=auto_detect)
        try:
            proxy, ignored = split_proxy(raw, f"WinINet proxy of {source}")
            bypass = normalize_bypass(split_bypass(settings.get("bypass")), f"WinINet bypass list of {source}")
        except ProxyError as error:
            return cls(source, pac_url=pac_url, auto_detect=auto_detect, raw_proxy=raw, problem=str(error))
        return cls(source, proxy, tuple(bypass), pac_url, auto_detect, raw, None, tuple(ignored))

    @property
    def setting(self) -> ProxySetting | None:
        return ProxySetting("named", self.manual_proxy, self.bypass) if self.manual_proxy else None

    def describe(self) -> str:
        parts = []
        if self.manual_proxy:
            parts.append(f"proxy {self.manual_proxy}" + (f" (bypass {';'.join(self.bypass)})" if self.bypass else ""))
        elif self.raw_proxy:
            parts.append(f"proxy '{_shown(self.raw_proxy)}' that WinHTTP cannot use")
        if self.pac_url:
            parts.append(f"PAC file {self.pac_url}")
        if self.auto_detect:
            parts.append("automatic detection (WPAD)")
        return ", ".join(parts) or "direct access"

    def as_fact(self) -> dict[str, t.Any]:
        return {"source": self.source, "proxy": self.manual_proxy or self.raw_proxy, "bypass": list(self.bypass),
                "pac_url": self.pac_url, "auto_detect": self.auto_detect, "problem": self.problem, "ignored": list(self.ignored)}


def current_views(state: "HostState", api: OpResult) -> dict[str, ProxySetting]:
    """The WinHTTP default proxy of each registry view the host has: the API's answer, and the 32-bit view's blob."""
    views = {"64": ProxySetting.from_agent(api.data)}
    if state.windows.has_wow64:
        views["32"] = ProxySetting.from_blob(blob_of(state, "32"))
    return views


def blob_of(state: "HostState", view: str) -> dict[str, t.Any] | None:
    value = state.registry.get(settings_ref(view))
    return decode_winhttp_settings(value.value) if value is not None and value.type == "binary" else None


def verify_ops(changes: t.Sequence[t.Any]) -> dict[str, dict[str, t.Any]]:
    """The read that verifies a 32-bit view written by netsh (the API write of the 64-bit view reads back by itself)."""
    if any(isinstance(change, ProxyChange) and change.view == "32" for change in changes):
        ref = settings_ref("32")
        return {"winhttp_32": {"op": "registry_read", "key": ref.key.path, "view": ref.key.view, "names": [ref.name]}}
    return {}


def verify_proxy(changes: t.Sequence[t.Any], applied: t.Sequence[OpResult], checks: t.Mapping[str, OpResult]) -> list[str]:
    """Read-back of every view written (``applied``: one result per change): WinHTTP may accept a configuration and store
    something else."""
    problems = []
    for change, outcome in zip(changes, applied):
        if not isinstance(change, ProxyChange) or not outcome.ok:
            continue
        if change.view == "64":
            stored = ProxySetting.from_agent(outcome.data.get("after") or {})
        else:
            check = checks.get("winhttp_32")
            blob = (check.data.get("values") or {}).get(settings_ref("32").name) if check is not None and check.ok else None
            stored = ProxySetting.from_blob(decode_winhttp_settings(blob["value"]) if blob and blob.get("type") == "binary" else None)
        if not stored.same_as(change.after):
            problems.append(f"WinHTTP ({VIEW_NAMES[change.view]} view) reads back {stored.describe()} after "
                            f"{change.after.describe()} was written")
    return problems


# ERROR_WINHTTP_* numbers (winhttp.h) by name.
WINHTTP_ERRORS = {12002: "TIMEOUT", 12007: "NAME_NOT_RESOLVED", 12029: "CANNOT_CONNECT", 12030: "CONNECTION_ERROR",
                  12044: "CLIENT_AUTH_CERT_NEEDED", 12037: "SECURE_CERT_DATE_INVALID", 12038: "SECURE_CERT_CN_INVALID",
                  12045: "SECURE_INVALID_CA", 12057: "SECURE_CERT_REV_FAILED", 12152: "INVALID_SERVER_RESPONSE",
                  12157: "SECURE_CHANNEL_ERROR", 12167: "UNABLE_TO_DOWNLOAD_SCRIPT", 12175: "SECURE_FAILURE",
                  12178: "AUTO_PROXY_SERVICE_ERROR", 12180: "AUTODETECTION_FAILED"}


def winhttp_error(request: t.Mapping[str, t.Any]) -> str:
    """How a failed WinHTTP request (an ``http_request`` answer) is named: ERROR_WINHTTP_<name> by its number."""
    code = request.get("error_code")
    if code in WINHTTP_ERRORS:
        return f"ERROR_WINHTTP_{WINHTTP_ERRORS[code]}"
    return f"error {code}" if code else str(request.get("error") or "no answer")
