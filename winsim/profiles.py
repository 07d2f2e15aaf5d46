"""Named starting states for simulated hosts.

Each profile is the registry and CIM view of a Windows release as far as this collection
reads it, plus the drift that makes it interesting (a hardening script, a missing update).
Values follow docs/sources.md (Microsoft's pages behind each step).
"""
from __future__ import annotations

import base64
import copy
import struct
from datetime import datetime, timedelta, timezone
from dataclasses import dataclass
from typing import Any, Callable

from winsim.agent import winhttp_blob
from winsim.effects import at_boot
from winsim.registry import Registry

SCHANNEL = "HKLM\\SYSTEM\\CurrentControlSet\\Control\\SecurityProviders\\SCHANNEL\\Protocols"
WINHTTP = "HKLM\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Internet Settings\\WinHttp"
WINHTTP_WOW = "HKLM\\SOFTWARE\\Wow6432Node\\Microsoft\\Windows\\CurrentVersion\\Internet Settings\\WinHttp"
INTERNET_SETTINGS = "HKLM\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Internet Settings"
INTERNET_SETTINGS_WOW = "HKLM\\SOFTWARE\\Wow6432Node\\Microsoft\\Windows\\CurrentVersion\\Internet Settings"
USER_INTERNET_SETTINGS = "Software\\Microsoft\\Windows\\CurrentVersion\\Internet Settings"
WININET_POLICY = "HKLM\\SOFTWARE\\Policies\\Microsoft\\Windows\\CurrentVersion\\Internet Settings"
# The signed-in user of workstation profiles, and the local administrator WinRM connects as.
USER_SID = "S-1-5-21-1004336348-1177238915-682003330-1104"
USER_NAME = "CORP\\alice"
ADMIN_SID = "S-1-5-21-3623811015-3361044348-30300820-500"
# WinINet DefaultConnectionSettings flags.
FLAG_DIRECT, FLAG_PROXY, FLAG_PAC, FLAG_AUTO_DETECT = 0x01, 0x02, 0x04, 0x08
SITE_PROXY = "proxy.corp.example:8080"
SITE_BYPASS = "*.corp.example;<local>"
INSPECTION_CA = "Contoso TLS Inspection CA"


PROFILE_LIST = "HKLM\\SOFTWARE\\Microsoft\\Windows NT\\CurrentVersion\\ProfileList"


def add_profile(registry: dict[str, Any], sid: str, name: str) -> None:
    """A user profile Windows knows (ProfileList), in C:\\Users."""
    _set(registry, f"{PROFILE_LIST}\\{sid}", "ProfileImagePath", "expand_string", f"%SystemDrive%\\Users\\{name}")


def connection_settings_blob(flags: int, proxy: str = "", bypass: str = "", pac_url: str = "", counter: int = 3) -> str:
    """WinINet DefaultConnectionSettings: version, counter, flags, proxy, bypass, PAC URL, then bytes WinINet keeps for itself."""
    data = struct.pack("<III", 0x46, counter, flags)
    for text in (proxy, bypass, pac_url):
        encoded = text.encode("ascii")
        data += struct.pack("<I", len(encoded)) + encoded
    return base64.b64encode(data + bytes(32)).decode()


def user_wininet(registry: dict[str, Any], sid: str, flags: int, proxy: str = "", bypass: str = "", pac_url: str = "") -> None:
    """A user's Internet Options as WinINet stores them: the blob, and the plain values beside it."""
    settings = f"HKU\\{sid}\\{USER_INTERNET_SETTINGS}"
    _set(registry, f"{settings}\\Connections", "DefaultConnectionSettings", "binary", connection_settings_blob(flags, proxy, bypass, pac_url))
    _set(registry, settings, "ProxyEnable", "dword", 1 if flags & FLAG_PROXY else 0)
    if proxy:
        _set(registry, settings, "ProxyServer", "string", proxy)
        _set(registry, settings, "ProxyOverride", "string", bypass)
    if pac_url:
        _set(registry, settings, "AutoConfigURL", "string", pac_url)


NCSI_INTERNET = "HKLM\\SYSTEM\\CurrentControlSet\\Services\\NlaSvc\\Parameters\\Internet"
GPO_LIST = "HKLM\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Group Policy\\State\\Machine\\GPO-List"
LOCAL_MACHINE_POL = "C:\\Windows\\System32\\GroupPolicy\\Machine\\Registry.pol"
NCSI_POLICY = "HKLM\\SOFTWARE\\Policies\\Microsoft\\Windows\\NetworkConnectivityStatusIndicator"
# NCSI probe targets as Windows installs them; 1607 (build 14393) moved the web probe to msftconnecttest.com.
NCSI_PROBES_NCSI = {
    "ActiveWebProbeHost": "www.msftncsi.com", "ActiveWebProbePath": "ncsi.txt", "ActiveWebProbeContent": "Microsoft NCSI",
    "ActiveDnsProbeHost": "dns.msftncsi.com", "ActiveDnsProbeContent": "131.107.255.255",
    "ActiveWebProbeHostV6": "ipv6.msftncsi.com", "ActiveWebProbePathV6": "ncsi.txt", "ActiveWebProbeContentV6": "Microsoft NCSI",
    "ActiveDnsProbeHostV6": "dns.msftncsi.com", "ActiveDnsProbeContentV6": "fd3e:4f5a:5b81::1",
}
NCSI_PROBES_CONNECTTEST = {
    **NCSI_PROBES_NCSI,
    "ActiveWebProbeHost": "www.msftconnecttest.com", "ActiveWebProbePath": "connecttest.txt", "ActiveWebProbeContent": "Microsoft Connect Test",
    "ActiveWebProbeHostV6": "ipv6.msftconnecttest.com", "ActiveWebProbePathV6": "connecttest.txt",
    "ActiveWebProbeContentV6": "Microsoft Connect Test",
}


def _set(tree: dict[str, Any], key: str, name: str | None = None, value_type: str = "dword", value: Any = None) -> dict[str, Any]:
    """Create ``key`` (physical path) in ``tree`` and optionally store one value in it."""
    hive, *parts = key.split("\\")
    node = tree.setdefault(hive, {"keys": {}, "values": {}})
    for part in parts:
        node = node.setdefault("keys", {}).setdefault(part, {"keys": {}, "values": {}})
    if name is not None:
        node["values"][name] = {"type": value_type, "value": value}
    return node


def _delete_key(tree: dict[str, Any], key: str) -> None:
    """Remove ``key`` (physical path) and everything under it from ``tree``."""
    hive, *parts = key.split("\\")
    node = tree[hive]
    for part in parts[:-1]:
        node = node["keys"][part]
    del node["keys"][parts[-1]]


@dataclass(frozen=True)
class Release:
    version: str
    product_type: int
    edition: str
    installation_type: str
    service_pack: int = 0
    display_version: str | None = None
    ubr: int | None = None
    architecture: str = "AMD64"
    hotfixes: tuple[str, ...] = ()
    # winhttp.dll's file version. The simulator's build numbers are illustrative, not Microsoft's file tables.
    winhttp_version: str = ""
    # .NET Framework 4.x Release (NDP\v4\Full): 4.8.1 on Windows 10/11 (533320); 4.5.2 (379893) on the older releases,
    # the least WMF 5.1 installs on, since every profile but the PowerShell 4.0 one models a host with WMF 5.1.
    dotnet_release: int = 379893


WINSOCK = "HKLM\\SYSTEM\\CurrentControlSet\\Services\\WinSock2\\Parameters"
DOTNET_SETUP = "HKLM\\SOFTWARE\\Microsoft\\NET Framework Setup\\NDP\\v4\\Full"
# Windows 8.1 as it ships: .NET Framework 4.5.1.
DOTNET_451 = 378675
C2R_CLIENT = "C:\\Program Files\\Common Files\\microsoft shared\\ClickToRun\\OfficeC2RClient.exe"
CLICK_TO_RUN = "HKLM\\SOFTWARE\\Microsoft\\Office\\ClickToRun\\Configuration"
OFFICE_UPDATE_POLICY = "HKLM\\SOFTWARE\\Policies\\Microsoft\\office\\16.0\\Common\\officeupdate"
CHANNEL_CURRENT = "492350f6-3a01-4f97-b9c0-c7c6ddf67d60"
CHANNEL_MONTHLY_ENTERPRISE = "55336b82-a18d-4dd6-b5f6-9e5095c314a6"
UI_LANGUAGES = "HKLM\\SYSTEM\\CurrentControlSet\\Control\\MUI\\UILanguages"
INTERFACES = "HKLM\\SYSTEM\\CurrentControlSet\\Services\\Tcpip\\Parameters\\Interfaces"
INTERFACE_GUID = "{5c4e6a3e-2f1b-4d0e-9a61-3b7d2a9c8e01}"
SYSTEM_PROVIDERS = ("%SystemRoot%\\system32\\mswsock.dll", "%SystemRoot%\\system32\\mswsock.dll", "%SystemRoot%\\system32\\mswsock.dll")
SYSTEM_NAMESPACES = ("%SystemRoot%\\System32\\NLAapi.dll", "%SystemRoot%\\System32\\napinsp.dll", "%SystemRoot%\\System32\\mswsock.dll")


def packed_catalog_item(path: str, chain_length: int = 1) -> str:
    """PackedCatalogItem as Windows stores it: the provider path as ANSI in char[MAX_PATH], then WSAPROTOCOL_INFOW, whose
    ProtocolChain.ChainLen (40 bytes in) is 1 for a base protocol, 0 for a layered protocol, more for a chain over one."""
    info = bytearray(372)
    struct.pack_into("<i", info, 40, chain_length)
    return base64.b64encode(path.encode("ascii").ljust(260, b"\0") + bytes(info)).decode()


HOSTS_FILE = b"# Copyright (c) 1993-2009 Microsoft Corp.\r\n#\r\n# localhost name resolution is handled within DNS itself.\r\n"


def registry_pol(entries: list[tuple[str, str, str, Any]]) -> bytes:
    """A Registry.pol file (PReg version 1) holding ``(key, value name, type, value)`` entries, as Group Policy writes it."""
    kinds = {"string": 1, "dword": 4}
    out = bytearray(b"PReg" + struct.pack("<I", 1))
    for key, name, kind, value in entries:
        data = struct.pack("<I", value) if kind == "dword" else f"{value}\0".encode("utf-16-le")
        out += "[".encode("utf-16-le") + f"{key}\0".encode("utf-16-le") + ";".encode("utf-16-le") + f"{name}\0".encode("utf-16-le")
        out += ";".encode("utf-16-le") + struct.pack("<I", kinds[kind]) + ";".encode("utf-16-le") + struct.pack("<I", len(data))
        out += ";".encode("utf-16-le") + data + "]".encode("utf-16-le")
    return bytes(out)


def _files(state: dict[str, Any], release: Release) -> None:
    """The files the collection looks at: winhttp.dll and the system's Winsock providers, in System32 and SysWOW64."""
    folders = ("C:\\Windows\\System32",) + (("C:\\Windows\\SysWOW64",) if release.architecture != "x86" else ())
    version = release.winhttp_version or f"{release.version}.{release.ubr or 16384}"
    files = state.setdefault("files", {})
    files["c:\\windows\\system32\\drivers\\etc\\hosts"] = {"size": len(HOSTS_FILE), "version": None,
                                                           "content": base64.b64encode(HOSTS_FILE).decode()}
    for folder in folders:
        files[f"{folder}\\winhttp.dll".lower()] = {"size": 1055232, "version": version}
        for dll in sorted({path.rsplit("\\", 1)[1].lower() for path in SYSTEM_PROVIDERS + SYSTEM_NAMESPACES}):
            files[f"{folder}\\{dll}".lower()] = {"size": 327680, "version": f"{release.version}.{release.ubr or 16384}"}


def add_file(state: dict[str, Any], path: str, size: int = 131072, version: str | None = "1.0.0.0") -> None:
    """Put a file on the simulated disk (``path`` already expanded)."""
    state.setdefault("files", {})[path.lower()] = {"size": size, "version": version}


def _catalogs(registry: dict[str, Any], architecture: str, extra_provider: str | None = None, extra_namespace: str | None = None) -> None:
    """Protocol and namespace catalogs, 32-bit and (on 64-bit Windows) 64-bit, numbered as Windows numbers them.
    ``extra_provider`` is a layered protocol (an LSP) and a chain over TCP; ``extra_namespace`` a namespace provider."""
    for suffix in ("", "64") if architecture != "x86" else ("",):
        entries = [(path, 1) for path in SYSTEM_PROVIDERS] + ([(extra_provider, 0), (extra_provider, 2)] if extra_provider else [])
        for index, (path, chain_length) in enumerate(entries, start=1):
            _set(registry, f"{WINSOCK}\\Protocol_Catalog9\\Catalog_Entries{suffix}\\{index:012d}", "PackedCatalogItem",
                 "binary", packed_catalog_item(path, chain_length))
        for index, path in enumerate(list(SYSTEM_NAMESPACES) + ([extra_namespace] if extra_namespace else []), start=1):
            _set(registry, f"{WINSOCK}\\NameSpace_Catalog5\\Catalog_Entries{suffix}\\{index:012d}", "LibraryPath",
                 "expand_string", path)


# Short name: (start mode, dependencies, English display name, Japanese display name). Display names are only
# ever shown, never matched: they are localized, and the Japanese profile proves nothing depends on them.
SERVICES = {
    "EventLog": ("auto", [], "Windows Event Log", "Windows イベント ログ"),
    "RpcSs": ("auto", [], "Remote Procedure Call (RPC)", "Remote Procedure Call (RPC)"),
    "NSI": ("auto", ["RpcSs"], "Network Store Interface Service", "ネットワーク ストア インターフェイス サービス"),
    "Dhcp": ("auto", ["NSI"], "DHCP Client", "DHCP Client"),
    "Tcpip": ("system", [], "TCP/IP Protocol Driver", "TCP/IP プロトコル ドライバー"),
    "NlaSvc": ("auto", ["NSI", "RpcSs", "Tcpip", "Dhcp", "EventLog"], "Network Location Awareness", "Network Location Awareness"),
    "netprofm": ("manual", ["RpcSs", "NlaSvc"], "Network List Service", "Network List Service"),
    "NcdAutoSetup": ("manual", ["netprofm"], "Network Connected Devices Auto-Setup", "ネットワーク接続デバイスの自動セットアップ"),
}


def base_services(release: "Release", language: int) -> dict[str, Any]:
    services = {}
    for name, (mode, dependencies, english, japanese) in SERVICES.items():
        # Network Connected Devices Auto-Setup arrived with Windows 8 / Server 2012.
        if name == "NcdAutoSetup" and release.version.startswith("6.1."):
            continue
        services[name] = {"start_mode": mode, "status": "running", "dependencies": dependencies,
                          "display_name": japanese if language == 1041 else english}
        # Network Connected Devices Auto-Setup is "Manual (Trigger Start)": Windows starts it on its trigger.
        if name == "NcdAutoSetup":
            services[name]["trigger_start"] = True
    return services


def base_adapters(release: "Release") -> dict[str, Any]:
    """A wired adapter that carries the WinRM connection and a Wi-Fi adapter, with their IPv6 binding (ms_tcpip6)."""
    return {
        # The NetAdapter module (Get-/Set-NetAdapterBinding) arrived with Windows 8 / Server 2012.
        "netadapter_supported": not release.version.startswith("6.1."),
        "list": [
            {"name": "Ethernet", "guid": INTERFACE_GUID, "if_index": 6, "status": "up",
             "addresses": ["198.51.100.23", "fe80::5c4e:6a3e:2f1b:4d0e"], "ipv6_bound": True, "management": True},
            {"name": "Wi-Fi", "guid": "{0b7a7c1d-91e2-4c55-8a0f-6f3e2d1c0b9a}", "if_index": 11, "status": "up",
             "addresses": ["203.0.113.41", "fe80::91e2:4c55:8a0f:6f3e"], "ipv6_bound": True, "management": False},
        ],
    }


# Microsoft 365 Apps as workstation profiles have it: Current Channel (an illustrative build number).
OFFICE_BUILD = "16.0.17928.20156"


def install_office(registry: dict[str, Any]) -> None:
    """Click-to-Run's configuration of Microsoft 365 Apps (its client file is added beside it)."""
    for name, value in (("VersionToReport", OFFICE_BUILD), ("Platform", "x64"), ("ProductReleaseIds", "O365ProPlusRetail"),
                        ("CDNBaseUrl", f"http://officecdn.microsoft.com/pr/{CHANNEL_CURRENT}")):
        _set(registry, CLICK_TO_RUN, name, "string", value)


def base_state(name: str, release: Release, language: int = 1033) -> dict[str, Any]:
    major, minor, build = release.version.split(".")
    registry: dict[str, Any] = {}
    current = "HKLM\\SOFTWARE\\Microsoft\\Windows NT\\CurrentVersion"
    _set(registry, current, "CurrentVersion", "string", "6.3" if int(major) >= 10 else f"{major}.{minor}")
    _set(registry, current, "CurrentBuildNumber", "string", build)
    _set(registry, current, "EditionID", "string", release.edition)
    _set(registry, current, "InstallationType", "string", release.installation_type)
    if int(major) >= 10:
        _set(registry, current, "CurrentMajorVersionNumber", "dword", int(major))
        _set(registry, current, "CurrentMinorVersionNumber", "dword", int(minor))
    if release.ubr is not None:
        _set(registry, current, "UBR", "dword", release.ubr)
    if release.display_version:
        _set(registry, current, "DisplayVersion", "string", release.display_version)
    _set(registry, "HKLM\\SYSTEM\\CurrentControlSet\\Control\\Session Manager\\Environment",
         "PROCESSOR_ARCHITECTURE", "string", release.architecture)
    _set(registry, "HKLM\\SYSTEM\\CurrentControlSet\\Control\\Session Manager", "BootExecute", "multi_string", ["autocheck autochk *"])
    for key in ("ActiveComputerName", "ComputerName"):
        _set(registry, f"HKLM\\SYSTEM\\CurrentControlSet\\Control\\ComputerName\\{key}", "ComputerName", "string", name.upper())
    _set(registry, SCHANNEL)
    _set(registry, WINHTTP)
    _set(registry, INTERNET_SETTINGS, "MigrateProxy", "dword", 1)
    for framework in ("v2.0.50727", "v4.0.30319"):
        _set(registry, f"HKLM\\SOFTWARE\\Microsoft\\.NETFramework\\{framework}")
    if release.architecture != "x86":
        _set(registry, WINHTTP_WOW)
        for framework in ("v2.0.50727", "v4.0.30319"):
            _set(registry, f"HKLM\\SOFTWARE\\Wow6432Node\\Microsoft\\.NETFramework\\{framework}")
    _set(registry, current, "SystemRoot", "string", "C:\\Windows")
    _set(registry, DOTNET_SETUP, "Release", "dword", release.dotnet_release)
    # The direct-access WinHttpSettings blob Windows ships (docs/sources.md section 2), in each registry view.
    for connections in (f"{INTERNET_SETTINGS}\\Connections",) + ((f"{INTERNET_SETTINGS_WOW}\\Connections",) if release.architecture != "x86" else ()):
        _set(registry, connections, "WinHttpSettings", "binary", base64.b64encode(bytes.fromhex("1800000000000000010000000000000000000000")).decode())
    # Loaded profile hives: the WinRM administrator's (its WinINet is empty, as a service account's usually is) and,
    # on workstations, the signed-in user's, whose Internet Options hold Windows' default (automatic detection on).
    _set(registry, f"HKU\\{ADMIN_SID}\\{USER_INTERNET_SETTINGS}")
    add_profile(registry, ADMIN_SID, "winsim-admin")
    sessions = []
    if release.product_type == 1:
        sessions.append({"sid": USER_SID, "user": USER_NAME, "session_id": 1})
        add_profile(registry, USER_SID, "alice")
        user_wininet(registry, USER_SID, FLAG_DIRECT | FLAG_AUTO_DETECT)
        install_office(registry)
    _catalogs(registry, release.architecture)
    _set(registry, f"{INTERFACES}\\{INTERFACE_GUID}", "EnableDHCP", "dword", 1)
    _set(registry, f"{INTERFACES}\\{INTERFACE_GUID}", "DhcpIPAddress", "string", "198.51.100.23")
    _set(registry, NCSI_INTERNET, "EnableActiveProbing", "dword", 1)
    for name, value in (NCSI_PROBES_CONNECTTEST if int(build) >= 14393 else NCSI_PROBES_NCSI).items():
        _set(registry, NCSI_INTERNET, name, "string", value)
    # HKLM\SECURITY is readable by SYSTEM only; an administrator's WinRM session is denied.
    _set(registry, "HKLM\\SECURITY\\Policy")["deny"] = ["read", "write"]
    registry["HKLM"]["keys"]["SECURITY"]["deny"] = ["read", "write"]
    _set(registry, f"{UI_LANGUAGES}\\{'ja-JP' if language == 1041 else 'en-US'}", "LCID", "dword", language)
    state = {
        "name": name,
        "registry": registry,
        "cim": {
            "Win32_OperatingSystem": {
                "Version": release.version, "ProductType": release.product_type,
                "ServicePackMajorVersion": release.service_pack, "OSLanguage": language,
                "LastBootUpTime": "2026-11-20T07:55:00Z",
            },
            "Win32_QuickFixEngineering": [{"HotFixID": kb} for kb in release.hotfixes],
        },
        "services": base_services(release, language),
        "adapters": base_adapters(release),
        "sessions": sessions,
        # The account WinRM connects as: its logon loads its profile's hive.
        "winrm_sid": ADMIN_SID,
        "faults": {},
        "update_history": update_history(days_since_update=12),
    }
    _files(state, release)
    if release.product_type == 1:
        # Click-to-Run's client, beside its configuration.
        add_file(state, C2R_CLIENT, version=OFFICE_BUILD)
    return state


DEFINITION_UPDATES = "e0789628-ce08-4437-be74-2495b842f43b"
SECURITY_UPDATES = "0fa1201d-4330-4fa8-8ae9-b877473b6441"


def update_history(days_since_update: int) -> list[dict[str, Any]]:
    """Windows Update history: a security update ``days_since_update`` days ago and, yesterday, a Defender definition
    update (which says nothing about patching). Dates relative to when the host is built."""
    now = datetime.now(timezone.utc).replace(microsecond=0)

    def entry(days: int, category: str, update_id: str) -> dict[str, Any]:
        return {"date": (now - timedelta(days=days)).strftime("%Y-%m-%dT%H:%M:%SZ"), "operation": 1, "result_code": 2,
                "update_id": update_id, "client_application_id": "UpdateOrchestrator", "category_ids": [category]}
    return [entry(1, DEFINITION_UPDATES, "9a2c1f55-0000-4000-8000-000000000001"),
            entry(days_since_update, SECURITY_UPDATES, "4d7e3b21-0000-4000-8000-000000000002")]


WIN11 = Release("10.0.22631", 1, "Enterprise", "Client", display_version="23H2", ubr=4460, hotfixes=("KB5046633", "KB5044033"),
                dotnet_release=533320)
WIN10 = Release("10.0.19045", 1, "Enterprise", "Client", display_version="22H2", ubr=5131, hotfixes=("KB5046613", "KB5045594"),
                dotnet_release=533320)
WIN81 = Release("6.3.9600", 1, "Professional", "Client", hotfixes=("KB2919355",))
# Illustrative winhttp.dll builds: before KB3140245, and one that carries it.
WINHTTP_WIN7_BASE, WINHTTP_WIN7_KB = "6.1.7601.17514", "6.1.7601.23400"
WIN7_SP1 = Release("6.1.7601", 1, "Enterprise", "Client", service_pack=1, hotfixes=("KB976902", "KB3020369", "KB3140245"),
                   winhttp_version=WINHTTP_WIN7_KB)
WIN7_SP1_NO_KB = Release("6.1.7601", 1, "Enterprise", "Client", service_pack=1, hotfixes=("KB976902", "KB3020369"),
                         winhttp_version=WINHTTP_WIN7_BASE)
# A language pack installed after the update put the language's original winhttp.dll back; the list still shows it.
WIN7_SP1_LANGPACK = Release("6.1.7601", 1, "Enterprise", "Client", service_pack=1, hotfixes=("KB976902", "KB3020369", "KB3140245"),
                            winhttp_version=WINHTTP_WIN7_BASE)
# A security rollup carried the newer winhttp.dll; the standalone update was never installed, so it is not listed.
WIN7_SP1_ROLLUP = Release("6.1.7601", 1, "Enterprise", "Client", service_pack=1, hotfixes=("KB976902", "KB3020369", "KB3125574"),
                          winhttp_version="6.1.7601.23500")
WIN7_RTM = Release("6.1.7600", 1, "Professional", "Client", service_pack=0, winhttp_version="6.1.7600.16385")
WS2012 = Release("6.2.9200", 3, "ServerStandard", "Server", hotfixes=("KB2919355", "KB3140245"), winhttp_version="6.2.9200.21800")
WS2022 = Release("10.0.20348", 3, "ServerStandard", "Server", ubr=2849, hotfixes=("KB5046616",), dotnet_release=533320)


def _hardened(state: dict[str, Any]) -> None:
    """A hardening script that switched TLS 1.2 off in SCHANNEL and WinHTTP by mistake."""
    registry = state["registry"]
    for side in ("Client", "Server"):
        _set(registry, f"{SCHANNEL}\\TLS 1.2\\{side}", "Enabled", "dword", 0)
        _set(registry, f"{SCHANNEL}\\TLS 1.2\\{side}", "DisabledByDefault", "dword", 1)
    _set(registry, WINHTTP, "DefaultSecureProtocols", "dword", 0x280)
    _set(registry, WINHTTP_WOW, "DefaultSecureProtocols", "dword", 0x280)
    _set(registry, INTERNET_SETTINGS, "SecureProtocols", "dword", 0x280)


def _ncsi_off(state: dict[str, Any]) -> None:
    """Active probing turned off by a domain GPO and by hand, and a probe host that no longer exists."""
    _set(state["registry"], NCSI_POLICY, "NoActiveProbe", "dword", 1)
    # What Group Policy writes again at every refresh and boot.
    state["group_policy"] = [{"gpo": "Workstation Baseline", "source": "domain", "key": NCSI_POLICY, "name": "NoActiveProbe",
                              "type": "dword", "value": 1}]
    _set(state["registry"], NCSI_INTERNET, "EnableActiveProbing", "dword", 0)
    _set(state["registry"], NCSI_INTERNET, "ActiveWebProbeHost", "string", "ncsi.retired.example")
    state["network"] = {"unresolvable": ["ncsi.retired.example"]}
    # The GPOs Windows lists as applied to the machine: the local one and the domain's baseline.
    for index, (display, link) in enumerate((("Local Group Policy", "Local"),
                                             ("Workstation Baseline", "LDAP://OU=Workstations,DC=corp,DC=example"))):
        _set(state["registry"], f"{GPO_LIST}\\{index}", "DisplayName", "string", display)
        _set(state["registry"], f"{GPO_LIST}\\{index}", "Link", "string", link)


def _ncsi_local_gpo(state: dict[str, Any]) -> None:
    """Active probing turned off in the host's local Group Policy object (gpedit.msc): its Registry.pol holds the value."""
    _set(state["registry"], NCSI_POLICY, "NoActiveProbe", "dword", 1)
    state["group_policy"] = [{"gpo": "Local Group Policy", "source": "local", "key": NCSI_POLICY, "name": "NoActiveProbe",
                              "type": "dword", "value": 1}]
    pol = registry_pol([(NCSI_POLICY.split("\\", 1)[1], "NoActiveProbe", "dword", 1)])
    state["files"][LOCAL_MACHINE_POL.lower()] = {"size": len(pol), "version": None, "content": base64.b64encode(pol).decode()}
    _set(state["registry"], f"{GPO_LIST}\\0", "DisplayName", "string", "Local Group Policy")
    _set(state["registry"], f"{GPO_LIST}\\0", "Link", "string", "Local")


def _nla_disabled(state: dict[str, Any]) -> None:
    """Network Location Awareness disabled by a tuning script; the services that need it are down with it."""
    services = state["services"]
    services["NlaSvc"].update(start_mode="disabled", status="stopped")
    services["netprofm"]["status"] = "stopped"
    services["NcdAutoSetup"]["status"] = "stopped"


def _dhcp_disabled(state: dict[str, Any]) -> None:
    """A hardening baseline disabled the DHCP Client; Network Location Awareness, which depends on it, cannot start."""
    services = state["services"]
    services["Dhcp"].update(start_mode="disabled", status="stopped")
    for name in ("NlaSvc", "netprofm", "NcdAutoSetup"):
        services[name]["status"] = "stopped"


def _eventlog_broken(state: dict[str, Any]) -> None:
    """Windows Event Log stopped and refusing to start until system files are repaired (sfc /scannow)."""
    services = state["services"]
    services["EventLog"].update(status="stopped", faults={"refuses_start": True, "repaired_by": "sfc"})
    for name in ("NlaSvc", "netprofm", "NcdAutoSetup"):
        services[name]["status"] = "stopped"


def _proxy_site(state: dict[str, Any]) -> None:
    """A site where the internet is reached through a proxy: the signed-in user's Internet Options name it, WinHTTP goes direct.
    The firewall lets nothing out directly."""
    user_wininet(state["registry"], USER_SID, FLAG_DIRECT | FLAG_PROXY | FLAG_AUTO_DETECT, SITE_PROXY, SITE_BYPASS)
    state["network"] = {"blocked": ["*:443", "*:80"], "proxies": {SITE_PROXY: {}}}


def _firewall_blocks_sign_in(state: dict[str, Any]) -> None:
    """A firewall without the article's sign-in endpoints on its allow-list; no proxy."""
    state["network"] = {"blocked": ["login.microsoftonline.com:443", "login.windows.net:443", "login.microsoft.com:443"]}


def _dns_broken(state: dict[str, Any]) -> None:
    """A resolver that answers nothing for Microsoft's names (a filtering DNS service, a split-horizon mistake)."""
    state["network"] = {"unresolvable": ["ols.officeapps.live.com", "activation.sls.microsoft.com", "odc.officeapps.live.com",
                                         "cdn.odc.officeapps.live.com"]}


def _crl_blocked(state: dict[str, Any]) -> None:
    """A firewall that allows HTTPS to Microsoft but not plain HTTP: the certificate revocation lists cannot be fetched."""
    state["network"] = {"blocked": ["crl.microsoft.com:80", "www.microsoft.com:80"]}


def _tls_inspected(state: dict[str, Any]) -> None:
    """A firewall that inspects TLS with its own CA, which Group Policy deployed to every machine's trusted roots."""
    state["network"] = {"tls_inspection": {"ca": INSPECTION_CA, "trusted": True}}


def _root_missing(state: dict[str, Any]) -> None:
    """Automatic root certificate update turned off by policy, and the public root Microsoft's endpoints chain to never
    deployed: every chain stops at the issuing CA."""
    state["network"] = {"root_missing": True}


def _site_proxy_behaving(**behaviour: Any) -> Callable[[dict[str, Any]], None]:
    """A proxy site set up as the article says (WinHTTP names the proxy WinINet names), whose proxy behaves as given."""
    def drift(state: dict[str, Any]) -> None:
        _proxy_right(state)
        state["network"]["proxies"][SITE_PROXY] = dict(behaviour)
    drift.__doc__ = f"A proxy site set up as the article says; its proxy: {behaviour}."
    return drift


BOB_SID = "S-1-5-21-1004336348-1177238915-682003330-1107"
CAROL_SID = "S-1-5-21-1004336348-1177238915-682003330-1109"
DAVE_SID = "S-1-5-21-1004336348-1177238915-682003330-1111"
ERIN_SID = "S-1-5-21-1004336348-1177238915-682003330-1113"
BACKUP_SERVICE_SID = "S-1-5-21-1004336348-1177238915-682003330-1201"


def _users_tls(state: dict[str, Any]) -> None:
    """A terminal server: alice unticked "Use TLS 1.2" years ago (0xA0), bob has the box ticked (0xA80); carol signed out
    but her hive is still loaded (a process of hers lingers) with the same old value. The machine-wide value is fine. A
    backup service's account and the WinRM account have the old value too, in hives their own logons hold."""
    _set(state["registry"], f"HKU\\{USER_SID}\\{USER_INTERNET_SETTINGS}", "SecureProtocols", "dword", 0xA0)
    state["sessions"].append({"sid": BOB_SID, "user": "CORP\\bob", "session_id": 2})
    user_wininet(state["registry"], BOB_SID, FLAG_DIRECT | FLAG_AUTO_DETECT)
    _set(state["registry"], f"HKU\\{BOB_SID}\\{USER_INTERNET_SETTINGS}", "SecureProtocols", "dword", 0xA80)
    _set(state["registry"], f"HKU\\{CAROL_SID}\\{USER_INTERNET_SETTINGS}", "SecureProtocols", "dword", 0xA0)
    # dave is signed out, his hive not loaded, with the old value too; erin's profile folder is gone (a stale entry).
    for sid, name in ((BOB_SID, "bob"), (CAROL_SID, "carol"), (DAVE_SID, "dave"), (ERIN_SID, "erin")):
        add_profile(state["registry"], sid, name)
    unloaded: dict[str, Any] = {}
    _set(unloaded, f"HIVE\\{USER_INTERNET_SETTINGS}", "SecureProtocols", "dword", 0xA0)
    state["unloaded_hives"] = {DAVE_SID: unloaded["HIVE"]}
    # Two loaded hives that are nobody's signed-out desktop, with the same old value: the backup service's account (its
    # service runs, so its hive is loaded) and the WinRM account's own.
    add_profile(state["registry"], BACKUP_SERVICE_SID, "svc-backup")
    state["services"]["ContosoBackup"] = {"start_mode": "auto", "status": "running", "dependencies": [], "display_name": "Contoso Backup Agent",
                                          "logon_sid": BACKUP_SERVICE_SID}
    for sid in (BACKUP_SERVICE_SID, ADMIN_SID):
        _set(state["registry"], f"HKU\\{sid}\\{USER_INTERNET_SETTINGS}", "SecureProtocols", "dword", 0xA0)


def _office_behind(state: dict[str, Any]) -> None:
    """Microsoft 365 Apps a year behind; its updater has the current build ready 40 seconds after it is started."""
    _set(state["registry"], CLICK_TO_RUN, "VersionToReport", "string", "16.0.16731.20234")
    state["c2r_updater"] = {"version": "16.0.17928.20156", "delay_seconds": 40}


def _office_open(state: dict[str, Any]) -> None:
    """The same, with alice's Word and Outlook open."""
    _office_behind(state)
    state["processes"] = [{"name": "WINWORD.EXE", "id": 4120, "session_id": 1}, {"name": "OUTLOOK.EXE", "id": 5288, "session_id": 1}]


def _office_credentials(state: dict[str, Any]) -> None:
    """alice and bob signed in, each with Office's cached sign-in in Credential Manager beside credentials of other
    programs; carol's entries belong to a session that does not exist (she is signed out). bob also added a work account
    of another organisation (Workplace Join) in Settings > Accounts > Access work or school."""
    state["sessions"].append({"sid": BOB_SID, "user": "CORP\\bob", "session_id": 2})
    # What NetGetAadJoinInformation reports to each user (illustrative tenant; the device itself is not joined).
    state["work_accounts"] = {BOB_SID: {"join_type": "workplace", "tenant_name": "Fabrikam", "tenant_id": "5b8e3f0a-1c2d-4e5f-8a9b-0c1d2e3f4a5b",
                                        "idp_domain": "login.windows.net", "join_user_email": "bob@fabrikam.example",
                                        "user_email": "bob@fabrikam.example"}}

    def generic(target: str, user: str) -> dict[str, Any]:
        # The secret is in the store, as on Windows; the agent's ops never read it.
        return {"target": target, "type": 1, "persist": 3, "user_name": user, "last_written": "2026-10-02T08:15:00Z",
                "secret": f"token-for-{target.rsplit(':', 1)[-1]}-do-not-print"}
    state["credentials"] = {
        USER_SID: [generic("MicrosoftOffice16_Data:SSPI:alice@corp.example", "alice@corp.example"),
                   generic("MicrosoftOffice16_Data:ADAL:3f2a9c1e-77d4-4b8e-9a51-0c6e2b7d1f10", "alice@corp.example"),
                   generic("TERMSRV/jump01.corp.example", "CORP\\alice"), generic("git:https://git.corp.example", "alice")],
        BOB_SID: [generic("MicrosoftOffice16_Data:orgid:bob@corp.example", "bob@corp.example"),
                  generic("MicrosoftAccount:user=bob@outlook.example", "bob@outlook.example")],
        CAROL_SID: [generic("MicrosoftOffice16_Data:SSPI:carol@corp.example", "carol@corp.example")],
    }
    # Accounts with a profile here, for become: carol is not signed in, but runas can log her on.
    state["accounts"] = [{"sid": CAROL_SID, "user": "CORP\\carol"}]


OFFICE_COMMON = "Software\\Microsoft\\Office\\16.0\\Common"


def _office_license_state(state: dict[str, Any]) -> None:
    """Activation state to reset: alice's vNext licenses and her Licensing and Identity keys; bob's shared computer
    activation token; carol (signed out, hive loaded) has state too, out of reach."""
    state["sessions"].append({"sid": BOB_SID, "user": "CORP\\bob", "session_id": 2})
    registry = state["registry"]
    for sid in (USER_SID, CAROL_SID):
        _set(registry, f"HKU\\{sid}\\{OFFICE_COMMON}\\Licensing", "NextUserLicensingLicenseIds", "string", "6c5a1f0e")
        _set(registry, f"HKU\\{sid}\\{OFFICE_COMMON}\\Licensing\\LicensingNext", "o365proplusretail", "dword", 2)
        _set(registry, f"HKU\\{sid}\\{OFFICE_COMMON}\\Identity", "Version", "dword", 1)
        _set(registry, f"HKU\\{sid}\\{OFFICE_COMMON}\\Identity\\Identities\\a1b2c3_ADAL", "EmailAddress", "string", "user@corp.example")
    local = "C:\\Users\\{}\\AppData\\Local\\Microsoft\\Office"
    for name in ("8f3c2a.json", "d41d8c.json"):
        add_file(state, f"{local.format('alice')}\\Licenses\\5\\{name}", size=4096, version=None)
    add_file(state, f"{local.format('bob')}\\16.0\\Licensing\\token.dat", size=2048, version=None)
    add_file(state, f"{local.format('carol')}\\Licenses\\5\\a9.json", size=4096, version=None)
    _set(registry, CLICK_TO_RUN, "SharedComputerLicensing", "string", "1")
    for sid, name in ((BOB_SID, "bob"), (CAROL_SID, "carol"), (DAVE_SID, "dave"), (ERIN_SID, "erin")):
        add_profile(registry, sid, name)
    # dave is signed out and his hive is not loaded: only a run that asks for signed-out users loads it. erin's profile
    # is a stale ProfileList entry without a hive file: never loaded.
    unloaded: dict[str, Any] = {}
    _set(unloaded, f"HIVE\\{OFFICE_COMMON}\\Licensing", "NextUserLicensingLicenseIds", "string", "0b7e5d21")
    _set(unloaded, f"HIVE\\{OFFICE_COMMON}\\Identity\\Identities\\d4e5_ADAL", "EmailAddress", "string", "dave@corp.example")
    state["unloaded_hives"] = {DAVE_SID: unloaded["HIVE"]}
    add_file(state, f"{local.format('dave')}\\Licenses\\5\\c3.json", size=4096, version=None)
    # Accounts with a profile here, for become: carol is not signed in, but runas can log her on.
    state["accounts"] = [{"sid": CAROL_SID, "user": "CORP\\carol"}]


SCL_SHARE = "\\\\fs01.corp.example\\scl$"


def _scl_token_folder(state: dict[str, Any]) -> None:
    """A hybrid-joined shared PC whose Group Policy keeps shared computer activation's tokens on a share, one folder per
    user (SCLCacheOverride): alice's token is there, not in her %LOCALAPPDATA%."""
    registry = state["registry"]
    _set(registry, CLICK_TO_RUN, "SharedComputerLicensing", "string", "1")
    policy = "HKLM\\SOFTWARE\\Policies\\Microsoft\\Office\\16.0\\Common\\Licensing"
    _set(registry, policy, "SCLCacheOverride", "dword", 1)
    _set(registry, policy, "SCLCacheOverrideDirectory", "expand_string", f"{SCL_SHARE}\\%USERNAME%")
    add_file(state, f"{SCL_SHARE}\\alice\\9b1e77.tok", size=2048, version=None)
    state["work_accounts"] = {USER_SID: {"join_type": "device", "tenant_name": "Contoso", "tenant_id": "0d1e2f3a-4b5c-4d6e-8f70-8192a3b4c5d6",
                                         "idp_domain": "login.windows.net", "join_user_email": "alice@corp.example",
                                         "user_email": "alice@corp.example"}}


def _msi_office(state: dict[str, Any]) -> None:
    """Office 2016 installed from MSI (volume licence): no Click-to-Run configuration, so not Microsoft 365 Apps."""
    _delete_key(state["registry"], CLICK_TO_RUN.rsplit("\\", 1)[0])
    del state["files"][C2R_CLIENT.lower()]


def _reboot_pending(state: dict[str, Any]) -> None:
    """Windows Update installed a cumulative update and waits for the restart."""
    _set(state["registry"], "HKLM\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\WindowsUpdate\\Auto Update\\RebootRequired")


def _wininet_policy(state: dict[str, Any]) -> None:
    """The Group Policy 'Turn off encryption support' set to SSL 3.0 and TLS 1.0 only, machine-wide."""
    _set(state["registry"], WININET_POLICY, "SecureProtocols", "dword", 0xA0)


def _unpatched(state: dict[str, Any]) -> None:
    """Nothing but Defender definitions installed for eight months: a machine left out of patching."""
    state["update_history"] = update_history(days_since_update=240)


def _update_service_disabled(state: dict[str, Any]) -> None:
    """The Windows Update service disabled by an image's tuning: its history cannot be read."""
    state["update_history"] = None


def _winrm_tight(state: dict[str, Any]) -> None:
    """A hardening baseline that tightened WinRM's quotas far below Windows' defaults."""
    state["wsman"] = {"MaxEnvelopeSizekb": "150", "Shell\\MaxMemoryPerShellMB": "256",
                      "Plugin\\microsoft.powershell\\Quotas\\MaxMemoryPerShellMB": "256"}


def _winhttp_named(state: dict[str, Any], proxy: str, bypass: str | None, views: tuple[str, ...]) -> None:
    for view in views:
        connections = f"{INTERNET_SETTINGS if view == '64' else INTERNET_SETTINGS_WOW}\\Connections"
        _set(state["registry"], connections, "WinHttpSettings", "binary", winhttp_blob("named", proxy, bypass, 7))


def _proxy_right(state: dict[str, Any]) -> None:
    """A proxy site already set up as the article says: WinHTTP (both views) names the proxy the user's WinINet names."""
    _proxy_site(state)
    _winhttp_named(state, SITE_PROXY, SITE_BYPASS, ("64", "32"))


def _proxy_pac(state: dict[str, Any]) -> None:
    """A site whose browsers get their proxy from a PAC file: WinHTTP's default configuration cannot hold one."""
    user_wininet(state["registry"], USER_SID, FLAG_DIRECT | FLAG_PAC, pac_url="http://wpad.corp.example/proxy.pac")


def _proxy_machine(state: dict[str, Any]) -> None:
    """Proxy set per machine by the policy ProxySettingsPerUser=0: HKLM's WinINet settings are everyone's."""
    _set(state["registry"], WININET_POLICY, "ProxySettingsPerUser", "dword", 0)
    _set(state["registry"], f"{INTERNET_SETTINGS}\\Connections", "DefaultConnectionSettings", "binary",
         connection_settings_blob(FLAG_DIRECT | FLAG_PROXY, "http=proxy.branch.example:3128;https=proxy.branch.example:3128", "<local>"))


def _stale_proxy(state: dict[str, Any]) -> None:
    """WinHTTP still points at a proxy that was retired, set with the 64-bit netsh only (the 32-bit view goes direct)."""
    _winhttp_named(state, "old-proxy.corp.example:3128", "<local>", ("64",))


def _third_party_lsp(state: dict[str, Any]) -> None:
    """A third-party Layered Service Provider left in the Winsock catalog (both catalogs on 64-bit Windows)."""
    _catalogs(state["registry"], "AMD64", "C:\\Program Files\\Contoso Shield\\csl_lsp64.dll")
    add_file(state, "C:\\Program Files\\Contoso Shield\\csl_lsp64.dll")


def _bonjour(state: dict[str, Any]) -> None:
    """Apple Bonjour's namespace provider (iTunes, many printer drivers): outside system32, and nothing broken."""
    _catalogs(state["registry"], "AMD64", extra_namespace="%ProgramFiles%\\Bonjour\\mdnsNSP.dll")
    add_file(state, "C:\\Program Files\\Bonjour\\mdnsNSP.dll", version="3.1.0.1")


def _provider_missing(state: dict[str, Any]) -> None:
    """A VPN client removed without unregistering its namespace provider: the catalog names a DLL that is not on disk."""
    _catalogs(state["registry"], "AMD64", extra_namespace="%ProgramFiles%\\Contoso VPN\\cvpn_nsp.dll")


def _ip_reset_partial(state: dict[str, Any]) -> None:
    """netsh int ip reset rewrites the TCP/IP settings, then exits 1 on an NSI key it may not reset (Windows 10/11)."""
    state["faults"]["ip_reset_partial"] = True


def _static_ip(state: dict[str, Any]) -> None:
    """The managed adapter has a static address: 'netsh int ip reset' would turn it back to DHCP."""
    key = f"{INTERFACES}\\{INTERFACE_GUID}"
    _set(state["registry"], key, "EnableDHCP", "dword", 0)
    _set(state["registry"], key, "IPAddress", "multi_string", ["192.0.2.10"])
    _set(state["registry"], key, "SubnetMask", "multi_string", ["255.255.255.0"])


def _static_ipv6(state: dict[str, Any]) -> None:
    """The managed adapter gets IPv4 from DHCP but has an IPv6 address set by hand, which the IPv4 registry key does not show."""
    ethernet = state["adapters"]["list"][0]
    ethernet["addresses"].append("2001:db8:10::23")
    ethernet["manual_addresses"] = ["2001:db8:10::23"]


def _ghost_static(state: dict[str, Any]) -> None:
    """A network card removed long ago left its interface key with a static address; the present adapters use DHCP."""
    key = f"{INTERFACES}\\{{9d1f0c55-0000-4f00-8000-00000000dead}}"
    _set(state["registry"], key, "EnableDHCP", "dword", 0)
    _set(state["registry"], key, "IPAddress", "multi_string", ["10.20.30.40"])


def _shared_computer_office(state: dict[str, Any]) -> None:
    """A shared PC: Microsoft 365 Apps with shared computer activation, its channel set by Group Policy to Monthly Enterprise."""
    _set(state["registry"], CLICK_TO_RUN, "SharedComputerLicensing", "string", "1")
    _set(state["registry"], OFFICE_UPDATE_POLICY, "UpdatePath", "string", f"http://officecdn.microsoft.com/pr/{CHANNEL_MONTHLY_ENTERPRISE}")


def _rds_remoteapp(state: dict[str, Any]) -> None:
    """A Remote Desktop Session Host publishing Microsoft 365 Apps as RemoteApp programs, with shared computer activation.
    alice runs Word as a RemoteApp: her session's shell is rdpshell.exe, and no explorer.exe runs in it. bob's full desktop
    is disconnected (his logon and hive remain). Each has Office's cached sign-in in Credential Manager."""
    registry = state["registry"]
    install_office(registry)
    add_file(state, C2R_CLIENT, version=OFFICE_BUILD)
    _set(registry, CLICK_TO_RUN, "SharedComputerLicensing", "string", "1")
    state["sessions"] = [{"sid": USER_SID, "user": USER_NAME, "session_id": 2, "win_station": "RDP-Tcp#3", "shell": "rdpshell.exe"},
                         {"sid": BOB_SID, "user": "CORP\\bob", "session_id": 3, "win_station": "", "connect_state": "disconnected"}]
    state["processes"] = [{"name": "WINWORD.EXE", "id": 7312, "session_id": 2}]
    for sid, name in ((USER_SID, "alice"), (BOB_SID, "bob")):
        add_profile(registry, sid, name)
        user_wininet(registry, sid, FLAG_DIRECT | FLAG_AUTO_DETECT)
        address = f"{name}@corp.example"
        state.setdefault("credentials", {})[sid] = [{"target": f"MicrosoftOffice16_Data:SSPI:{address}", "type": 1, "persist": 3, "user_name": address,
                                                     "last_written": "2026-11-30T08:15:00Z", "secret": f"token-of-{name}-do-not-print"}]


def _kiosk(state: dict[str, Any]) -> None:
    """A kiosk: Shell Launcher starts the kiosk's own program as alice's shell on the console, with no explorer.exe."""
    state["sessions"][0]["shell"] = "C:\\Program Files\\Contoso Kiosk\\kiosk.exe"


def _powershell_4(state: dict[str, Any]) -> None:
    """Windows 8.1 as it ships: PowerShell 4.0, no WMF 5.1, so Ansible runs no module on it."""
    state["powershell_version"] = "4.0"
    _set(state["registry"], DOTNET_SETUP, "Release", "dword", DOTNET_451)


def _second_language(state: dict[str, Any]) -> None:
    """A Japanese language pack added to an English installation."""
    _set(state["registry"], f"{UI_LANGUAGES}\\ja-JP", "LCID", "dword", 1041)


def _win7_defaults(state: dict[str, Any]) -> None:
    """Windows 7 ships SSL 2.0 client off and no TLS 1.1/1.2 client keys at all."""
    _set(state["registry"], f"{SCHANNEL}\\SSL 2.0\\Client", "DisabledByDefault", "dword", 1)


@dataclass(frozen=True)
class Profile:
    name: str
    description: str
    release: Release
    language: int = 1033
    drift: tuple[Callable[[dict[str, Any]], None], ...] = ()

    def build(self, host_name: str) -> dict[str, Any]:
        state = base_state(host_name, self.release, self.language)
        for change in self.drift:
            change(state)
        # A signed-in user's hive is loaded: their logon holds it under HKEY_USERS.
        for session in state.get("sessions") or []:
            _set(state["registry"], f"HKU\\{session['sid']}")
        # The host was started with the values its profile gives it.
        state["in_effect"] = at_boot(Registry(state["registry"], self.release.architecture), state["files"])
        state["profile"] = self.name
        return copy.deepcopy(state)


PROFILES: dict[str, Profile] = {profile.name: profile for profile in (
    Profile("win11", "Windows 11 23H2, healthy", WIN11),
    Profile("win10", "Windows 10 22H2, healthy", WIN10),
    Profile("win10-ja", "Windows 10 22H2, Japanese display language (LCID 1041)", WIN10, language=1041),
    Profile("win10-tls-hardened", "Windows 10 where a hardening script set TLS 1.2 Enabled=0", WIN10, drift=(_hardened,)),
    Profile("win10-ncsi-off", "Windows 10 with NCSI active probing off by policy and a retired probe host", WIN10, drift=(_ncsi_off,)),
    Profile("win10-ncsi-local-gpo", "Windows 10 whose local Group Policy object turns NCSI active probing off", WIN10,
            drift=(_ncsi_local_gpo,)),
    Profile("win10-nla-disabled", "Windows 10 with Network Location Awareness disabled and its dependents stopped", WIN10,
            drift=(_nla_disabled,)),
    Profile("win10-dhcp-disabled", "Windows 10 whose DHCP Client was disabled by a baseline, so NlaSvc cannot start (1068)", WIN10,
            drift=(_dhcp_disabled,)),
    Profile("win10-eventlog-broken", "Windows 10 whose Event Log refuses to start until sfc /scannow repairs it", WIN10,
            drift=(_eventlog_broken,)),
    Profile("win10-lsp", "Windows 10 with a third-party LSP in the Winsock catalog", WIN10, drift=(_third_party_lsp,)),
    Profile("win10-bonjour", "Windows 10 with Apple Bonjour's namespace provider: outside system32, nothing broken", WIN10,
            drift=(_bonjour,)),
    Profile("win10-provider-missing", "Windows 10 whose Winsock catalog names a VPN client's provider DLL that was removed",
            WIN10, drift=(_provider_missing,)),
    Profile("win10-ip-reset-partial", "Windows 10 whose netsh int ip reset exits 1 after resetting most settings", WIN10,
            drift=(_ip_reset_partial,)),
    Profile("ws2022-static-ip", "Windows Server 2022 with a statically configured adapter and a third-party LSP", WS2022,
            drift=(_static_ip, _third_party_lsp)),
    Profile("win10-static-ipv6", "Windows 10 with DHCP for IPv4, a hand-set IPv6 address and a third-party LSP", WIN10,
            drift=(_static_ipv6, _third_party_lsp)),
    Profile("win10-ghost-static", "Windows 10 with a removed network card's static interface key and a third-party LSP", WIN10,
            drift=(_ghost_static, _third_party_lsp)),
    Profile("win10-firewall-sign-in", "Windows 10 behind a firewall that blocks the sign-in endpoints, no proxy", WIN10,
            drift=(_firewall_blocks_sign_in,)),
    Profile("win10-dns-filtered", "Windows 10 whose DNS resolver answers nothing for the Office licensing names", WIN10,
            drift=(_dns_broken,)),
    Profile("ws2022-rds-remoteapp", "Windows Server 2022 Remote Desktop Session Host: Word as a RemoteApp in alice's session (no "
            "explorer.exe), bob's desktop disconnected, shared computer activation", WS2022, drift=(_rds_remoteapp,)),
    Profile("win10-kiosk", "Windows 10 kiosk: Shell Launcher runs the kiosk's own program as alice's shell, no explorer.exe",
            WIN10, drift=(_kiosk,)),
    Profile("win10-office-shared", "Windows 10 shared PC: Microsoft 365 Apps with shared computer activation, channel by policy",
            WIN10, drift=(_shared_computer_office,)),
    Profile("win10-proxy-site", "Windows 10 at a proxy-only site: the signed-in user's WinINet names the proxy, WinHTTP goes direct",
            WIN10, drift=(_proxy_site,)),
    Profile("win10-crl-blocked", "Windows 10 behind a firewall that lets HTTPS out but not the CRL downloads on port 80", WIN10,
            drift=(_crl_blocked,)),
    Profile("win10-tls-inspected", "Windows 10 behind a firewall that inspects TLS with a CA the machines trust", WIN10,
            drift=(_tls_inspected,)),
    Profile("win10-proxy-client-cert", "Windows 10 at a proxy site whose proxy asks for a client certificate and refuses a request "
            "without one", WIN10, drift=(_site_proxy_behaving(client_certificate=True),)),
    Profile("win10-root-missing", "Windows 10 whose certificate store lacks the public root Microsoft's endpoints chain to (automatic root "
            "update off by policy)", WIN10, drift=(_root_missing,)),
    Profile("win10-ja-proxy-auth", "Windows 10 in Japanese at a proxy site whose proxy asks for authentication (407)", WIN10,
            language=1041, drift=(_site_proxy_behaving(requires_auth=True),)),
    Profile("win10-proxy-msoidcrl", "Windows 10 at a proxy site whose proxy refuses the MSOIDCRL user agent", WIN10,
            drift=(_site_proxy_behaving(blocks_agents=["MSOIDCRL"]),)),
    Profile("win10-proxy-inspecting", "Windows 10 at a proxy site whose proxy inspects TLS with a CA the machines do not trust",
            WIN10, drift=(_site_proxy_behaving(tls_inspection={"ca": INSPECTION_CA, "trusted": False}),)),
    Profile("win10-users-tls", "Windows 10 with two users signed in: alice's own 'Use TLS 1.2' box is unticked (0xA0), bob's ticked",
            WIN10, drift=(_users_tls,)),
    Profile("win10-office-behind", "Windows 10 with Microsoft 365 Apps a year behind; its updater lands the current build in 40 s",
            WIN10, drift=(_office_behind,)),
    Profile("win10-office-open", "Windows 10 with Microsoft 365 Apps behind and Word and Outlook open in alice's session", WIN10,
            drift=(_office_open,)),
    Profile("win10-office-creds", "Windows 10 with alice and bob signed in, each with Office credentials cached beside others",
            WIN10, drift=(_office_credentials,)),
    Profile("win10-office-license", "Windows 10 shared PC whose signed-in users have Office activation state to reset", WIN10,
            drift=(_office_license_state,)),
    Profile("win10-office-scl-token", "Windows 10 hybrid-joined shared PC whose policy keeps shared computer activation's tokens on "
            "a share, one folder per user (SCLCacheOverride)", WIN10, drift=(_scl_token_folder,)),
    Profile("win10-msi-office", "Windows 10 with Office 2016 from MSI: not Click-to-Run, so not Microsoft 365 Apps", WIN10,
            drift=(_msi_office,)),
    Profile("win10-reboot-pending", "Windows 10 whose Windows Update waits for a restart", WIN10, drift=(_reboot_pending,)),
    Profile("win10-tls-policy", "Windows 10 whose Group Policy leaves TLS 1.2 out of WinINet (SSL 3.0 and TLS 1.0 only)", WIN10,
            drift=(_wininet_policy,)),
    Profile("win10-unpatched", "Windows 10 with no update but Defender definitions installed for eight months", WIN10,
            drift=(_unpatched,)),
    Profile("win10-wu-disabled", "Windows 10 whose Windows Update service is disabled: the update history cannot be read", WIN10,
            drift=(_update_service_disabled,)),
    Profile("win10-winrm-tight", "Windows 10 whose WinRM quotas a baseline set below Windows' defaults", WIN10, drift=(_winrm_tight,)),
    Profile("win10-proxy-right", "Windows 10 at a proxy site, WinHTTP (both views) already names the proxy WinINet names",
            WIN10, drift=(_proxy_right,)),
    Profile("win10-proxy-pac", "Windows 10 whose signed-in user gets the proxy from a PAC file, WinHTTP goes direct",
            WIN10, drift=(_proxy_pac,)),
    Profile("win10-proxy-machine", "Windows 10 with per-machine proxy settings (ProxySettingsPerUser=0), WinHTTP goes direct",
            WIN10, drift=(_proxy_machine,)),
    Profile("win10-stale-proxy", "Windows 10 whose WinHTTP proxy (64-bit view only) is a retired server", WIN10, drift=(_stale_proxy,)),
    Profile("win81", "Windows 8.1, defaults, with WMF 5.1 installed", WIN81),
    Profile("win81-ps4", "Windows 8.1 as it ships: PowerShell 4.0, no WMF 5.1 (Ansible cannot run modules)", WIN81, drift=(_powershell_4,)),
    Profile("win7sp1", "Windows 7 SP1 with KB3140245, TLS 1.2 not yet enabled", WIN7_SP1, drift=(_win7_defaults,)),
    Profile("win7sp1-nokb", "Windows 7 SP1 without KB3140245", WIN7_SP1_NO_KB, drift=(_win7_defaults,)),
    Profile("win7sp1-langpack", "Windows 7 SP1 whose Japanese language pack, added after KB3140245, replaced its winhttp.dll",
            WIN7_SP1_LANGPACK, drift=(_win7_defaults, _second_language)),
    Profile("win7sp1-rollup", "Windows 7 SP1 whose winhttp.dll came with a security rollup: KB3140245 is not in the hotfix list",
            WIN7_SP1_ROLLUP, drift=(_win7_defaults,)),
    Profile("win7-rtm", "Windows 7 without Service Pack 1 (unsupported)", WIN7_RTM, drift=(_win7_defaults,)),
    Profile("ws2012", "Windows Server 2012 with KB3140245, TLS 1.2 not yet enabled", WS2012),
    Profile("ws2022", "Windows Server 2022, healthy", WS2022),
)}

DEMO_FLEET = ("win11", "win10-ncsi-off", "win10-nla-disabled", "win10-ja", "win10-tls-hardened", "win10-lsp",
              "win10-proxy-site", "win10-proxy-right", "win10-stale-proxy", "win10-eventlog-broken",
              "win81", "win81-ps4", "win7sp1", "win7sp1-nokb", "ws2012", "win10-firewall-sign-in", "win10-tls-inspected")
