"""What a simulated host does with a WinRM command line and its stdin.

ansible-core runs a PowerShell module as ``PowerShell ... -EncodedCommand <bootstrap_wrapper>``, in one of two shapes:

- 2.19 (and 2.20, 2.21, whose bootstrap reads the same stdin through ``$inputData``): stdin = bootstrap manifest
  JSON, a line of four NUL bytes, then the exec manifest JSON. The exec manifest's last action is
  ``module_wrapper.ps1`` whose ``Script`` names the module and whose ``Variables`` carry ``complex_args``.
- 2.16 to 2.18: stdin = the text of exec_wrapper.ps1, four NUL bytes, then the exec manifest JSON, whose ``actions``
  end with ``module_powershell_wrapper`` and whose ``module_args`` carry the module's full name
  (``_ansible_module_name``); ``min_ps_version`` is the module's ``#Requires -Version``, which the exec wrapper checks.

This module decodes exactly those shapes and runs the named module's simulated semantics. Anything it does not
recognise fails loudly; it never reports a success it did not simulate.
"""
from __future__ import annotations

import base64
import binascii
import json
import re
import shlex
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Callable

from winsim import agent, peers
from winsim.host import SimHost

MANIFEST_SEPARATOR = b"\n\0\0\0\0\n"
# The collection's read-only probe for hosts that run no module (roles/prerequisites/files/prerequisites.ps1).
PREREQUISITES_MARKER = "m365ops.activation prerequisites probe 1"
DOTNET_SETUP = "HKLM\\SOFTWARE\\Microsoft\\NET Framework Setup\\NDP\\v4\\Full"
BOOTSTRAP_MARKER = "$codeJson = foreach ($in in $input)"
# ansible-core 2.20 and 2.21: the same stdin, read through $inputData (which may also come from a file, not simulated).
NEXT_BOOTSTRAP_MARKER = "$codeJson = foreach ($in in $inputData)"
# ansible-core 2.16 to 2.18: bootstrap_wrapper.ps1 reads its stdin whole, then splits it at four NUL bytes.
LEGACY_BOOTSTRAP_MARKER = "$exec_wrapper_str = $input | Out-String"
LEGACY_SEPARATOR = b"\0\0\0\0"
LEGACY_MODULE_WRAPPER = "module_powershell_wrapper"
AGENT_MODULE = "ansible_collections.m365ops.activation.plugins.modules.win_agent"
# The agent's extended entry point runs the same ops; its executions count as the agent's.
EXTENDED_AGENT_MODULE = "ansible_collections.m365ops.activation.plugins.modules.win_agent_extended"
HELPER_ACTIONS = {"powershell_mkdtemp.ps1", "powershell_expand_user.ps1"}


@dataclass
class CommandResult:
    rc: int
    stdout: bytes = b""
    stderr: bytes = b""
    # The command ran, and its answer never reaches the client: the connection drops (faults.answer_lost).
    lost: bool = False


class ManifestError(Exception):
    """The exec manifest is not the shape this simulator understands."""


def _json_output(document: dict[str, Any], rc: int) -> CommandResult:
    return CommandResult(rc=rc, stdout=json.dumps(document).encode("utf-8") + b"\r\n")


def _failure(message: str) -> CommandResult:
    return _json_output({"failed": True, "msg": f"winsim: {message}"}, rc=1)


@dataclass
class ModuleCall:
    host: SimHost
    module: str
    args: dict[str, Any]
    become_user: str | None

    @property
    def check_mode(self) -> bool:
        return bool(self.args.get("_ansible_check_mode"))

    @property
    def user_args(self) -> dict[str, Any]:
        return {key: value for key, value in self.args.items() if not key.startswith("_ansible_")}


def _run_win_agent(call: ModuleCall) -> CommandResult:
    user_args = call.user_args
    unsupported = sorted(set(user_args) - {"ops", "strict"})
    if unsupported:
        return _json_output({"failed": True, "msg": f"Unsupported parameters for (win_agent) module: {', '.join(unsupported)}. "
                             "Supported parameters include: ops, strict"}, rc=1)
    ops = user_args.get("ops")
    if not isinstance(ops, list):
        return _json_output({"failed": True, "msg": "missing required arguments: ops" if ops is None
                             else "argument for ops is of type %s and we were unable to convert to list" % type(ops).__name__}, rc=1)
    strict = user_args.get("strict", True)
    if not isinstance(strict, bool):
        return _json_output({"failed": True, "msg": f"argument for strict is of type {type(strict).__name__} and we were unable "
                             "to convert to bool"}, rc=1)
    envelope = agent.run_ops(call.host, ops, call.check_mode, call.become_user, call.module == EXTENDED_AGENT_MODULE)
    envelope["invocation"] = {"module_args": {**user_args, "strict": strict}}
    failed = [f"#{index} ({entry.get('op')}): {entry.get('error')}" for index, entry in enumerate(envelope["results"]) if not entry["ok"]]
    if strict and failed:
        # As Ansible.Basic's FailJson: the results stay in the answer, the task fails.
        envelope.update(failed=True, msg=f"{len(failed)} of {len(ops)} ops failed: {', '.join(failed)}")
        return _json_output(envelope, rc=1)
    return _json_output(envelope, rc=0)


def _run_peer(call: ModuleCall) -> CommandResult:
    """A stock ansible.windows module the benchmark's peer playbook runs (winsim.peers)."""
    result, rc = peers.MODULES[call.module](call.host, call.user_args, call.check_mode)
    if not call.check_mode and result.get("changed"):
        call.host.save()
    result["invocation"] = {"module_args": call.user_args}
    return _json_output(result, rc)


MODULES: dict[str, Callable[[ModuleCall], CommandResult]] = {
    AGENT_MODULE: _run_win_agent,
    EXTENDED_AGENT_MODULE: _run_win_agent,
    **{name: _run_peer for name in peers.MODULES},
}


def _parse_manifest(stdin: bytes) -> dict[str, Any]:
    """Validate both manifests and return the exec manifest."""
    parts = stdin.split(MANIFEST_SEPARATOR)
    if len(parts) < 2:
        raise ManifestError("stdin has no bootstrap/exec manifest separator")
    try:
        bootstrap = json.loads(parts[0])
        exec_manifest = json.loads(parts[1])
    except json.JSONDecodeError as exc:
        raise ManifestError(f"manifest is not JSON: {exc}") from exc
    if bootstrap.get("name") != "exec_wrapper" or "script" not in bootstrap:
        raise ManifestError("bootstrap manifest does not name exec_wrapper")
    if not isinstance(exec_manifest.get("actions"), list) or not isinstance(exec_manifest.get("scripts"), dict):
        raise ManifestError("exec manifest lacks 'actions'/'scripts'")
    return exec_manifest


def _module_call(host: SimHost, actions: list[dict[str, Any]]) -> ModuleCall:
    become_user = None
    for action in actions[:-1]:
        if action.get("name") == "become_wrapper.ps1":
            become_user = action.get("params", {}).get("BecomeUser")
        else:
            raise ManifestError(f"exec manifest action '{action.get('name')}' is not simulated")
    wrapper = actions[-1]
    params = wrapper.get("params", {})
    if wrapper.get("name") != "module_wrapper.ps1" or not params.get("ForModule"):
        raise ManifestError(f"exec manifest action '{wrapper.get('name')}' is not simulated")
    script = params.get("Script", "")
    complex_args = next((var.get("Value") for var in params.get("Variables", []) if var.get("Name") == "complex_args"), None)
    if not script.endswith(".ps1") or not isinstance(complex_args, dict):
        raise ManifestError("module_wrapper.ps1 params lack Script or complex_args")
    return ModuleCall(host=host, module=script[: -len(".ps1")], args=complex_args, become_user=become_user)


def _legacy_call(host: SimHost, stdin: bytes) -> ModuleCall | CommandResult:
    """The module call of an ansible-core 2.16 to 2.18 payload, or the exec wrapper's own refusal of a PowerShell older
    than the module's ``#Requires -Version``."""
    parts = stdin.split(LEGACY_SEPARATOR, 1)
    if len(parts) != 2:
        raise ManifestError("stdin has no exec wrapper/manifest separator")
    try:
        manifest = json.loads(parts[1])
    except json.JSONDecodeError as exc:
        raise ManifestError(f"manifest is not JSON: {exc}") from exc
    actions = manifest.get("actions") if isinstance(manifest, dict) else None
    if not isinstance(actions, list) or not actions or actions[-1] != LEGACY_MODULE_WRAPPER:
        raise ManifestError(f"exec manifest actions {actions!r} are not simulated")
    become_user = None
    for action in actions[:-1]:
        if action != "become_wrapper":
            raise ManifestError(f"exec manifest action '{action}' is not simulated")
        become_user = manifest.get("become_user")
    args = manifest.get("module_args")
    name = args.get("_ansible_module_name") if isinstance(args, dict) else None
    if not isinstance(name, str) or len(name.split(".")) != 3 or not all(name.split(".")):
        raise ManifestError("module_args lack the module's full name (_ansible_module_name)")
    minimum = manifest.get("min_ps_version")
    actual = str(host.state.get("powershell_version", "5.1"))
    if minimum and tuple(int(part) for part in actual.split(".")) < tuple(int(part) for part in str(minimum).split(".")):
        # exec_wrapper.ps1's words, as Write-AnsibleError prints them.
        message = f"internal error: This module cannot run as it requires a minimum PowerShell version of {minimum}, actual was {actual}"
        return _json_output({"msg": message, "failed": True}, rc=1)
    namespace, collection, module = name.split(".")
    return ModuleCall(host=host, module=f"ansible_collections.{namespace}.{collection}.plugins.modules.{module}", args=args, become_user=become_user)


def _run_helper(name: str, params: dict[str, Any]) -> CommandResult:
    if name == "powershell_mkdtemp.ps1":
        return CommandResult(rc=0, stdout=f"{params.get('Directory', '')}\\{params.get('Name', '')}\r\n".encode())
    return CommandResult(rc=0, stdout=f"{params.get('Path', '')}\r\n".encode())


def _run_bootstrap(host: SimHost, stdin: bytes, legacy: bool = False) -> CommandResult:
    try:
        if legacy:
            found = _legacy_call(host, stdin)
            if isinstance(found, CommandResult):
                return found
            call = found
        else:
            exec_manifest = _parse_manifest(stdin)
            actions = exec_manifest["actions"]
            if len(actions) == 1 and actions[0].get("name") in HELPER_ACTIONS:
                return _run_helper(actions[0]["name"], actions[0].get("params", {}))
            call = _module_call(host, actions)
    except ManifestError as exc:
        shape = "2.16 to 2.18" if legacy else "2.19 to 2.21"
        return _failure(f"unrecognised exec manifest ({exc}); winsim understands the shapes of ansible-core 2.16 to 2.21 (this one: {shape})")
    handler = MODULES.get(call.module)
    if handler is None:
        return _failure(f"module '{call.module}' is not simulated")
    latency = float(host.faults.get("execution_latency_seconds", 0))
    if latency:
        time.sleep(latency)
    host.count_execution(AGENT_MODULE if call.module == EXTENDED_AGENT_MODULE else call.module)
    return handler(call)


def _prerequisites(host: SimHost) -> CommandResult:
    """What the prerequisites probe prints on this host: PowerShell, .NET 4 release, and the TLS 1.2 values it reads."""
    def value(key: str, name: str, view: str = "64") -> Any:
        found = host.registry.read(key, view, [name])["values"].get(name)
        return None if found is None else found["value"]
    release = value(DOTNET_SETUP, "Release")
    schannel = "HKLM\\SYSTEM\\CurrentControlSet\\Control\\SecurityProviders\\SCHANNEL\\Protocols\\TLS 1.2\\Client"
    winhttp = "HKLM\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Internet Settings\\WinHttp"
    current = "HKLM\\SOFTWARE\\Microsoft\\Windows NT\\CurrentVersion"
    answer = {
        "probe": 1, "powershell": str(host.state.get("powershell_version", "5.1")), "architecture": host.architecture,
        "dotnet4_release": release,
        "os_version": value(current, "CurrentVersion"), "os_build": value(current, "CurrentBuildNumber"),
        "schannel_tls12_client_enabled": value(schannel, "Enabled"),
        "schannel_tls12_client_disabled_by_default": value(schannel, "DisabledByDefault"),
        "winhttp_default_secure_protocols": value(winhttp, "DefaultSecureProtocols"),
        "winhttp_default_secure_protocols_32": value(winhttp, "DefaultSecureProtocols", "32") if host.architecture.upper() != "X86" else None,
    }
    return CommandResult(rc=0, stdout=json.dumps(answer, separators=(",", ":")).encode() + b"\r\n")


# The commands ansible.windows.win_reboot sends (plugin_utils/_reboot.py of ansible.windows 3.x): the boot time as a
# FILETIME, shutdown.exe wrapped to return JSON, shutdown.exe /a, and a test command that echoes a marker once the
# LogonUI key exists (Windows creates it when the logon screen is up; the simulated host is up at once).
BOOT_TIME_COMMAND = "LastBootUpTime.ToFileTime()"
FILETIME_EPOCH_OFFSET = 11644473600
LOGON_UI_KEY = "Winlogon\\AutoLogonChecked"


def _restart_command(host: SimHost, script: str) -> CommandResult | None:
    if BOOT_TIME_COMMAND in script:
        boot = datetime.strptime(host.boot_time(), "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)
        return CommandResult(rc=0, stdout=f"{(int(boot.timestamp()) + FILETIME_EPOCH_OFFSET) * 10**7}\r\n".encode())
    if "shutdown.exe /r" in script:
        host.reboot()
        host.count_restart()
        return CommandResult(rc=0, stdout=b'{"stdout":"","stderr":"","rc":0}\r\n')
    if "shutdown.exe /a" in script:
        return CommandResult(rc=0)
    if LOGON_UI_KEY in script:
        marker = re.search(r"'(success-[0-9a-f-]+)'", script)
        return CommandResult(rc=0, stdout=(marker.group(1) if marker else "").encode() + b"\r\n")
    return None


def _decode_encoded_command(arguments: list[str]) -> str | None:
    lowered = [argument.lower() for argument in arguments]
    for flag in ("-encodedcommand", "-enc", "-e"):
        if flag in lowered:
            index = lowered.index(flag)
            try:
                return base64.b64decode(arguments[index + 1]).decode("utf-16-le")
            except (IndexError, binascii.Error, UnicodeDecodeError):
                return None
    return None


def run_command(host: SimHost, command: str, arguments: str, stdin: bytes) -> CommandResult:
    """Run one WinRS command on ``host``: PowerShell module execution, or a few cmd built-ins."""
    argv = shlex.split(f"{command} {arguments}", posix=False)
    program = argv[0].lower().removesuffix(".exe") if argv else ""
    if program == "powershell":
        script = _decode_encoded_command(argv[1:])
        if script is not None and script.lstrip().lower().startswith("powershell "):
            # ansible-core 2.16 to 2.18 send the module's PowerShell command line as the script of another one.
            inner = shlex.split(script.strip(), posix=False)
            script = _decode_encoded_command(inner[1:])
        if script is None:
            return CommandResult(rc=1, stderr=b"winsim: only -EncodedCommand PowerShell invocations are simulated\r\n")
        if PREREQUISITES_MARKER in script:
            return _prerequisites(host)
        if BOOTSTRAP_MARKER in script or NEXT_BOOTSTRAP_MARKER in script:
            # Ansible's bootstrap refuses old PowerShell before it reads anything (bootstrap_wrapper.ps1, ansible-core 2.19 to 2.21).
            if tuple(int(part) for part in str(host.state.get("powershell_version", "5.1")).split(".")) < (5, 1):
                return CommandResult(rc=1, stdout=b'{"failed":true,"msg":"Ansible requires PowerShell v5.1"}\r\n')
            return _run_bootstrap(host, stdin)
        if LEGACY_BOOTSTRAP_MARKER in script:
            # ansible-core 2.16 to 2.18: the bootstrap refuses only PowerShell 2; the module's #Requires decides the rest.
            return _run_bootstrap(host, stdin, legacy=True)
        if script.lstrip().startswith("Remove-Item"):
            return CommandResult(rc=0)
        restart = _restart_command(host, script)
        if restart is not None:
            return restart
        first_line = script.strip().splitlines()[0][:120] if script.strip() else ""
        return CommandResult(rc=1, stderr=f"winsim: PowerShell script not simulated: {first_line}\r\n".encode())
    if program == "cmd" and len(argv) >= 4 and argv[1].lower() == "/c" and argv[2].lower() == "exit":
        code = argv[-1]
        return CommandResult(rc=int(code)) if code.lstrip("-").isdigit() else CommandResult(rc=1)
    if program == "more":
        return CommandResult(rc=0, stdout=stdin)
    return CommandResult(rc=9009, stderr=f"'{argv[0] if argv else ''}' is not recognized as an internal or external command\r\n".encode())
