"""The simulated WinRM endpoint, checked with pywinrm directly (no Ansible in between)."""
from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest
import winrm
from winrm.exceptions import InvalidCredentialsError, WinRMError
from winrm.protocol import Protocol

from winsim import agent
from winsim.fleet import WINRM_USER, Fleet

AGENT_SCRIPT = "ansible_collections.m365ops.activation.plugins.modules.win_agent.ps1"
BOOTSTRAP = "$codeJson = foreach ($in in $input) { }\n"


def protocol(fleet: Fleet, host: str, password: str | None = None, operation_timeout: int = 20) -> Protocol:
    port = fleet.hosts[host].server.port
    return Protocol(endpoint=f"http://127.0.0.1:{port}/wsman", transport="basic", username=WINRM_USER,
                    password=password or fleet.password, message_encryption="never",
                    operation_timeout_sec=operation_timeout, read_timeout_sec=operation_timeout + 10)


def encoded(script: str) -> str:
    return base64.b64encode(script.encode("utf-16-le")).decode()


def manifest(actions: list[dict], name: str = "exec_wrapper") -> bytes:
    bootstrap = json.dumps({"name": name, "script": "# exec_wrapper", "params": {}})
    return f"{bootstrap}\n\0\0\0\0\n{json.dumps({'scripts': {}, 'actions': actions, 'signed_hashlist': []})}".encode()


def module_action(script: str, args: dict) -> dict:
    return {"name": "module_wrapper.ps1", "params": {
        "Script": script, "Environment": {}, "ForModule": True, "CSharpModules": [], "PowerShellModules": [],
        "Variables": [{"Name": "complex_args", "Value": args, "Scope": "Global"}]}}


def run_with_stdin(proto: Protocol, command: str, arguments: list[str], stdin: bytes, chunk: int) -> tuple[bytes, bytes, int]:
    shell = proto.open_shell()
    try:
        command_id = proto.run_command(shell, command, arguments, console_mode_stdin=False)
        pieces = [stdin[i:i + chunk] for i in range(0, len(stdin), chunk)] or [b""]
        for index, piece in enumerate(pieces):
            proto.send_command_input(shell, command_id, piece, end=index == len(pieces) - 1)
        out, err, rc = proto.get_command_output(shell, command_id)
        proto.cleanup_command(shell, command_id)
        return out, err, rc
    finally:
        proto.close_shell(shell)


def run_agent(proto: Protocol, ops: list[dict], chunk: int = 4096, **extra_args) -> tuple[dict, int]:
    out, _stderr, rc = run_with_stdin(proto, "PowerShell", ["-NoProfile", "-EncodedCommand", encoded(BOOTSTRAP)],
                                      manifest([module_action(AGENT_SCRIPT, {"ops": ops, **extra_args})]), chunk)
    return json.loads(out), rc


@pytest.fixture
def host(fleet: Fleet) -> str:
    fleet.add("pc", "win10")
    return "pc"


def test_exit_codes_come_back(fleet: Fleet, host: str) -> None:
    session = winrm.Session(f"http://127.0.0.1:{fleet.hosts[host].server.port}/wsman", auth=(WINRM_USER, fleet.password),
                            transport="basic", message_encryption="never")
    assert session.run_cmd("cmd", ["/c", "exit", "3"]).status_code == 3
    assert session.run_cmd("cmd", ["/c", "exit", "0"]).status_code == 0
    unknown = session.run_cmd("definitely-not-a-command")
    assert unknown.status_code == 9009 and b"not recognized" in unknown.std_err


@pytest.mark.parametrize(("chunk", "size"), [(1, 300), (7, 3000), (4096, 100000), (1 << 20, 100000)])
def test_stdin_in_chunks_arrives_whole(fleet: Fleet, host: str, chunk: int, size: int) -> None:
    payload = (bytes(range(256)) * (size // 256 + 1))[:size]
    out, _stderr, rc = run_with_stdin(protocol(fleet, host), "more", [], payload, chunk)
    assert rc == 0 and out == payload


def test_output_larger_than_one_receive_is_streamed(fleet: Fleet, host: str) -> None:
    payload = b"0123456789abcdef" * 40000  # 640 KB: several Receive rounds
    requests_before = fleet.hosts[host].host.counters["requests"]
    out, _stderr, rc = run_with_stdin(protocol(fleet, host), "more", [], payload, 200000)
    assert rc == 0 and out == payload
    assert fleet.hosts[host].host.counters["requests"] - requests_before >= 5 + 4


def test_wrong_password_is_rejected_with_401(fleet: Fleet, host: str) -> None:
    with pytest.raises(InvalidCredentialsError):
        protocol(fleet, host, password="wrong").open_shell()
    assert fleet.hosts[host].host.counters["auth_failures"] == 1


def test_unknown_shell_is_a_wsman_fault(fleet: Fleet, host: str) -> None:
    with pytest.raises(WinRMError):
        protocol(fleet, host).run_command("00000000-0000-0000-0000-000000000000", "cmd", ["/c", "exit", "0"])


def test_agent_module_runs_and_saves_state(fleet: Fleet, host: str) -> None:
    ops = [{"op": "registry_write", "key": r"HKLM\SOFTWARE\Contoso", "name": "Level", "type": "dword", "value": 7}]
    envelope, rc = run_agent(protocol(fleet, host), ops, chunk=100)
    assert rc == 0 and envelope["protocol"] == 1 and envelope["changed"] is True
    saved = json.loads(Path(fleet.hosts[host].host.state_path).read_text(encoding="utf-8"))
    assert saved["registry"]["HKLM"]["keys"]["SOFTWARE"]["keys"]["Contoso"]["values"]["Level"] == {"type": "dword", "value": 7}
    counters = json.loads(fleet.hosts[host].host.counters_path.read_text(encoding="utf-8"))
    assert counters["executions"] == {AGENT_SCRIPT[:-4]: 1}
    assert counters["bytes_received"] > 0 and counters["bytes_sent"] > 0


def test_check_mode_argument_prevents_writes(fleet: Fleet, host: str) -> None:
    ops = [{"op": "registry_write", "key": r"HKLM\SOFTWARE\Contoso", "name": "Level", "type": "dword", "value": 7}]
    envelope, _rc = run_agent(protocol(fleet, host), ops, _ansible_check_mode=True)
    assert envelope["results"][0]["check_mode"] is True
    assert fleet.hosts[host].host.registry.read(r"HKLM\SOFTWARE\Contoso", "64", None)["exists"] is False


def test_the_bootstrap_of_ansible_core_2_20_and_2_21_runs_the_same_exec_manifest(fleet: Fleet, host: str) -> None:
    # 2.20 and 2.21 read the same stdin through $inputData (their bootstrap may also read it from a file: not simulated).
    bootstrap = "param([string]$InputFile)\n$inputData = $input\n$codeJson = foreach ($in in $inputData) {\n}\n"
    ops = [{"op": "registry_write", "key": r"HKLM\SOFTWARE\Contoso", "name": "Level", "type": "dword", "value": 7}]
    out, _stderr, rc = run_with_stdin(protocol(fleet, host), "PowerShell", ["-NoProfile", "-EncodedCommand", encoded(bootstrap)],
                                      manifest([module_action(AGENT_SCRIPT, {"ops": ops})]), 4096)
    assert rc == 0 and json.loads(out)["changed"] is True
    assert fleet.hosts[host].host.registry.read(r"HKLM\SOFTWARE\Contoso", "64", ["Level"])["values"] == {"Level": {"type": "dword", "value": 7}}


def test_unknown_module_fails_loudly(fleet: Fleet, host: str) -> None:
    out, _stderr, rc = run_with_stdin(protocol(fleet, host), "PowerShell", ["-EncodedCommand", encoded(BOOTSTRAP)],
                                      manifest([module_action("ansible_collections.ansible.windows.plugins.modules.win_ping.ps1", {})]), 4096)
    result = json.loads(out)
    assert rc == 1 and result["failed"] is True and "win_ping" in result["msg"] and "not simulated" in result["msg"]


@pytest.mark.parametrize("stdin", [
    manifest([{"name": "async_wrapper.ps1", "params": {}}, module_action(AGENT_SCRIPT, {"ops": []})]),
    manifest([module_action(AGENT_SCRIPT, {"ops": []})], name="something_else"),
    b"no separator here",
])
def test_unknown_manifest_shapes_fail_loudly(fleet: Fleet, host: str, stdin: bytes) -> None:
    out, _stderr, rc = run_with_stdin(protocol(fleet, host), "PowerShell", ["-EncodedCommand", encoded(BOOTSTRAP)], stdin, 4096)
    assert rc == 1 and "unrecognised exec manifest" in json.loads(out)["msg"]


def test_agent_argument_errors_match_ansible_basic(fleet: Fleet, host: str) -> None:
    out, _stderr, rc = run_with_stdin(protocol(fleet, host), "PowerShell", ["-EncodedCommand", encoded(BOOTSTRAP)],
                                      manifest([module_action(AGENT_SCRIPT, {"ops": [], "extra": 1})]), 4096)
    assert rc == 1 and "Unsupported parameters for (win_agent) module: extra" in json.loads(out)["msg"]


def test_slow_host_times_out_the_receive_and_the_client_retries(fleet: Fleet) -> None:
    fleet.add("slow", "win11", latency=2.5)
    envelope, rc = run_agent(protocol(fleet, "slow", operation_timeout=1), [{"op": "system_info"}])
    assert rc == 0 and envelope["results"][0]["os"]["build"] == 22631
    assert fleet.hosts["slow"].host.counters["receive_timeouts"] >= 2


def test_arbitrary_powershell_is_refused(fleet: Fleet, host: str) -> None:
    session = winrm.Session(f"http://127.0.0.1:{fleet.hosts[host].server.port}/wsman", auth=(WINRM_USER, fleet.password),
                            transport="basic", message_encryption="never")
    result = session.run_ps("Get-Process")
    assert result.status_code == 1 and b"not simulated" in result.std_err


def test_management_is_seen_only_on_the_port_the_connection_uses(tmp_path: Path) -> None:
    """As on Windows: a WinRM listener on a custom port is invisible to a probe that looks at 5985/5986 only."""
    fleet = Fleet(tmp_path / "fleet")
    try:
        host = fleet.add("pc", "win10")
        default = agent.run_ops(host, [{"op": "management_addresses"}], check_mode=False)["results"][0]
        asked = agent.run_ops(host, [{"op": "management_addresses", "ports": [5985, 5986, host.winrm_port]}], check_mode=False)["results"][0]
    finally:
        fleet.stop()
    assert default["addresses"] == [] and asked["addresses"] == ["198.51.100.23"]


# ansible-core 2.16 to 2.18: the bootstrap is the script of another PowerShell command line, and stdin is the text of
# exec_wrapper.ps1, four NUL bytes, then the exec manifest (module_manifest.py of those releases).
LEGACY_BOOTSTRAP = "&chcp.com 65001 > $null\n$exec_wrapper_str = $input | Out-String\n"


def legacy_payload(actions: list[str], args: dict, min_ps_version: str | None = "5.1", **manifest_fields) -> bytes:
    document = {"module_entry": "", "powershell_modules": {}, "csharp_utils": {}, "csharp_utils_module": [], "module_args": args,
                "actions": actions, "environment": {}, "encoded_output": False, "min_ps_version": min_ps_version, "min_os_version": None,
                **manifest_fields}
    return b"# exec_wrapper.ps1\n\n" + b"\0\0\0\0" + json.dumps(document).encode()


def run_legacy(proto: Protocol, stdin: bytes) -> tuple[dict, int]:
    inner = f"PowerShell -NoProfile -NonInteractive -ExecutionPolicy Unrestricted -EncodedCommand {encoded(LEGACY_BOOTSTRAP)}"
    out, _stderr, rc = run_with_stdin(proto, "PowerShell", ["-NoProfile", "-EncodedCommand", encoded(inner)], stdin, 4096)
    return json.loads(out), rc


def test_the_agent_runs_from_an_ansible_core_2_16_payload(fleet: Fleet, host: str) -> None:
    ops = [{"op": "registry_write", "key": r"HKLM\SOFTWARE\Contoso", "name": "Level", "type": "dword", "value": 7}]
    args = {"ops": ops, "_ansible_module_name": "m365ops.activation.win_agent", "_ansible_check_mode": False}
    envelope, rc = run_legacy(protocol(fleet, host), legacy_payload(["module_powershell_wrapper"], args))
    assert rc == 0 and envelope["changed"] is True and envelope["invocation"]["module_args"]["ops"] == ops
    assert fleet.hosts[host].host.registry.read(r"HKLM\SOFTWARE\Contoso", "64", ["Level"])["values"]["Level"]["value"] == 7
    assert json.loads(fleet.hosts[host].host.counters_path.read_text(encoding="utf-8"))["executions"] == {AGENT_SCRIPT[:-4]: 1}


def test_the_2_16_exec_wrapper_refuses_a_powershell_below_the_modules_requires(fleet: Fleet) -> None:
    fleet.add("old", "win81-ps4")
    args = {"ops": [], "_ansible_module_name": "m365ops.activation.win_agent"}
    result, rc = run_legacy(protocol(fleet, "old"), legacy_payload(["module_powershell_wrapper"], args))
    assert rc == 1 and result == {"failed": True, "msg": "internal error: This module cannot run as it requires a minimum PowerShell "
                                  "version of 5.1, actual was 4.0"}
    assert json.loads(fleet.hosts["old"].host.counters_path.read_text(encoding="utf-8"))["executions"] == {}


@pytest.mark.parametrize("stdin", [
    legacy_payload(["async_watchdog", "module_powershell_wrapper"], {"ops": [], "_ansible_module_name": "m365ops.activation.win_agent"}),
    legacy_payload(["module_powershell_wrapper"], {"ops": []}),
    legacy_payload(["module_script_wrapper"], {"_ansible_module_name": "m365ops.activation.win_agent"}),
    b"# exec_wrapper.ps1 without its manifest",
])
def test_unknown_2_16_shapes_fail_loudly(fleet: Fleet, host: str, stdin: bytes) -> None:
    result, rc = run_legacy(protocol(fleet, host), stdin)
    assert rc == 1 and "unrecognised exec manifest" in result["msg"] and "this one: 2.16 to 2.18" in result["msg"]
