"""The agent's op contract, implemented against simulated host state.

This is the Python twin of plugins/modules/win_agent.ps1. Both are held to the same
contract cases in tests/contract/cases. Result envelope: ``{"protocol": 1, "changed": bool,
"results": [...]}``, one result per op, ``{"ok": true, ...}`` or ``{"ok": false, "error":
class, "message": text}``. A failed read does not stop later ops; the first failed write
skips the writes after it.
"""
from __future__ import annotations

import base64
import functools
import importlib.util
import json
import re
import struct
import time
import zlib
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable

from winsim import effects, network
from winsim.host import SimHost
from winsim.registry import RegistryError

PROTOCOL = 1


def _manifest() -> Any:
    """The collection's op manifest (plugins/plugin_utils/engine/agent_ops.py), loaded from its file: plain data, no imports."""
    path = Path(__file__).resolve().parents[1] / "plugins" / "plugin_utils" / "engine" / "agent_ops.py"
    spec = importlib.util.spec_from_file_location("m365ops_agent_ops", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


MANIFEST = _manifest()
WRITE_OPS = MANIFEST.WRITE_OPS
START_MODES = ("auto", "delayed", "manual", "disabled")
# Win32 error codes the Service Control Manager reports.
ERROR_SERVICE_DISABLED = 1058
ERROR_SERVICE_DEPENDENCY_FAIL = 1068
ERROR_PROCESS_ABORTED = 1067

CURRENT_VERSION_KEY = "HKLM\\SOFTWARE\\Microsoft\\Windows NT\\CurrentVersion"
PENDING_REBOOT_PROBES = (
    ("component_based_servicing", "HKLM\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Component Based Servicing\\RebootPending", None),
    ("windows_update", "HKLM\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\WindowsUpdate\\Auto Update\\RebootRequired", None),
    ("pending_file_rename", "HKLM\\SYSTEM\\CurrentControlSet\\Control\\Session Manager", "PendingFileRenameOperations"),
    ("pending_file_rename", "HKLM\\SYSTEM\\CurrentControlSet\\Control\\Session Manager", "PendingFileRenameOperations2"),
)
COMPUTER_NAME_KEYS = (
    "HKLM\\SYSTEM\\CurrentControlSet\\Control\\ComputerName\\ActiveComputerName",
    "HKLM\\SYSTEM\\CurrentControlSet\\Control\\ComputerName\\ComputerName",
)


class OpError(Exception):
    def __init__(self, error: str, message: str, **details: Any) -> None:
        super().__init__(message)
        self.error = error
        self.details = details


def _require(op: dict[str, Any], name: str, kind: type | tuple[type, ...]) -> Any:
    value = op.get(name)
    if not isinstance(value, kind) or isinstance(value, bool) and kind is not bool:
        raise OpError("invalid_argument", f"op '{op.get('op')}' needs '{name}' ({getattr(kind, '__name__', kind)})")
    return value


def _view(op: dict[str, Any]) -> str:
    return str(op.get("view", "64"))


def _registry_read(host: SimHost, op: dict[str, Any], apply: bool) -> dict[str, Any]:
    names = op.get("names")
    if names is not None and (not isinstance(names, list) or not all(isinstance(n, str) for n in names)):
        raise OpError("invalid_argument", "op 'registry_read' takes 'names' as a list of value names")
    return host.registry.read(_require(op, "key", str), _view(op), names)


def _registry_read_subkeys(host: SimHost, op: dict[str, Any], apply: bool) -> dict[str, Any]:
    names = _require(op, "names", list)
    if not all(isinstance(name, str) for name in names):
        raise OpError("invalid_argument", "op 'registry_read_subkeys' takes 'names' as a list of value names")
    return host.registry.read_subkeys(_require(op, "key", str), _view(op), names)


def _registry_enum(host: SimHost, op: dict[str, Any], apply: bool) -> dict[str, Any]:
    return host.registry.enumerate(_require(op, "key", str), _view(op))


def _registry_write(host: SimHost, op: dict[str, Any], apply: bool) -> dict[str, Any]:
    return host.registry.write(_require(op, "key", str), _view(op), _require(op, "name", str),
                               _require(op, "type", str), op.get("value"), apply)


def _registry_delete_value(host: SimHost, op: dict[str, Any], apply: bool) -> dict[str, Any]:
    return host.registry.delete_value(_require(op, "key", str), _view(op), _require(op, "name", str), apply)


def _registry_delete_key(host: SimHost, op: dict[str, Any], apply: bool) -> dict[str, Any]:
    guard = op.get("only_if_no_values", False)
    if not isinstance(guard, bool):
        raise OpError("invalid_argument", "op 'registry_delete_key' takes 'only_if_no_values' as true or false")
    return host.registry.delete_key(_require(op, "key", str), _view(op), apply, guard)


def _expect(host: SimHost, op: dict[str, Any], apply: bool) -> dict[str, Any]:
    """A guard in the write chain: changes nothing; precondition_failed unless the boot time and the value's text are as
    stated (value None: absent)."""
    boot_time = op.get("boot_time")
    if boot_time is not None and host.boot_time() != boot_time:
        raise OpError("precondition_failed", f"the host started at {host.boot_time()}, after it was read (boot time {boot_time})")
    if "key" in op:
        name = _require(op, "name", str)
        found = host.registry.read(_require(op, "key", str), _view(op), [name])["values"].get(name)
        current = None if found is None else str(found["value"])
        if current != op.get("value"):
            raise OpError("precondition_failed", f"{op['key']}\\{name} is {current!r}, not {op.get('value')!r}")
    return {"changed": False}


def _registry_tree_stat(host: SimHost, op: dict[str, Any], apply: bool) -> dict[str, Any]:
    return host.registry.tree_stat(_require(op, "key", str), _view(op))


def _key_exists(host: SimHost, key: str) -> bool:
    return host.registry.read(key, "64", [])["exists"]


def _system_info(host: SimHost, op: dict[str, Any], apply: bool) -> dict[str, Any]:
    cim_os = host.state["cim"]["Win32_OperatingSystem"]
    version = cim_os["Version"]
    major, minor, build = (int(part) for part in version.split("."))
    current = host.registry.read(CURRENT_VERSION_KEY, "64", ["EditionID", "InstallationType", "UBR", "DisplayVersion"])["values"]
    pending = list(dict.fromkeys(source for source, key, name in PENDING_REBOOT_PROBES
                                 if (_key_exists(host, key) if name is None else bool(host.registry.read(key, "64", [name])["values"]))))
    names = [host.registry.read(key, "64", ["ComputerName"])["values"].get("ComputerName", {}).get("value") for key in COMPUTER_NAME_KEYS]
    if names[0] and names[1] and names[0].lower() != names[1].lower():
        pending.append("computer_rename")
    return {
        "os": {
            "version": version, "major": major, "minor": minor, "build": build,
            "ubr": current.get("UBR", {}).get("value"),
            "service_pack": cim_os["ServicePackMajorVersion"],
            "product_type": cim_os["ProductType"],
            "edition": current.get("EditionID", {}).get("value"),
            "installation_type": current.get("InstallationType", {}).get("value"),
            "display_version": current.get("DisplayVersion", {}).get("value"),
            "architecture": host.architecture,
            "language": cim_os["OSLanguage"],
        },
        "hotfixes": sorted(fix["HotFixID"].upper() for fix in host.state["cim"]["Win32_QuickFixEngineering"]),
        "pending_reboot": pending,
        "boot_time": cim_os["LastBootUpTime"],
    }


def _service(host: SimHost, name: str) -> tuple[str, dict[str, Any]] | None:
    services = host.state.get("services", {})
    match = next((stored for stored in services if stored.lower() == name.lower()), None)
    return None if match is None else (match, services[match])


def _service_answer(host: SimHost, name: str, service: dict[str, Any]) -> dict[str, Any]:
    running = [other for other in _dependents(host, name) if host.state["services"][other]["status"] != "stopped"]
    return {"exists": True, "start_mode": service["start_mode"], "status": service["status"],
            "dependencies": list(service.get("dependencies", [])), "dependents_running": running,
            "trigger_start": bool(service.get("trigger_start"))}


def _service_query(host: SimHost, op: dict[str, Any], apply: bool) -> dict[str, Any]:
    """Each named service and, with ``with_dependencies``, every service it depends on, directly or not."""
    names = _require(op, "names", list)
    closure = op.get("with_dependencies") is True
    answer: dict[str, Any] = {}
    for name in names:
        found = _service(host, str(name))
        if found is None:
            answer[name] = {"exists": False}
            continue
        answer[name] = _service_answer(host, found[0], found[1])
        pending = list(found[1].get("dependencies", [])) if closure else []
        while pending:
            dependency = _service(host, pending.pop(0))
            if dependency is None or any(key.lower() == dependency[0].lower() for key in answer):
                continue
            answer[dependency[0]] = _service_answer(host, dependency[0], dependency[1])
            pending.extend(dependency[1].get("dependencies", []))
    return {"services": answer}


def _existing_service(host: SimHost, op: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    name = _require(op, "name", str)
    found = _service(host, name)
    if found is None:
        raise OpError("not_found", f"service {name} does not exist (Win32 error 1060)", win32_error=1060)
    return found


def _service_set_start_mode(host: SimHost, op: dict[str, Any], apply: bool) -> dict[str, Any]:
    mode = _require(op, "start_mode", str)
    if mode not in START_MODES:
        raise OpError("invalid_argument", f"start_mode must be one of {', '.join(START_MODES)}, not '{mode}'")
    _name, service = _existing_service(host, op)
    before = service["start_mode"]
    if before != mode and apply:
        service["start_mode"] = mode
    return {"changed": before != mode, "before": before}


def _start(host: SimHost, name: str, service: dict[str, Any], chain: tuple[str, ...]) -> None:
    """Start a service the way the SCM does: its dependencies first, each of which must be startable."""
    if service["status"] == "running":
        return
    if service["start_mode"] == "disabled":
        raise OpError("service_disabled", f"service {name} is disabled (Win32 error {ERROR_SERVICE_DISABLED})",
                      win32_error=ERROR_SERVICE_DISABLED)
    for dependency in service.get("dependencies", []):
        found = _service(host, dependency)
        if found is None or found[0].lower() in chain:
            continue
        try:
            _start(host, found[0], found[1], (*chain, name.lower()))
        except OpError as error:
            raise OpError("dependency_failed", f"service {name} could not start because {found[0]} did not: {error} "
                          f"(Win32 error {ERROR_SERVICE_DEPENDENCY_FAIL})", win32_error=ERROR_SERVICE_DEPENDENCY_FAIL) from error
    if service.get("faults", {}).get("refuses_start"):
        raise OpError("service_start_failed", f"service {name} terminated while starting (Win32 error {ERROR_PROCESS_ABORTED})",
                      win32_error=ERROR_PROCESS_ABORTED)
    service["status"] = "running"
    if name.lower() == "nlasvc":
        # NlaSvc reads the NCSI values when it starts.
        in_effect(host)["ncsi_active_probing"] = effects.ncsi_probing(host.registry)


def _service_start(host: SimHost, op: dict[str, Any], apply: bool) -> dict[str, Any]:
    name, service = _existing_service(host, op)
    if service["status"] == "running":
        return {"changed": False, "status": "running"}
    if apply:
        _start(host, name, service, ())
    return {"changed": True, "status": "running" if apply else service["status"]}


def _dependents(host: SimHost, name: str) -> list[str]:
    return [other for other, service in host.state.get("services", {}).items()
            if any(dependency.lower() == name.lower() for dependency in service.get("dependencies", []))]


def _stop(host: SimHost, name: str, service: dict[str, Any], stopped: list[str]) -> None:
    """Stop a service as .NET ServiceController.Stop does: running dependents first."""
    for dependent in _dependents(host, name):
        found = _service(host, dependent)
        if found and found[1]["status"] != "stopped":
            _stop(host, found[0], found[1], stopped)
    service["status"] = "stopped"
    stopped.append(name)


def _service_stop(host: SimHost, op: dict[str, Any], apply: bool) -> dict[str, Any]:
    name, service = _existing_service(host, op)
    if service["status"] == "stopped":
        return {"changed": False, "status": "stopped", "stopped": []}
    stopped: list[str] = []
    if apply:
        _stop(host, name, service, stopped)
    return {"changed": True, "status": "stopped" if apply else service["status"], "stopped": stopped}


WINSOCK_CATALOGS = (
    ("HKLM\\SYSTEM\\CurrentControlSet\\Services\\WinSock2\\Parameters\\Protocol_Catalog9\\Catalog_Entries", "PackedCatalogItem"),
    ("HKLM\\SYSTEM\\CurrentControlSet\\Services\\WinSock2\\Parameters\\Protocol_Catalog9\\Catalog_Entries64", "PackedCatalogItem"),
    ("HKLM\\SYSTEM\\CurrentControlSet\\Services\\WinSock2\\Parameters\\NameSpace_Catalog5\\Catalog_Entries", "LibraryPath"),
    ("HKLM\\SYSTEM\\CurrentControlSet\\Services\\WinSock2\\Parameters\\NameSpace_Catalog5\\Catalog_Entries64", "LibraryPath"),
)
INTERFACES = "HKLM\\SYSTEM\\CurrentControlSet\\Services\\Tcpip\\Parameters\\Interfaces"


def _provider_path(value: dict[str, Any]) -> str:
    if value["type"] == "binary":
        return base64.b64decode(value["value"])[:260].split(b"\0", 1)[0].decode("latin-1")
    return str(value["value"])


def _sfc_scannow(host: SimHost, apply: bool) -> int:
    """System File Checker: repairs the services whose fault says sfc fixes them."""
    if apply:
        for service in host.state.get("services", {}).values():
            if service.get("faults", {}).get("repaired_by") == "sfc":
                service["faults"] = {}
    return 0


def _winsock_reset(host: SimHost, apply: bool) -> int:
    """netsh winsock reset: the catalog goes back to the system's own providers (every LSP removed)."""
    for key, name in WINSOCK_CATALOGS:
        listing = host.registry.read_subkeys(key, "64", [name])
        for subkey, entry in listing["subkeys"].items():
            value = entry["values"].get(name)
            path = _provider_path(value).lower() if value else ""
            if apply and "\\system32\\" not in path and "\\syswow64\\" not in path:
                host.registry.delete_key(f"{key}\\{subkey}", "64", True)
    return 0


def _ip_reset(host: SimHost, apply: bool) -> int:
    """netsh int ip reset: TCP/IP parameters rewritten; a static address is lost and the adapter falls back to DHCP.
    With ``faults.ip_reset_partial`` it exits 1 after that work, as on Windows 10/11 when one NSI key refuses."""
    if apply:
        for subkey in host.registry.enumerate(INTERFACES, "64")["subkeys"]:
            key = f"{INTERFACES}\\{subkey}"
            host.registry.write(key, "64", "EnableDHCP", "dword", 1, True)
            for name in ("IPAddress", "SubnetMask", "DefaultGateway", "NameServer"):
                host.registry.delete_value(key, "64", name, True)
    return 1 if host.faults.get("ip_reset_partial") else 0


# What the programs print, by display language: never meant to be read by the collection, which goes by exit codes.
# Japanese Windows prints in the OEM code page (932).
PROGRAM_OUTPUT = {
    "sfc.exe": {1033: ("Windows Resource Protection did not find any integrity violations.", "utf-8"),
                1041: ("Windows リソース保護は、整合性違反を検出しませんでした。", "cp932")},
    "netsh.exe": {1033: ("Successfully reset the Winsock Catalog. You must restart the computer in order to complete the reset.", "utf-8"),
                  1041: ("Winsock カタログをリセットしました。リセットを完了するには、コンピューターを再起動する必要があります。", "cp932")},
}


def _program_output(host: SimHost, program: str) -> str:
    language = host.state["cim"]["Win32_OperatingSystem"]["OSLanguage"]
    text, encoding = PROGRAM_OUTPUT.get(program, {}).get(language, PROGRAM_OUTPUT.get(program, {}).get(1033, ("", "utf-8")))
    return base64.b64encode(f"{text}\r\n".encode(encoding)).decode() if text else ""


C2R_CONFIGURATION = "HKLM\\SOFTWARE\\Microsoft\\Office\\ClickToRun\\Configuration"


def _office_update(host: SimHost, apply: bool) -> int:
    """OfficeC2RClient.exe /update: starts the update and returns at once; the new build lands after the updater's delay
    (``c2r_updater``: ``version`` available, ``delay_seconds``), and only once no Office app is open unless the run said
    forceappshutdown=true (the simulator is told through ``host.state['c2r_updater']['force']``)."""
    updater = host.state.get("c2r_updater")
    if updater:
        updater["started"] = True
    return 0


PROGRAMS: dict[tuple[str, ...], Callable[[SimHost, bool], int]] = {
    ("sfc.exe", "/scannow"): _sfc_scannow,
    ("netsh.exe", "winsock", "reset"): _winsock_reset,
    ("netsh.exe", "int", "ip", "reset"): _ip_reset,
}


def _process_run(host: SimHost, op: dict[str, Any], apply: bool) -> dict[str, Any]:
    """The few programs the collection runs, by their effect on the host state; output is never meaningful."""
    path = _require(op, "path", str)
    arguments = op.get("arguments", [])
    if not isinstance(arguments, list) or not all(isinstance(item, str) for item in arguments):
        raise OpError("invalid_argument", "op 'process_run' takes 'arguments' as a list of strings")
    program = path.replace("/", "\\").rsplit("\\", 1)[-1].lower()
    effect = PROGRAMS.get((program, *(item.lower() for item in arguments)))
    if effect is None and program == "officec2rclient.exe" and arguments[:2] == ["/update", "user"]:
        if not host.registry.read(C2R_CONFIGURATION, "64", ["VersionToReport"])["values"]:
            raise OpError("not_found", f"{path} does not exist: Office is not Click-to-Run here (Win32 error 2)", win32_error=2)
        host.state.setdefault("c2r_updater", {})["force"] = "forceappshutdown=true" in [item.lower() for item in arguments]
        effect = _office_update
    if effect is None and program == "netsh.exe" and arguments[:1] and arguments[0].lower() == "winhttp":
        if "\\syswow64\\" in path.lower() and host.architecture.upper() == "X86":
            raise OpError("not_found", f"{path} does not exist on 32-bit Windows (Win32 error 2)", win32_error=2)
        effect = functools.partial(netsh_winhttp, path=path, arguments=arguments)
    if effect is None:
        raise OpError("not_found", f"{path} {' '.join(arguments)} is not available on this simulated host (Win32 error 2)", win32_error=2)
    success = op.get("success_exit_codes")
    if success is not None and (not isinstance(success, list) or not all(isinstance(code, int) for code in success)):
        raise OpError("invalid_argument", "op 'process_run' takes 'success_exit_codes' as a list of integers")
    # faults.exit_codes makes a program fail with that code and no effect, as a broken netsh would.
    failing = host.faults.get("exit_codes", {})
    exit_code = None if not apply else failing[program] if program in failing else effect(host, apply)
    if apply and success is not None and exit_code not in success:
        raise OpError("process_failed", f"{path} exited with {exit_code}", exit_code=exit_code)
    return {"changed": True, "exit_code": exit_code, "stdout_base64": _program_output(host, program) if apply else "",
            "stderr_base64": ""}


def _adapters(host: SimHost) -> dict[str, Any]:
    return host.state.get("adapters", {"netadapter_supported": False, "list": []})


def _adapter_list(host: SimHost, op: dict[str, Any], apply: bool) -> dict[str, Any]:
    adapters = _adapters(host)
    supported = adapters["netadapter_supported"]
    # DisabledComponents 0x10 (native interfaces off) takes IPv6 addresses away, but only from the boot after it was set.
    ipv6_off = bool(in_effect(host)["ipv6_disabled_components"] & 0x10)
    return {"netadapter_supported": supported, "adapters": [
        {"name": item["name"], "guid": item["guid"], "if_index": item["if_index"], "status": item["status"],
         "addresses": [address for address in item["addresses"] if not (ipv6_off and ":" in address)],
         "manual_addresses": list(item.get("manual_addresses", [])) if supported else None,
         "ipv6_bound": item["ipv6_bound"] if supported else None}
        for item in adapters["list"]]}


def in_effect(host: SimHost) -> dict[str, Any]:
    """What the running host uses (winsim.effects); a state saved before this was modelled starts from its registry."""
    if "in_effect" not in host.state:
        host.state["in_effect"] = effects.at_boot(host.registry, host.state.get("files"))
    return host.state["in_effect"]


def _connection_profiles(host: SimHost, op: dict[str, Any], apply: bool) -> dict[str, Any]:
    adapters = _adapters(host)
    if not adapters["netadapter_supported"]:
        return {"supported": False, "profiles": []}
    effect = in_effect(host)
    reached = 4 if effect["ncsi_active_probing"] else 3
    ipv6_off = bool(effect["ipv6_disabled_components"] & 0x10)
    return {"supported": True, "profiles": [
        {"interface_alias": item["name"], "if_index": item["if_index"], "ipv4_connectivity": reached,
         "ipv6_connectivity": 0 if ipv6_off or not item["ipv6_bound"] else reached, "network_category": 2}
        for item in adapters["list"] if item["status"] == "up"]}


def _management_addresses(host: SimHost, op: dict[str, Any], apply: bool) -> dict[str, Any]:
    """Local addresses of established connections on the asked ports (default 5985/5986). The simulated connection
    arrives on the port the fleet serves the host on, so it is seen only when that port is asked for, as on Windows
    a WinRM listener on a custom port is."""
    adapters = _adapters(host)
    if not adapters["netadapter_supported"]:
        return {"supported": False, "addresses": []}
    ports = op.get("ports", [5985, 5986])
    if not isinstance(ports, list) or not all(isinstance(port, int) and not isinstance(port, bool) for port in ports):
        raise OpError("invalid_argument", "op 'management_addresses' takes 'ports' as a list of integers")
    if host.winrm_port not in ports:
        return {"supported": True, "addresses": [], "ports": ports}
    return {"supported": True, "ports": ports,
            "addresses": [item["addresses"][0].split("%")[0] for item in adapters["list"] if item.get("management")]}


def _adapter_binding_set(host: SimHost, op: dict[str, Any], apply: bool) -> dict[str, Any]:
    name = _require(op, "name", str)
    enabled = _require(op, "enabled", bool)
    if op.get("component_id") != "ms_tcpip6":
        raise OpError("invalid_argument", "op 'adapter_binding_set' manages component_id 'ms_tcpip6' only")
    adapters = _adapters(host)
    if not adapters["netadapter_supported"]:
        raise OpError("unsupported", "adapter bindings need the NetAdapter module (Windows 8 / Server 2012 and later)")
    index = op.get("if_index")
    if index is not None:
        adapter = next((item for item in adapters["list"] if item["if_index"] == index), None)
    else:
        adapter = next((item for item in adapters["list"] if item["name"].lower() == name.lower()), None)
    if adapter is None:
        raise OpError("not_found", f"no network adapter is named {name} (interface index {index})")
    before = adapter["ipv6_bound"]
    if before != enabled and apply:
        adapter["ipv6_bound"] = enabled
    return {"changed": before != enabled, "before": before, "guid": adapter["guid"]}


WINHTTP_CONNECTIONS = "HKLM\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Internet Settings\\Connections"


def winhttp_blob(access_type: str, proxy: str | None, bypass: str | None, counter: int) -> str:
    """WinHttpSettings as WinHTTP stores it: version, counter, flags (1 direct, 2 named), proxy, bypass."""
    flags = 2 if access_type == "named" else 1
    version = 0x28 if access_type == "named" else 0x18
    data = struct.pack("<III", version, counter, flags)
    for text in (proxy or "", bypass or ""):
        encoded = text.encode("ascii")
        data += struct.pack("<I", len(encoded)) + encoded
    return base64.b64encode(data).decode()


def winhttp_setting(host: SimHost, view: str) -> dict[str, Any]:
    """The default proxy a WinHTTP client of that bitness sees: its view's WinHttpSettings blob (absent: direct)."""
    value = host.registry.read(WINHTTP_CONNECTIONS, view, ["WinHttpSettings"])["values"].get("WinHttpSettings")
    direct = {"access_type": "direct", "proxy": None, "bypass": None}
    if not value or value["type"] != "binary":
        return direct
    data = base64.b64decode(value["value"])
    _version, _counter, flags = struct.unpack_from("<III", data, 0)
    texts, offset = [], 12
    for _field in range(2):
        (length,) = struct.unpack_from("<I", data, offset)
        texts.append(data[offset + 4: offset + 4 + length].decode("ascii"))
        offset += 4 + length
    if not flags & 2 or not texts[0]:
        return direct
    return {"access_type": "named", "proxy": texts[0], "bypass": texts[1] or None}


def set_winhttp(host: SimHost, view: str, access: str, proxy: str | None, bypass: str | None) -> None:
    """What WinHttpSetDefaultProxyConfiguration (64-bit view) or the 32-bit netsh does: a new blob, counter bumped."""
    if view in host.faults.get("winhttp_write_ignored", []):
        return
    value = host.registry.read(WINHTTP_CONNECTIONS, view, ["WinHttpSettings"])["values"].get("WinHttpSettings")
    counter = struct.unpack_from("<I", base64.b64decode(value["value"]), 4)[0] + 1 if value and value["type"] == "binary" else 1
    host.registry.write(WINHTTP_CONNECTIONS, view, "WinHttpSettings", "binary",
                        winhttp_blob(access, proxy, bypass if access == "named" else None, counter), True)


def _winhttp_proxy_read(host: SimHost, op: dict[str, Any], apply: bool) -> dict[str, Any]:
    # faults.winhttp_access_type: the API answers an access type other than no-proxy (1) / named (3).
    code = host.faults.get("winhttp_access_type")
    if code is not None:
        return {"access_type": "other", "access_type_code": code, "proxy": None, "bypass": None}
    setting = winhttp_setting(host, "64")
    return {**setting, "access_type_code": 3 if setting["access_type"] == "named" else 1}


def _winhttp_proxy_write(host: SimHost, op: dict[str, Any], apply: bool) -> dict[str, Any]:
    access = op.get("access_type")
    proxy, bypass = op.get("proxy"), op.get("bypass")
    if access not in ("direct", "named"):
        raise OpError("invalid_argument", f"access_type must be 'direct' or 'named', not '{access}'")
    if access == "named" and not proxy:
        raise OpError("invalid_argument", "access_type 'named' needs 'proxy'")
    if access == "direct":
        proxy = bypass = None
    before = winhttp_setting(host, "64")
    wanted = {"access_type": access, "proxy": proxy or None, "bypass": bypass or None}
    changed = before != wanted
    if not changed or not apply:
        return {"changed": changed, "before": before, "after": wanted}
    set_winhttp(host, "64", access, proxy, bypass)
    # As the agent does: the configuration read back after the write.
    return {"changed": True, "before": before, "after": winhttp_setting(host, "64")}


def _netsh_value(arguments: list[str], name: str) -> str | None:
    prefix = f"{name}="
    found = next((item[len(prefix):] for item in arguments if item.lower().startswith(prefix)), None)
    return None if found is None else found.strip('"')


def netsh_winhttp(host: SimHost, apply: bool, *, path: str, arguments: list[str]) -> int:
    """netsh winhttp set proxy / reset proxy, on the view of netsh's own bitness (SysWOW64: 32-bit). Exit 1 on bad syntax."""
    view = "32" if "\\syswow64\\" in path.lower().replace("/", "\\") else "64"
    words = [item.lower() for item in arguments[:3]]
    if words == ["winhttp", "reset", "proxy"] and len(arguments) == 3:
        if apply:
            set_winhttp(host, view, "direct", None, None)
        return 0
    proxy = _netsh_value(arguments[3:], "proxy-server")
    if words != ["winhttp", "set", "proxy"] or not proxy:
        return 1
    if apply:
        set_winhttp(host, view, "named", proxy, _netsh_value(arguments[3:], "bypass-list"))
    return 0


# WTS_CONNECTSTATE_CLASS values the session list reports.
WTS_ACTIVE, WTS_DISCONNECTED, WTS_LISTEN = 0, 4, 6


def wts_sessions(host: SimHost) -> list[dict[str, Any]]:
    """What WTSEnumerateSessions lists on the simulated host: session 0 (services, no user, disconnected), the RDP
    listener, and each user's session (``sessions`` in the state) with its connect state and shell, whatever that shell is:
    explorer.exe, a RemoteApp session's rdpshell.exe or a kiosk's own program."""
    listed = [{"id": 0, "state": WTS_DISCONNECTED, "win_station": "Services", "user": "", "domain": ""},
              {"id": 65536, "state": WTS_LISTEN, "win_station": "RDP-Tcp", "user": "", "domain": ""}]
    for session in host.state.get("sessions", []):
        domain, _sep, user = str(session["user"]).rpartition("\\")
        listed.append({"id": session["session_id"], "state": WTS_DISCONNECTED if session.get("connect_state") == "disconnected" else WTS_ACTIVE,
                       "win_station": session.get("win_station", "Console"), "user": user, "domain": domain,
                       "sid": None if session.get("sid_unresolved") else session["sid"], "shell": session.get("shell", "explorer.exe")})
    return listed


def _user_sessions(host: SimHost, op: dict[str, Any], apply: bool) -> dict[str, Any]:
    """Users signed in interactively, enumerated as the agent does: every session but session 0 that has a user and is
    active or disconnected, by SID (the account name translated, else a process owner's; a session neither gives is
    ``unresolved``). Which shell the session runs does not matter."""
    sessions, unresolved = [], []
    for session in wts_sessions(host):
        if session["id"] == 0 or not session["user"] or session["state"] not in (WTS_ACTIVE, WTS_DISCONNECTED):
            continue
        user = f"{session['domain']}\\{session['user']}" if session["domain"] else session["user"]
        entry = {"user": user, "session_id": session["id"], "connect_state": "active" if session["state"] == WTS_ACTIVE else "disconnected"}
        if session["sid"] is None:
            unresolved.append(entry)
        else:
            sessions.append({"sid": session["sid"], **entry})
    return {"sessions": sessions, "unresolved": unresolved}


USER_HIVE = re.compile(r"^S-1-(5-21|12-1)-[0-9-]+$")


def _registry_read_user_hives(host: SimHost, op: dict[str, Any], apply: bool) -> dict[str, Any]:
    """One subkey in every loaded user profile hive (HKEY_USERS\\<SID>; not _Classes, not service accounts), or in those of
    ``sids``: its named values, or with ``tree`` every value at and below it by relative path."""
    subkey = _require(op, "subkey", str)
    tree = bool(op.get("tree"))
    names = [] if tree else _require(op, "names", list)
    if not all(isinstance(name, str) for name in names):
        raise OpError("invalid_argument", "op 'registry_read_user_hives' takes 'names' as a list of value names")
    if not isinstance(op.get("sids") or [], list):
        raise OpError("invalid_argument", "op 'registry_read_user_hives' takes 'sids' as a list of SIDs")
    only = {str(sid).upper() for sid in op.get("sids") or []}
    hives = {}
    for sid in host.registry.enumerate("HKU", "64")["subkeys"]:
        if not USER_HIVE.match(sid) or (only and sid.upper() not in only):
            continue
        key = f"HKU\\{sid}\\{subkey}"
        hives[sid] = host.registry.read_tree(key, "64") if tree else host.registry.read(key, "64", names)
    return {"hives": hives}


# The environment variables paths in the catalogs and the collection use, as Windows expands them.
ENVIRONMENT = {"%systemroot%": "C:\\Windows", "%windir%": "C:\\Windows", "%programfiles%": "C:\\Program Files",
               "%programfiles(x86)%": "C:\\Program Files (x86)", "%commonprogramfiles%": "C:\\Program Files\\Common Files",
               "%systemdrive%": "C:"}


def expand_path(path: str) -> str:
    """``path`` with its environment variables expanded (case-insensitively, as Windows does)."""
    expanded = path
    for name, value in ENVIRONMENT.items():
        start = expanded.lower().find(name)
        while start >= 0:
            expanded = expanded[:start] + value + expanded[start + len(name):]
            start = expanded.lower().find(name, start + len(value))
    return expanded


def host_file(host: SimHost, path: str) -> dict[str, Any] | None:
    """The simulated file at ``path`` (expanded; case-insensitive): size, version and, for data files, content."""
    return host.state.get("files", {}).get(expand_path(path).lower())


def _file_stat(host: SimHost, op: dict[str, Any], apply: bool) -> dict[str, Any]:
    files = {}
    for path in _require(op, "paths", list):
        found = host_file(host, str(path))
        files[str(path)] = {"expanded": expand_path(str(path)), "exists": found is not None,
                            "size": found["size"] if found else None, "version": found.get("version") if found else None}
    return {"files": files}


def _file_read(host: SimHost, op: dict[str, Any], apply: bool) -> dict[str, Any]:
    path = str(_require(op, "path", str))
    limit = op.get("max_bytes") if op.get("max_bytes") is not None else 1048576
    found = host_file(host, path)
    if found is None:
        return {"expanded": expand_path(path), "exists": False}
    content = base64.b64decode(found.get("content") or "")
    if len(content) > int(limit):
        raise OpError("too_large", f"{expand_path(path)} holds {len(content)} bytes, more than max_bytes ({limit})")
    return {"expanded": expand_path(path), "exists": True, "size": len(content), "content": base64.b64encode(content).decode()}


def _timeout_ms(op: dict[str, Any]) -> int:
    timeout = op.get("timeout_ms", 5000)
    if not isinstance(timeout, int) or isinstance(timeout, bool) or not 1 <= timeout <= 120000:
        raise OpError("invalid_argument", f"timeout_ms must be 1 to 120000, not {timeout}")
    return timeout


def _address(name: str) -> str:
    return f"203.0.113.{zlib.crc32(name.lower().encode()) % 254 + 1}"


def _dns_resolve(host: SimHost, op: dict[str, Any], apply: bool) -> dict[str, Any]:
    _timeout_ms(op)
    names = {}
    for name in _require(op, "names", list):
        if network.resolves(host.state, str(name)):
            canonical = network.canonical_name(host.state, str(name))
            names[str(name)] = {"ok": True, "addresses": [_address(canonical)], "canonical_name": canonical, "error": None, "elapsed_ms": 3}
        else:
            names[str(name)] = {"ok": False, "addresses": [], "canonical_name": None, "error": "HostNotFound", "elapsed_ms": 3}
    return {"names": names}


def _targets(op: dict[str, Any]) -> list[tuple[str, int]]:
    targets = _require(op, "targets", list)
    if not all(isinstance(item, dict) and isinstance(item.get("host"), str) and isinstance(item.get("port"), int) for item in targets):
        raise OpError("invalid_argument", f"op '{op['op']}' takes 'targets' as a list of {{host, port}}")
    return [(item["host"], item["port"]) for item in targets]


def _tcp_connect(host: SimHost, op: dict[str, Any], apply: bool) -> dict[str, Any]:
    timeout = _timeout_ms(op)
    results = []
    for name, port in _targets(op):
        error = network.connect_error(host.state, name, port)
        elapsed = timeout if error == "TimedOut" else (5 if error is None else 3)
        results.append({"host": name, "port": port, "ok": error is None, "error": error, "elapsed_ms": elapsed})
    return {"targets": results}


# Host names of Active Directory DNS may carry "_" (review G15); a whole-string match, so a trailing newline is refused.
PROXY = re.compile(r"[A-Za-z0-9._\-\[\]:]+:[0-9]{1,5}")


def _proxy(op: dict[str, Any], default: str) -> str:
    proxy = op.get("proxy", default)
    if proxy in ("default", "direct") or (isinstance(proxy, str) and PROXY.fullmatch(proxy)):
        return proxy
    raise OpError("invalid_argument", "proxy must be 'default', 'direct' or host:port")


def _tls_handshake(host: SimHost, op: dict[str, Any], apply: bool) -> dict[str, Any]:
    timeout, proxy = _timeout_ms(op), _proxy(op, "direct")
    if proxy == "default":
        raise OpError("invalid_argument", "tls_handshake takes 'direct' or a proxy server as host:port")
    through = None if proxy == "direct" else proxy
    capable = in_effect(host).get("schannel_tls12_client", True)
    return {"targets": [network.tls_handshake(host.state, name, port, through, timeout, capable) for name, port in _targets(op)]}


def default_route(host: SimHost) -> str:
    """Where WinHTTP's default proxy sends a request: its named proxy server (the 64-bit view), or direct."""
    setting = winhttp_setting(host, "64")
    return network.proxy_server(setting["proxy"]) if setting["access_type"] == "named" else "direct"


def _http_request(host: SimHost, op: dict[str, Any], apply: bool) -> dict[str, Any]:
    timeout, proxy = _timeout_ms(op), _proxy(op, "default")
    agent = _require(op, "user_agent", str)
    route = default_route(host) if proxy == "default" else proxy
    requests = []
    for url in _require(op, "urls", list):
        if not isinstance(url, str) or not re.match(r"^https?://[^/]+", url):
            requests.append({"url": url, "ok": False, "status": 0, "error": "InvalidUrl", "error_code": 0, "elapsed_ms": 0})
            continue
        requests.append(network.http_request(host.state, url, agent, route, timeout, in_effect(host).get("winhttp_tls12", True)))
    return {"proxy": proxy, "user_agent": agent, "requests": requests}


# WinRM 3.0's defaults (Windows 8 / 2012 and later, and Windows 7 with WMF 3 or later).
WSMAN_DEFAULTS = {"MaxEnvelopeSizekb": "500", "Shell\\MaxMemoryPerShellMB": "2048", "Shell\\MaxShellsPerUser": "30",
                  "Service\\MaxConcurrentOperationsPerUser": "1500", "Plugin\\microsoft.powershell\\Quotas\\MaxMemoryPerShellMB": "2048"}


def _wsman_config_read(host: SimHost, op: dict[str, Any], apply: bool) -> dict[str, Any]:
    configured = {**WSMAN_DEFAULTS, **host.state.get("wsman", {})}
    values = {}
    for path in _require(op, "paths", list):
        if not isinstance(path, str) or not re.fullmatch(r"[A-Za-z0-9_.]+(\\[A-Za-z0-9_.]+)*", path):
            raise OpError("invalid_argument", f"paths: '{path}' is not a path below WSMan:\\localhost")
        values[path] = next((value for name, value in configured.items() if name.lower() == path.lower()), None)
    # A WSMan drive the account may not read (wsman_unreadable): null, and why, per path.
    unreadable = host.state.get("wsman_unreadable") or []
    errors = {path: {"type": "System.UnauthorizedAccessException", "hresult": -2147024891} for path in values if path in unreadable}
    return {"values": {path: None if path in errors else value for path, value in values.items()}, "errors": errors}


def _update_history(host: SimHost, op: dict[str, Any], apply: bool) -> dict[str, Any]:
    count = op.get("count")
    if not isinstance(count, int) or isinstance(count, bool) or not 1 <= count <= 1000:
        raise OpError("invalid_argument", f"count must be 1 to 1000, not {count}")
    history = host.state.get("update_history")
    if history is None:
        # The Windows Update service disabled: the agent cannot be asked (0x80070422).
        return {"available": False, "hresult": -2147023838, "total": 0, "entries": []}
    newest = sorted(history, key=lambda entry: entry["date"], reverse=True)
    return {"available": True, "total": len(newest), "entries": newest[:count]}


OFFICE_APPS = ("winword.exe", "excel.exe", "outlook.exe", "powerpnt.exe", "onenote.exe", "msaccess.exe", "mspub.exe", "lync.exe", "visio.exe",
               "winproj.exe")


def _registry_wait(host: SimHost, op: dict[str, Any], apply: bool) -> dict[str, Any]:
    """Simulated time: the Click-to-Run updater, once started, lands its version after its delay if the wait is that long."""
    timeout, name = op.get("timeout_seconds"), _require(op, "name", str)
    if not isinstance(timeout, int) or isinstance(timeout, bool) or not 0 <= timeout <= 14400:
        raise OpError("invalid_argument", "timeout_seconds must be 0 to 14400 and interval_ms 100 to 60000")
    key, view, unwanted = _require(op, "key", str), _view(op), op.get("not_equal")
    updater = host.state.get("c2r_updater") or {}
    blocked = any(item["name"].lower() in OFFICE_APPS for item in host.state.get("processes", [])) and not updater.get("force")
    waited = 0
    if updater.get("started") and not blocked and key.lower() == C2R_CONFIGURATION.lower() and updater["delay_seconds"] <= timeout:
        host.registry.write(C2R_CONFIGURATION, "64", "VersionToReport", "string", updater["version"], True)
        if updater.get("force"):
            host.state["processes"] = [item for item in host.state.get("processes", []) if item["name"].lower() not in OFFICE_APPS]
        updater["started"] = False
        waited = updater["delay_seconds"] * 1000
        host.save()
    current = host.registry.read(key, view, [name])["values"].get(name)
    same = current is None if unwanted is None else (current is not None and current["type"] == unwanted.get("type")
                                                     and str(current["value"]) == str(unwanted.get("value")))
    return {"moved": not same, "value": current, "waited_ms": waited if not same else timeout * 1000}


def _process_list(host: SimHost, op: dict[str, Any], apply: bool) -> dict[str, Any]:
    wanted = [str(name).lower() for name in op.get("names") or []]
    return {"processes": [dict(item) for item in host.state.get("processes", []) if not wanted or item["name"].lower() in wanted]}


USER_READ_OPS, USER_WRITE_OPS = ("credential_list", "directory_stat", "work_account", "http_get"), ("credential_delete", "directory_remove")


def _local_app_data(session: dict[str, Any]) -> str:
    return f"C:\\Users\\{str(session['user']).rsplit(chr(92), 1)[-1]}\\AppData\\Local"


def _in_session(session: dict[str, Any], path: str) -> str:
    """``path`` expanded as the user's session expands it: %LOCALAPPDATA% and %USERNAME% are that user's."""
    name = str(session["user"]).rsplit(chr(92), 1)[-1]
    expanded = re.sub("%username%", lambda _match: name, str(path).replace("%LOCALAPPDATA%", _local_app_data(session)), flags=re.IGNORECASE)
    return expand_path(expanded)


def _user_directories(host: SimHost, session: dict[str, Any], paths: list[str]) -> dict[str, Any]:
    files = host.state.setdefault("files", {})
    answer = {}
    for path in paths:
        expanded = _in_session(session, path)
        prefix = expanded.lower().rstrip("\\") + "\\"
        inside = sorted(name for name in files if name.startswith(prefix))
        answer[str(path)] = {"expanded": expanded, "exists": bool(inside) or prefix[:-1] in host.state.get("directories", []),
                             "files": [name[len(prefix):] for name in inside], "file_count": len(inside),
                             "bytes": sum(files[name].get("size", 0) for name in inside)}
    return answer


def _user_directory_remove(host: SimHost, session: dict[str, Any], item: dict[str, Any], apply: bool) -> dict[str, Any]:
    expanded = _in_session(session, str(item.get("path")))
    target = _in_session(session, str(item["move_to"])) if item.get("move_to") else None
    if len(expanded.rstrip("\\").split("\\")) < 4:
        return {"ok": False, "op": "directory_remove", "error": "invalid_argument", "message": f"refusing to remove '{expanded}'"}
    prefix = expanded.lower().rstrip("\\") + "\\"
    files = host.state.setdefault("files", {})
    inside = [name for name in files if name.startswith(prefix)]
    if not inside:
        return {"ok": True, "op": "directory_remove", "path": item.get("path"), "changed": False}
    if apply:
        for name in inside:
            moved = files.pop(name)
            if target:
                files[target.lower().rstrip("\\") + "\\" + name[len(prefix):]] = moved
    return {"ok": True, "op": "directory_remove", "path": item.get("path"), "changed": True, "moved_to": target}


def _user_http_get(host: SimHost, session: dict[str, Any], item: dict[str, Any]) -> dict[str, Any]:
    """A GET from the user's own session: on 8.1 and later through the user's proxy settings (WinINet's manual proxy;
    a PAC file or automatic detection is taken as direct here), before it through the WinHTTP default proxy; a proxy's
    407 is answered with the user's logon."""
    url, timeout = str(item.get("url") or ""), item.get("timeout_ms")
    if not re.match(r"^https?://[A-Za-z0-9._-]+(:[0-9]{1,5})?/[!-~]*\Z", url) or not isinstance(timeout, int) or not 100 <= timeout <= 60000:
        return {"ok": False, "op": "http_get", "error": "invalid_argument", "message": "http_get takes an http(s) URL and timeout_ms of 100 to 60000"}
    automatic = tuple(int(part) for part in host.state["cim"]["Win32_OperatingSystem"]["Version"].split(".")[:2]) >= (6, 3)
    if automatic:
        settings = host.registry.read(f"HKU\\{session['sid']}\\Software\\Microsoft\\Windows\\CurrentVersion\\Internet Settings", "64",
                                      ["ProxyEnable", "ProxyServer"])["values"]
        enabled = (settings.get("ProxyEnable") or {}).get("value") == 1 and (settings.get("ProxyServer") or {}).get("value")
        route = network.proxy_server(settings["ProxyServer"]["value"]) if enabled else "direct"
    else:
        route = default_route(host)
    answer = network.http_request(host.state, url, str(item.get("user_agent") or ""), route, timeout,
                                  in_effect(host).get("winhttp_tls12", True), credentials=True)
    asked = route != "direct" and bool(((network.network(host.state).get("proxies") or {}).get(route) or {}).get("requires_auth"))
    return {"ok": True, "op": "http_get", "url": url, "status": answer["status"], "error_code": answer["error_code"],
            "access_type": "automatic" if automatic else "default", "credentials_offered": asked}


def own_account(host: SimHost) -> dict[str, Any] | None:
    """The account the agent runs as (the become user, else the WinRM account) among the accounts the host knows by
    profile or session, or None."""
    return next((item for item in host.state.get("accounts", []) + host.state.get("sessions", [])
                 if str(item["user"]).lower() == str(host.running_as or "").lower()), None)


def _user_ops(host: SimHost, op: dict[str, Any], apply: bool, allowed: tuple[str, ...]) -> dict[str, Any]:
    """The agent's scheduled task in each interactive session, simulated: the user ops run against that user's own
    Credential Manager (``credentials`` by SID) and the answer comes back as the task's JSON output."""
    user_ops = _require(op, "ops", list)
    for item in user_ops:
        if not isinstance(item, dict) or item.get("op") not in allowed:
            raise OpError("invalid_argument", f"op '{item.get('op') if isinstance(item, dict) else item}' may not run in {op['op']}")
    timeout = op.get("timeout_seconds")
    if not isinstance(timeout, int) or isinstance(timeout, bool) or not 5 <= timeout <= 600:
        raise OpError("invalid_argument", "timeout_seconds must be 5 to 600")
    only = op.get("users") or []
    answers, seen = [], set()
    # The agent starts a task in each session user_sessions lists, and names a session whose user it could not tell.
    listed = _user_sessions(host, {}, False)
    sessions = listed["sessions"]
    if op.get("self"):
        # The agent's own account: the become user (by name, among the accounts the host knows), else the WinRM account.
        account = own_account(host)
        if account is None:
            raise OpError("not_found", f"the account '{host.running_as}' has no profile on this simulated host")
        sessions = [{"sid": account["sid"], "user": account["user"], "session_id": None}]
    for session in sessions:
        if session["sid"] in seen or (only and session["sid"] not in only):
            continue
        seen.add(session["sid"])
        entry = {"sid": session["sid"], "user": session["user"], "session_id": session["session_id"], "ok": False, "output": None}
        if host.faults.get("session_task_timeout"):
            answers.append({**entry, "error": "timeout", "task_result": 267009})
            continue
        store = host.state.setdefault("credentials", {}).setdefault(session["sid"], [])
        results = []
        for item in user_ops:
            if item["op"] == "directory_stat":
                results.append({"ok": True, "op": "directory_stat", "directories": _user_directories(host, session, list(item.get("paths") or []))})
                continue
            if item["op"] == "directory_remove":
                results.append(_user_directory_remove(host, session, item, apply))
                continue
            if item["op"] == "http_get":
                results.append(_user_http_get(host, session, item))
                continue
            if item["op"] == "work_account":
                # NetGetAadJoinInformation exists from Windows 10; ``work_accounts`` by SID holds what it reports to the user.
                supported = int(host.state["cim"]["Win32_OperatingSystem"]["Version"].split(".")[0]) >= 10
                join = (host.state.get("work_accounts") or {}).get(session["sid"]) if supported else None
                results.append({"ok": True, "op": "work_account", "supported": supported, "join": join})
                continue
            if item["op"] == "credential_list":
                # CredentialBlob is never read: the listing has everything but the secret.
                results.append({"ok": True, "op": "credential_list",
                                "credentials": [{key: value for key, value in credential.items() if key != "secret"} for credential in store]})
            else:
                present = [credential for credential in store if credential["target"] == item.get("target") and credential["type"] == item.get("type")]
                if present and apply:
                    store.remove(present[0])
                results.append({"ok": True, "op": "credential_delete", "target": item.get("target"), "type": item.get("type"),
                                "changed": bool(present)})
        answers.append({**entry, "ok": True, "output": json.dumps({"ok": True, "results": results}, separators=(",", ":"))})
    if not only and not op.get("self"):
        answers += [{"sid": None, "user": session["user"], "session_id": session["session_id"], "ok": False, "output": None, "error": "not_found",
                     "message": "the SID of this session's user could not be found, so no task was started in it"} for session in listed["unresolved"]]
    return {"sessions": answers}


def _user_session_read(host: SimHost, op: dict[str, Any], apply: bool) -> dict[str, Any]:
    return _user_ops(host, op, False, USER_READ_OPS)


def _user_session_write(host: SimHost, op: dict[str, Any], apply: bool) -> dict[str, Any]:
    answer = _user_ops(host, op, apply, USER_WRITE_OPS)
    answer["changed"] = any(entry["ok"] and '"changed":true' in entry["output"] for entry in answer["sessions"])
    return answer


PROFILE_LIST = "HKLM\\SOFTWARE\\Microsoft\\Windows NT\\CurrentVersion\\ProfileList"


def _profile_path(host: SimHost, sid: str) -> str | None:
    if not USER_HIVE.match(sid):
        raise OpError("invalid_argument", f"'{sid}' is not the SID of a user account")
    found = host.registry.read(f"{PROFILE_LIST}\\{sid}", "64", ["ProfileImagePath"])["values"].get("ProfileImagePath")
    return expand_path(found["value"]) if found else None


def _profile_list(host: SimHost, op: dict[str, Any], apply: bool) -> dict[str, Any]:
    loaded = set(host.registry.enumerate("HKU", "64")["subkeys"])
    sids = [sid for sid in host.registry.enumerate(PROFILE_LIST, "64")["subkeys"] if USER_HIVE.match(sid)]
    hives = loaded | set(host.state.get("unloaded_hives") or {})
    # The agent's own account (the become user, else the WinRM account) and the accounts services log on as.
    own = (own_account(host) or {}).get("sid", host.state.get("winrm_sid"))
    services = {service.get("logon_sid") for service in host.state["services"].values()}
    return {"profiles": [{"sid": sid, "path": _profile_path(host, sid), "loaded": sid in loaded, "hive_file": sid in hives,
                          "self": sid == own, "service": sid in services} for sid in sids]}


def _hive_marker(host: SimHost, op: dict[str, Any], sid: str, present: bool) -> None:
    """The agent's memory of a hive it loaded (``marker_key``): written before the load, removed after the unload."""
    marker_key = op.get("marker_key")
    if marker_key is None:
        return
    if not isinstance(marker_key, str):
        raise OpError("invalid_argument", "'marker_key' must be a registry key")
    if present:
        host.registry.write(marker_key, "64", sid, "string", datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.0000000Z"), True)
    else:
        host.registry.delete_value(marker_key, "64", sid, True)


def _hive_unload(host: SimHost, sid: str) -> None:
    """reg.exe unload, as the fault ``hive_unload_fails`` (SIDs whose hive some process holds open) lets it."""
    users = host.state["registry"]["HKU"]["keys"]
    if sid in (host.faults.get("hive_unload_fails") or []) or sid not in users:
        raise OpError("process_failed", f"reg.exe unload HKU\\{sid} exited with 1", exit_code=1)
    host.state.setdefault("unloaded_hives", {})[sid] = users.pop(sid)
    host.save()


def _user_hive_load(host: SimHost, op: dict[str, Any], apply: bool) -> dict[str, Any]:
    """A signed-out user's hive (``unloaded_hives``) under HKEY_USERS, as reg.exe load puts it there; remembered under
    ``marker_key`` first."""
    sid = _require(op, "sid", str)
    if _profile_path(host, sid) is None:
        raise OpError("not_found", f"{sid} has no profile on this host")
    users = host.state["registry"]["HKU"]["keys"]
    if sid in users:
        return {"sid": sid, "loaded": False, "already_loaded": True}
    if sid not in host.state.get("unloaded_hives", {}):
        raise OpError("not_found", f"the profile of {sid} has no NTUSER.DAT")
    _hive_marker(host, op, sid, True)
    users[sid] = host.state["unloaded_hives"].pop(sid)
    host.hives_loaded.add(sid)
    return {"sid": sid, "loaded": True, "already_loaded": False}


def _user_hive_unload(host: SimHost, op: dict[str, Any], apply: bool) -> dict[str, Any]:
    """Only a hive this execution loaded: one the user's logon holds stays. Its marker goes once it is unloaded."""
    sid = _require(op, "sid", str)
    if sid not in host.hives_loaded:
        return {"sid": sid, "unloaded": False}
    _hive_unload(host, sid)
    host.hives_loaded.discard(sid)
    _hive_marker(host, op, sid, False)
    return {"sid": sid, "unloaded": True, "attempts": 1}


def _user_hive_unload_recorded(host: SimHost, op: dict[str, Any], apply: bool) -> dict[str, Any]:
    """The hives earlier executions loaded and left loaded (their markers): unloaded once older than
    ``older_than_seconds``; markers of hives no longer loaded removed."""
    marker_key = _require(op, "marker_key", str)
    older_than = _require(op, "older_than_seconds", int)
    answer: dict[str, Any] = {"changed": False, "unloaded": [], "cleared": [], "still_loaded": [], "recent": []}
    marks = host.registry.read(marker_key, "64", None)["values"]
    users = host.state["registry"]["HKU"]["keys"]
    for sid in sorted(marks):
        since = str(marks[sid].get("value"))
        if sid not in users:
            answer["cleared"].append(sid)
            answer["changed"] = True
            if apply:
                host.registry.delete_value(marker_key, "64", sid, True)
            continue
        try:
            age = (datetime.now(timezone.utc) - datetime.strptime(since[:19], "%Y-%m-%dT%H:%M:%S").replace(tzinfo=timezone.utc)).total_seconds()
        except ValueError:
            age = older_than
        if age < older_than:
            answer["recent"].append(sid)
            continue
        if not apply:
            answer["unloaded"].append(sid)
            answer["changed"] = True
            continue
        try:
            _hive_unload(host, sid)
        except OpError as error:
            answer["still_loaded"].append({"sid": sid, "since": since, "message": str(error)})
            continue
        host.registry.delete_value(marker_key, "64", sid, True)
        answer["unloaded"].append(sid)
        answer["changed"] = True
    return answer


def _directory_stat(host: SimHost, op: dict[str, Any], apply: bool) -> dict[str, Any]:
    return {"directories": _user_directories(host, {"user": host.running_as or ""}, list(_require(op, "paths", list)))}


def _directory_remove(host: SimHost, op: dict[str, Any], apply: bool) -> dict[str, Any]:
    answer = _user_directory_remove(host, {"user": host.running_as or ""}, op, apply)
    if not answer["ok"]:
        raise OpError(answer["error"], answer["message"])
    return {"changed": answer["changed"], "moved_to": answer.get("moved_to")}


OPS: dict[str, Callable[[SimHost, dict[str, Any], bool], dict[str, Any]]] = {
    "registry_read": _registry_read,
    "registry_enum": _registry_enum,
    "registry_read_subkeys": _registry_read_subkeys,
    "registry_write": _registry_write,
    "registry_delete_value": _registry_delete_value,
    "registry_delete_key": _registry_delete_key,
    "registry_tree_stat": _registry_tree_stat,
    "expect": _expect,
    "system_info": _system_info,
    "service_query": _service_query,
    "service_set_start_mode": _service_set_start_mode,
    "service_start": _service_start,
    "service_stop": _service_stop,
    "process_run": _process_run,
    "adapter_list": _adapter_list,
    "connection_profiles": _connection_profiles,
    "management_addresses": _management_addresses,
    "adapter_binding_set": _adapter_binding_set,
    "winhttp_proxy_read": _winhttp_proxy_read,
    "winhttp_proxy_write": _winhttp_proxy_write,
    "user_sessions": _user_sessions,
    "registry_read_user_hives": _registry_read_user_hives,
    "file_stat": _file_stat,
    "file_read": _file_read,
    "dns_resolve": _dns_resolve,
    "tcp_connect": _tcp_connect,
    "tls_handshake": _tls_handshake,
    "http_request": _http_request,
    "wsman_config_read": _wsman_config_read,
    "update_history": _update_history,
    "registry_wait": _registry_wait,
    "process_list": _process_list,
    "user_session_read": _user_session_read,
    "user_session_write": _user_session_write,
    "profile_list": _profile_list,
    "user_hive_load": _user_hive_load,
    "user_hive_unload": _user_hive_unload,
    "user_hive_unload_recorded": _user_hive_unload_recorded,
    "directory_stat": _directory_stat,
    "directory_remove": _directory_remove,
}


# Ops only the agent's extended entry point (win_agent_extended) carries the module_utils for.
EXTENDED_OPS = MANIFEST.EXTENDED_OPS


class AnswerLost(Exception):
    """The execution's answer never leaves the host: the connection drops (after what ran ran)."""


def _answer_lost(host: SimHost, ops: list[Any], check_mode: bool) -> dict[str, Any] | None:
    """The ``answer_lost`` fault, taken by the next batch that writes: ``{"after_writes": N}`` stops the batch after its
    N-th write (the power went), without it the batch runs to its end; either way no answer comes back. With
    ``"restart": true`` the host boots again afterwards, as after a power loss."""
    fault = host.faults.get("answer_lost")
    writes = any(isinstance(op, dict) and op.get("op") in WRITE_OPS for op in ops)
    if check_mode or not writes or not isinstance(fault, dict):
        return None
    del host.faults["answer_lost"]
    return fault


def run_ops(host: SimHost, ops: list[Any], check_mode: bool, running_as: str | None = None, extended: bool = True) -> dict[str, Any]:
    """Execute ``ops`` in order against ``host`` as ``running_as`` (the become user; None: the WinRM account) and
    return the agent envelope; without ``extended`` the extended ops are refused, as win_agent refuses them.
    Raises AnswerLost when the ``answer_lost`` fault takes this batch."""
    results: list[dict[str, Any]] = []
    changed = False
    failed_write: str | None = None
    failed_guard = False
    with host.lock:
        lost = _answer_lost(host, ops, check_mode)
        writes_run = 0
        # Who the agent runs as, for this execution only (not host state).
        host.running_as = running_as or host.state.get("winrm", {}).get("username")
        host.hives_loaded = set()
        for index, op in enumerate(ops):
            name = op.get("op") if isinstance(op, dict) else None
            # A write marked 'always' runs after a failed write too: the batch's closing bookkeeping (its journal entry).
            always = isinstance(op, dict) and op.get("always") is True and not failed_guard
            if lost is not None and isinstance(lost.get("after_writes"), int) and writes_run >= lost["after_writes"]:
                break
            if name in WRITE_OPS and failed_write is not None and not always:
                results.append({"ok": False, "op": name, "error": "skipped",
                                "message": f"not run: write op {failed_write} failed earlier in this batch"})
                continue
            writes_run += name in WRITE_OPS
            try:
                if not isinstance(op, dict) or not isinstance(name, str):
                    raise OpError("invalid_argument", f"op #{index} must be a mapping with an 'op' name")
                handler = OPS.get(name)
                if handler is None:
                    raise OpError("unknown_op", f"op '{name}' is not known to agent protocol {PROTOCOL}")
                if not extended and name in EXTENDED_OPS:
                    raise OpError("unknown_op", f"op '{name}' is not known to this entry point of agent protocol {PROTOCOL} "
                                  "(the network probes and the ops in users' sessions run in m365ops.activation.win_agent_extended)")
                data = handler(host, op, not check_mode)
            except (OpError, RegistryError) as exc:
                results.append({"ok": False, "op": name, "error": exc.error, "message": str(exc), **getattr(exc, "details", {})})
                if name in WRITE_OPS:
                    failed_write = f"#{index} ({name})"
                    # After a failed guard nothing of the batch may happen, not even the writes marked always.
                    failed_guard = failed_guard or name == "expect"
                continue
            if name in WRITE_OPS and data.get("changed"):
                changed = True
                # faults.group_policy_after_write: Group Policy puts its values back right after any write that changed something.
                if not check_mode and host.faults.get("group_policy_after_write"):
                    host.group_policy_refresh()
                if check_mode:
                    data["check_mode"] = True
            results.append({"ok": True, "op": name, **data})
        # A failed write can still have changed something (a dependency that did start), so save after any write.
        if not check_mode and any(isinstance(op, dict) and op.get("op") in WRITE_OPS for op in ops):
            host.save()
        # faults.answer_delay_seconds: a batch that writes answers only after this long (the window in which a test stops
        # the controller: Ctrl-C, or the process tree killed). The host's work is done and saved by then.
        delay = host.faults.get("answer_delay_seconds")
        delayed = not check_mode and isinstance(delay, (int, float)) and any(isinstance(op, dict) and op.get("op") in WRITE_OPS for op in ops)
        if delayed:
            host.counters["answers_delayed"] += 1
            host.flush_counters()
        if lost is not None:
            host.counters["answers_lost"] += 1
            host.flush_counters()
            if lost.get("restart"):
                host.reboot()
    if delayed:
        time.sleep(float(delay))
    if lost is not None:
        raise AnswerLost(f"the answer to a batch of {len(ops)} ops was lost after {len(results)} ran")
    return {"protocol": PROTOCOL, "changed": changed, "results": results}
