"""Twins of the stock ansible.windows modules the benchmark's peer playbook uses (ansible.windows 3.3.0).

Only the benchmark runs them. Each does what its documentation says, on the simulated host's state, and returns
its documented return values; ansible-core builds and sends their real payload (the module's PowerShell, its
module_utils and Ansible.Basic), so the bytes on the wire are the real ones. What a module would do that the
simulator has no state for (ACLs, service accounts, recovery options) is left out.
"""
from __future__ import annotations

import base64
import shlex
from datetime import datetime, timezone
from typing import Any, Callable

from winsim import agent
from winsim.host import SimHost
from winsim.registry import RegistryError

PREFIX = "ansible_collections.ansible.windows.plugins.modules."
HIVES = {"HKLM:": "HKLM", "HKEY_LOCAL_MACHINE:": "HKLM", "HKCU:": "HKCU", "HKU:": "HKU"}
# Windows PowerShell's names for what the services' state is.
STATES = {"running": "started", "stopped": "stopped"}


def _fail(message: str, **extra: Any) -> tuple[dict[str, Any], int]:
    return {"failed": True, "msg": message, "changed": False, **extra}, 1


def _registry_path(path: str) -> str:
    hive, _separator, rest = path.partition("\\")
    if hive.upper() not in HIVES:
        raise ValueError(f"path: hive {hive} is not supported")
    return f"{HIVES[hive.upper()]}\\{rest}" if rest else HIVES[hive.upper()]


def win_regedit(host: SimHost, args: dict[str, Any], check_mode: bool) -> tuple[dict[str, Any], int]:
    """path, name, data, type, state=present: the value (and its key) created or set; data_changed, data_type_changed."""
    try:
        key = _registry_path(str(args["path"]))
    except (KeyError, ValueError) as error:
        return _fail(str(error))
    if args.get("state", "present") != "present":
        return _fail("winsim: win_regedit state=absent is not simulated")
    name = args.get("name")
    kind = str(args.get("type", "string")).lower()
    data = args.get("data")
    if kind == "dword" and isinstance(data, str):
        data = int(data, 0)
    result: dict[str, Any] = {"changed": False, "data_changed": False, "data_type_changed": False}
    if name is None:
        exists = host.registry.read(key, "64", [])["exists"]
        if not exists:
            if not check_mode:
                host.registry._walk(key, "64", "write", create=True)  # pylint: disable=protected-access
            result["changed"] = True
        return result, 0
    try:
        written = host.registry.write(key, "64", str(name), kind, data, not check_mode)
    except RegistryError as error:
        return _fail(f"winsim: {error}")
    before = written.get("before")
    if written["changed"]:
        result.update(changed=True, data_changed=before is None or before.get("value") != data,
                      data_type_changed=before is not None and before.get("type") != kind)
    return result, 0


def _service_answer(host: SimHost, name: str, service: dict[str, Any]) -> dict[str, Any]:
    depended_by = [other for other, entry in host.state["services"].items() if name in entry.get("dependencies", [])]
    return {"exists": True, "name": name, "display_name": service.get("display_name", name), "start_mode": service["start_mode"],
            "state": STATES.get(service["status"], service["status"]), "dependencies": list(service.get("dependencies", [])),
            "depended_by": depended_by, "username": "LocalSystem", "path": f"C:\\Windows\\system32\\svchost.exe -k {name}",
            "description": "", "desktop_interact": False, "can_pause_and_continue": False}


def win_service(host: SimHost, args: dict[str, Any], check_mode: bool) -> tuple[dict[str, Any], int]:
    """name, start_mode, state=started: the start mode set, then the service (and what it depends on) started."""
    found = agent._service(host, str(args.get("name", "")))  # pylint: disable=protected-access
    if found is None:
        return {"changed": False, "exists": False}, 0
    name, service = found
    changed = False
    mode = args.get("start_mode")
    if mode and mode != service["start_mode"]:
        changed = True
        if not check_mode:
            service["start_mode"] = mode
    if args.get("state") == "started" and service["status"] != "running":
        changed = True
        if not check_mode:
            try:
                agent._start(host, name, service, ())  # pylint: disable=protected-access
            except agent.OpError as error:
                return _fail(f"Service '{name}' failed to start: {error}", **_service_answer(host, name, service))
    return {"changed": changed, **_service_answer(host, name, service)}, 0


def win_http_proxy(host: SimHost, args: dict[str, Any], check_mode: bool) -> tuple[dict[str, Any], int]:
    """proxy, bypass: WinHTTP's default proxy through the API of the 64-bit process it runs in; no proxy is direct."""
    proxy = args.get("proxy")
    bypass = args.get("bypass")
    if isinstance(proxy, dict):
        proxy = ";".join(f"{scheme}={value}" for scheme, value in proxy.items())
    if isinstance(bypass, list):
        bypass = ";".join(bypass)
    access = "named" if proxy else "direct"
    current = agent.winhttp_setting(host, "64")
    wanted = {"access_type": access, "proxy": proxy or None, "bypass": (bypass or None) if proxy else None}
    if current == wanted:
        return {"changed": False}, 0
    if not check_mode:
        agent.set_winhttp(host, "64", access, proxy or None, bypass or None)
    return {"changed": True}, 0


def win_command(host: SimHost, args: dict[str, Any], check_mode: bool) -> tuple[dict[str, Any], int]:
    """A program by its effect on the host state, as the agent's process_run runs it; rc, stdout and times returned."""
    command = str(args.get("_raw_params") or args.get("cmd") or "")
    argv = shlex.split(command, posix=False)
    if check_mode:
        return {"changed": False, "skipped": True, "msg": "Check mode is not supported for this module", "cmd": command}, 0
    start = datetime.now(timezone.utc)
    program = argv[0].lower() if argv else ""
    exe = program if program.endswith(".exe") else f"{program}.exe"
    effect = agent.PROGRAMS.get((exe, *(item.lower() for item in argv[1:])))
    if effect is None:
        return _fail(f"winsim: {command} is not simulated", cmd=command, rc=2)
    rc = effect(host, True)
    end = datetime.now(timezone.utc)
    # What the program prints (the same text the agent's twin returns), decoded as win_command does with the console's code page.
    output = base64.b64decode(agent._program_output(host, exe)).decode("utf-8", "replace").strip()  # pylint: disable=protected-access
    return {"changed": True, "cmd": command, "rc": rc, "stdout": output, "stdout_lines": [output], "stderr": "", "stderr_lines": [],
            "start": start.isoformat(), "end": end.isoformat(), "delta": str(end - start), "failed": rc != 0}, (1 if rc else 0)


MODULES: dict[str, Callable[[SimHost, dict[str, Any], bool], tuple[dict[str, Any], int]]] = {
    f"{PREFIX}win_regedit": win_regedit,
    f"{PREFIX}win_service": win_service,
    f"{PREFIX}win_http_proxy": win_http_proxy,
    f"{PREFIX}win_command": win_command,
}
