"""Winsock/IP reset decisions: evidence, once-tokens, the static-address guard."""
from __future__ import annotations

import pytest
from ansible.errors import AnsibleActionFail

from ansible_collections.m365ops.activation.plugins.action import win_winsock_reset as winsock
from ansible_collections.m365ops.activation.plugins.plugin_utils.action import HostState
from ansible_collections.m365ops.activation.plugins.plugin_utils.agent import OpResult
from ansible_collections.m365ops.activation.plugins.plugin_utils.programs import ProgramRun
from ansible_collections.m365ops.activation.plugins.plugin_utils.registry import RegistryValue
from hoststate import make_state
from winsim.profiles import packed_catalog_item

DEFAULTS = {"winsock": True, "ip": False, "force_token": None, "allow_static_ip_reset": False, "timeout": 300}
SYSTEM = r"%SystemRoot%\system32\mswsock.dll"
LSP = r"C:\Program Files\Contoso Shield\csl_lsp64.dll"


def catalog(*paths: str) -> OpResult:
    entries = {f"{index:012d}": {"values": {"PackedCatalogItem": {"type": "binary", "value": packed_catalog_item(path)}}}
               for index, path in enumerate(paths, start=1)}
    return OpResult("registry_read_subkeys", True, {"exists": True, "subkeys": entries})


def namespaces(*paths: str) -> OpResult:
    entries = {f"{index:012d}": {"values": {"LibraryPath": {"type": "expand_string", "value": path}}}
               for index, path in enumerate(paths, start=1)}
    return OpResult("registry_read_subkeys", True, {"exists": True, "subkeys": entries})


def interfaces(static: bool) -> OpResult:
    values = {"EnableDHCP": {"type": "dword", "value": 0 if static else 1}}
    if static:
        values["IPAddress"] = {"type": "multi_string", "value": ["192.0.2.10"]}
    return OpResult("registry_read_subkeys", True, {"exists": True, "subkeys": {"{guid}": {"values": values}}})


def run(providers=(SYSTEM,), names=(r"%SystemRoot%\System32\NLAapi.dll",), static=False, tokens=None, **options):
    args = {**DEFAULTS, **options}
    values = {(winsock.SYSTEM_ROOT.key.path, "64", "SystemRoot"): RegistryValue("string", r"C:\Windows")}
    if tokens is not None:
        values[(winsock.TOKENS.key.path, "64", "WinsockResetTokens")] = RegistryValue("multi_string", tokens)
    base = make_state("win10", [winsock.SYSTEM_ROOT, winsock.TOKENS], values)
    probes = (catalog(*providers), catalog(*providers), namespaces(*names), namespaces(*names), interfaces(static))
    return winsock.plan_reset(args, HostState(base.windows, base.registry, probes))


def runs(plan) -> list[str]:
    return [change.command for change in plan.changes if isinstance(change, ProgramRun)]


def test_system_catalog_needs_no_reset() -> None:
    plan = run()
    assert plan.changes == [] and plan.facts["reset_because"] is None


@pytest.mark.parametrize("path", [r"C:\Windows\System32\mswsock.dll", r"%windir%\SysWOW64\mswsock.dll", r"c:\windows\system32\NLAapi.dll"])
def test_system_directory_spellings_count_as_system(path: str) -> None:
    assert run(providers=(path,), names=(path,)).changes == []


def test_a_third_party_lsp_is_evidence() -> None:
    plan = run(providers=(SYSTEM, LSP))
    assert runs(plan) == ["netsh.exe winsock reset"]
    assert plan.facts["reset_because"] == "third_party_provider"
    assert {item["path"] for item in plan.facts["foreign_providers"]} == {LSP}
    assert all(change.reboot_required for change in plan.changes)
    assert plan.changes[0].to_op()["success_exit_codes"] == [0]


def test_a_foreign_namespace_provider_is_evidence_too() -> None:
    assert runs(run(names=(r"C:\ProgramData\Vendor\nsp.dll",))) == ["netsh.exe winsock reset"]


def test_a_new_token_forces_once_and_is_recorded_after_the_reset() -> None:
    plan = run(tokens=["CHG-1"], force_token="CHG-2")
    assert runs(plan) == ["netsh.exe winsock reset"]
    assert plan.changes[-1].after == RegistryValue("multi_string", ["CHG-1", "CHG-2"])
    assert run(tokens=["CHG-1", "CHG-2"], force_token="CHG-2").changes == []


def test_ip_reset_is_refused_on_a_static_address() -> None:
    plan = run(providers=(SYSTEM, LSP), static=True, ip=True)
    assert plan.failure and "192.0.2.10" in plan.failure and "allow_static_ip_reset" in plan.failure
    assert plan.changes == []


def test_ip_reset_on_a_static_address_when_allowed_and_winsock_alone_is_fine() -> None:
    allowed = run(providers=(SYSTEM, LSP), static=True, ip=True, allow_static_ip_reset=True)
    assert runs(allowed) == ["netsh.exe winsock reset", "netsh.exe int ip reset"]
    assert runs(run(providers=(SYSTEM, LSP), static=True)) == ["netsh.exe winsock reset"]


@pytest.mark.parametrize(("options", "needle"), [
    ({"winsock": False, "ip": False}, "at least one"),
    ({"force_token": "  "}, "force_token"),
    ({"force_token": "x" * 129}, "force_token"),
    ({"timeout": 5}, "timeout"),
])
def test_bad_arguments(options: dict, needle: str) -> None:
    with pytest.raises(AnsibleActionFail, match=needle):
        winsock.ActionModule.check_arguments(None, {**DEFAULTS, **options})
