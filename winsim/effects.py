"""What the running system uses, as opposed to what its registry says.

Windows reads some values only at certain moments: NlaSvc reads the NCSI values when it starts, TCP/IP
reads ``DisabledComponents`` at boot, and SCHANNEL's protocol switches and WinHTTP's ``DefaultSecureProtocols`` take
effect after a restart (KB3140245). A simulated host keeps what it read (``state["in_effect"]``) from those
moments, so a change written since is visible in the registry but not in what the host does.
"""
from __future__ import annotations

from typing import Any

from winsim.registry import Registry

NCSI_POLICY = "HKLM\\SOFTWARE\\Policies\\Microsoft\\Windows\\NetworkConnectivityStatusIndicator"
NLA_INTERNET = "HKLM\\SYSTEM\\CurrentControlSet\\Services\\NlaSvc\\Parameters\\Internet"
TCPIP6_PARAMETERS = "HKLM\\SYSTEM\\CurrentControlSet\\Services\\Tcpip6\\Parameters"


def ncsi_probing(registry: Registry) -> bool:
    """Whether NCSI's active tests are on by the registry as it is now: the policy value wins over the service value."""
    policy = registry.read(NCSI_POLICY, "64", ["NoActiveProbe"])["values"].get("NoActiveProbe")
    if policy is not None:
        return policy["value"] == 0
    service = registry.read(NLA_INTERNET, "64", ["EnableActiveProbing"])["values"].get("EnableActiveProbing")
    return service is not None and service["value"] == 1


def disabled_components(registry: Registry) -> int:
    found = registry.read(TCPIP6_PARAMETERS, "64", ["DisabledComponents"])["values"].get("DisabledComponents")
    return int(found["value"]) if found and isinstance(found["value"], int) else 0


SCHANNEL_TLS12_CLIENT = "HKLM\\SYSTEM\\CurrentControlSet\\Control\\SecurityProviders\\SCHANNEL\\Protocols\\TLS 1.2\\Client"
WINHTTP = "HKLM\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Internet Settings\\WinHttp"
CURRENT_VERSION = "HKLM\\SOFTWARE\\Microsoft\\Windows NT\\CurrentVersion"
WINHTTP_DLL = "c:\\windows\\system32\\winhttp.dll"
# The first winhttp.dll of Windows 7 SP1 that honours DefaultSecureProtocols (the simulator's illustrative KB3140245 build).
WINHTTP_KB3140245 = (6, 1, 7601, 23400)
TLS12 = 0x800
# What WinHTTP offers when DefaultSecureProtocols is absent: SSL 3.0 and TLS 1.0 before Windows 8.1 (docs/sources.md section 1).
OLD_DEFAULT_PROTOCOLS = 0xA0


def _dword(registry: Registry, key: str, name: str) -> int | None:
    found = registry.read(key, "64", [name])["values"].get(name)
    return found["value"] if found and isinstance(found["value"], int) else None


def schannel_tls12_client(registry: Registry) -> bool:
    """Whether SCHANNEL may negotiate TLS 1.2 as a client when an application asks for it: only Enabled=0 forbids it."""
    return _dword(registry, SCHANNEL_TLS12_CLIENT, "Enabled") != 0


def winhttp_tls12(registry: Registry, files: dict[str, Any]) -> bool:
    """Whether WinHTTP offers TLS 1.2 by default: its DefaultSecureProtocols where honoured (Windows 8.1 and later, or a
    winhttp.dll with KB3140245), else the release's default, and SCHANNEL must allow it."""
    version = str(registry.read(CURRENT_VERSION, "64", ["CurrentVersion"])["values"].get("CurrentVersion", {}).get("value") or "6.3")
    modern = tuple(int(part) for part in version.split(".")[:2]) >= (6, 3)
    dll = str((files.get(WINHTTP_DLL) or {}).get("version") or "0.0.0.0")
    honoured = modern or tuple(int(part) for part in dll.split(".")) >= WINHTTP_KB3140245
    configured = _dword(registry, WINHTTP, "DefaultSecureProtocols")
    protocols = configured if configured is not None and honoured else (0xA80 if modern else OLD_DEFAULT_PROTOCOLS)
    return bool(protocols & TLS12) and schannel_tls12_client(registry)


def at_boot(registry: Registry, files: dict[str, Any] | None = None) -> dict[str, Any]:
    """What a host reads when it starts (as Windows does: keys the WinRM account is denied are read too)."""
    registry = Registry(registry.tree, registry.architecture, as_system=True)
    return {"ncsi_active_probing": ncsi_probing(registry), "ipv6_disabled_components": disabled_components(registry),
            "schannel_tls12_client": schannel_tls12_client(registry), "winhttp_tls12": winhttp_tls12(registry, files or {})}
