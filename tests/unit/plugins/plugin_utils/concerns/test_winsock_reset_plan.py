"""Winsock/IP reset decisions: evidence, once-tokens, the static-address guard."""
from __future__ import annotations

import pytest
from ansible.errors import AnsibleActionFail

from ansible_collections.m365ops.activation.plugins.plugin_utils.concerns import winsock_reset as winsock
from ansible_collections.m365ops.activation.plugins.plugin_utils.engine.agent import OpResult
from ansible_collections.m365ops.activation.plugins.plugin_utils.engine.concern import HostState
from ansible_collections.m365ops.activation.plugins.plugin_utils.programs import ProgramRun
from ansible_collections.m365ops.activation.plugins.plugin_utils.registry import RegistryValue
from hoststate import make_state
from winsim.profiles import packed_catalog_item

DEFAULTS = {"winsock": True, "ip": False, "force_token": None, "allow_static_ip_reset": False, "timeout": 300, "reset_third_party": False}
SYSTEM = r"%SystemRoot%\system32\mswsock.dll"
LSP = r"C:\Program Files\Contoso Shield\csl_lsp64.dll"
BONJOUR = r"%ProgramFiles%\Bonjour\mdnsNSP.dll"
BASE = ((SYSTEM, 1), (SYSTEM, 1))


def catalog(*entries: tuple[str, int]) -> OpResult:
    packed = {f"{index:012d}": {"values": {"PackedCatalogItem": {"type": "binary", "value": packed_catalog_item(path, chain)}}}
              for index, (path, chain) in enumerate(entries, start=1)}
    return OpResult("registry_read_subkeys", True, {"exists": True, "subkeys": packed})


def namespaces(*paths: str) -> OpResult:
    entries = {f"{index:012d}": {"values": {"LibraryPath": {"type": "expand_string", "value": path}}}
               for index, path in enumerate(paths, start=1)}
    return OpResult("registry_read_subkeys", True, {"exists": True, "subkeys": entries})


def interfaces(static: bool = False, dns: str = "") -> OpResult:
    values = {"EnableDHCP": {"type": "dword", "value": 0 if static else 1}}
    if static:
        values["IPAddress"] = {"type": "multi_string", "value": ["192.0.2.10"]}
    if dns:
        values["NameServer"] = {"type": "string", "value": dns}
    return OpResult("registry_read_subkeys", True, {"exists": True, "subkeys": {"{guid}": {"values": values}}})


def reads(*answers: OpResult) -> dict[str, OpResult]:
    """The answers in the order the concern asks (the four catalogs, interfaces, system files, adapters), by its names."""
    return dict(zip(winsock.WinsockReset().probe_ops({}, None), answers))


def adapter_list(guids=("{guid}",), manual=()) -> OpResult:
    return OpResult("adapter_list", True, {"netadapter_supported": True, "adapters": [
        {"name": f"Ethernet {index}", "guid": guid, "if_index": index, "manual_addresses": list(manual) if index == 1 else []}
        for index, guid in enumerate(guids, start=1)]})


def run(providers=BASE, names=(r"%SystemRoot%\System32\NLAapi.dll",), static=False, dns="", tokens=None, reset_catalogs=None, missing=(),
        adapters=None, **options):
    args = {**DEFAULTS, **options}
    values = {(winsock.SYSTEM_ROOT.key.path, "64", "SystemRoot"): RegistryValue("string", r"C:\Windows")}
    if tokens is not None:
        values[(winsock.TOKENS.key.path, "64", "WinsockResetTokens")] = RegistryValue("multi_string", tokens)
    if reset_catalogs is not None:
        values[(winsock.RESET_CATALOGS.key.path, "64", "WinsockResetCatalogs")] = RegistryValue("multi_string", reset_catalogs)
    base = make_state("win10", [winsock.SYSTEM_ROOT, winsock.TOKENS, winsock.RESET_CATALOGS], values)
    probes = reads(catalog(*providers), catalog(*providers), namespaces(*names), namespaces(*names), interfaces(static, dns),
                   files(winsock.SYSTEM_PROVIDER_FILES, missing), adapters or adapter_list())
    state = HostState(base.windows, base.registry, probes)
    followups = winsock.WinsockReset().followup_ops(args, state)
    state = HostState(base.windows, base.registry, probes, followups={name: files(op["paths"], missing) for name, op in followups.items()})
    return winsock.plan_reset(args, state)


def files(paths, missing=()) -> OpResult:
    """file_stat's answer: every path exists but those in ``missing`` (compared case-insensitively)."""
    gone = {path.lower() for path in missing}
    return OpResult("file_stat", True, {"files": {path: {"exists": path.lower() not in gone} for path in paths}})


def runs(plan) -> list[str]:
    return [change.command for change in plan.changes if isinstance(change, ProgramRun)]


def test_system_catalog_needs_no_reset() -> None:
    plan = run()
    assert plan.changes == [] and plan.facts["reset_because"] is None and plan.facts["damage"] == []


@pytest.mark.parametrize("path", [r"C:\Windows\System32\mswsock.dll", r"%windir%\SysWOW64\mswsock.dll"])
def test_system_directory_spellings_count_as_system(path: str) -> None:
    plan = run(providers=((path, 1),), names=(r"c:\windows\system32\NLAapi.dll",))
    assert plan.changes == [] and plan.facts["third_party_providers"] == []


def test_a_layered_provider_is_damage_and_is_reset_with_its_catalog_recorded() -> None:
    plan = run(providers=(*BASE, (LSP, 0), (LSP, 2)))
    assert runs(plan) == ["netsh.exe winsock reset"] and plan.facts["reset_because"] == "damage"
    assert any("layered protocol" in item and LSP in item for item in plan.facts["damage"])
    assert plan.changes[0].reboot_required and plan.changes[0].to_op()["success_exit_codes"] == [0]
    recorded = plan.changes[-1]
    assert recorded.ref == winsock.RESET_CATALOGS and recorded.after.value == [plan.facts["catalog_hash"]]


def test_the_same_catalog_is_never_reset_twice() -> None:
    first = run(providers=(*BASE, (LSP, 0)))
    again = run(providers=(*BASE, (LSP, 0)), reset_catalogs=[first.facts["catalog_hash"]])
    assert again.changes == [] and "re-registers" in again.blockers[0]


def test_a_catalog_without_the_base_provider_is_damage() -> None:
    plan = run(providers=((r"%SystemRoot%\system32\other.dll", 1),))
    assert runs(plan) == ["netsh.exe winsock reset"] and "no base protocol provider" in plan.facts["damage"][0]


def test_a_third_party_provider_that_breaks_nothing_is_reported_not_reset() -> None:
    plan = run(names=(r"%SystemRoot%\System32\NLAapi.dll", BONJOUR))
    assert plan.changes == [] and [item["path"] for item in plan.facts["third_party_providers"]] == [BONJOUR, BONJOUR]
    assert "Bonjour" in plan.warnings[0]
    assert runs(run(names=(BONJOUR,), reset_third_party=True)) == ["netsh.exe winsock reset"]


def test_a_new_token_forces_once_and_is_recorded_before_the_ip_reset() -> None:
    plan = run(tokens=["CHG-1"], force_token="CHG-2", ip=True)
    assert [type(change).__name__ for change in plan.changes] == ["ProgramRun", "ValueChange", "ProgramRun"]
    assert plan.changes[1].after == RegistryValue("multi_string", ["CHG-1", "CHG-2"])
    assert plan.changes[2].to_op()["success_exit_codes"] == [0, 1]
    assert run(tokens=["CHG-1", "CHG-2"], force_token="CHG-2").changes == []


def test_a_partial_ip_reset_is_said_in_the_result() -> None:
    ip_reset = run(force_token="CHG-3", ip=True).changes[-1]
    assert "exited 1: it did part of its work" in ip_reset.applied_note({"exit_code": 1})
    assert ip_reset.applied_note({"exit_code": 0}) is None


@pytest.mark.parametrize(("static", "dns", "needle"), [(True, "", "192.0.2.10"), (False, "10.0.0.53 10.0.0.54", "10.0.0.53")])
def test_ip_reset_is_refused_on_a_static_address_or_static_dns(static: bool, dns: str, needle: str) -> None:
    plan = run(providers=(*BASE, (LSP, 0)), static=static, dns=dns, ip=True)
    assert plan.failure and needle in plan.failure and "allow_static_ip_reset" in plan.failure
    assert plan.changes == []


def test_ip_reset_on_a_static_address_when_allowed_and_winsock_alone_is_fine() -> None:
    allowed = run(providers=(*BASE, (LSP, 0)), static=True, ip=True, allow_static_ip_reset=True)
    assert runs(allowed) == ["netsh.exe winsock reset", "netsh.exe int ip reset"]
    assert runs(run(providers=(*BASE, (LSP, 0)), static=True)) == ["netsh.exe winsock reset"]


@pytest.mark.parametrize(("options", "needle"), [
    ({"winsock": False, "ip": False}, "at least one"),
    ({"force_token": "  "}, "force_token"),
    ({"force_token": "x" * 129}, "force_token"),
    ({"timeout": 5}, "timeout"),
])
def test_bad_arguments(options: dict, needle: str) -> None:
    with pytest.raises(AnsibleActionFail, match=needle):
        winsock.WinsockReset().check_arguments({**DEFAULTS, **options})


def test_a_provider_whose_dll_is_gone_is_damage_even_from_a_third_party() -> None:
    vpn = r"%ProgramFiles%\Contoso VPN\cvpn_nsp.dll"
    plan = run(names=(r"%SystemRoot%\System32\NLAapi.dll", vpn), missing=(vpn,))
    assert runs(plan) == ["netsh.exe winsock reset"] and plan.facts["reset_because"] == "damage"
    assert any(vpn in item and "does not exist" in item for item in plan.facts["damage"])
    # Not "left in place": a provider that cannot load is not a product to protect.
    assert plan.facts["third_party_providers"] == [] and plan.warnings == []


def test_a_32_bit_entry_is_looked_for_in_syswow64() -> None:
    plan = run(missing=(r"%SystemRoot%\SysWOW64\mswsock.dll",))
    # The 32-bit catalog's two mswsock entries, not the 64-bit catalog's (System32 is still there).
    assert plan.facts["damage"] == [f"Protocol_Catalog9\\Catalog_Entries {entry}: provider %SystemRoot%\\SysWOW64\\mswsock.dll does not exist"
                                    for entry in ("000000000001", "000000000002")]
    assert runs(plan) == ["netsh.exe winsock reset"]


def test_only_providers_outside_the_system_list_take_a_second_look() -> None:
    args = dict(DEFAULTS)
    base = make_state("win10", [winsock.SYSTEM_ROOT, winsock.TOKENS, winsock.RESET_CATALOGS])
    system_only = HostState(base.windows, base.registry, reads(catalog(*BASE), catalog(*BASE), namespaces(SYSTEM), namespaces(SYSTEM), interfaces(),
                                                               files(winsock.SYSTEM_PROVIDER_FILES), adapter_list()))
    assert not winsock.WinsockReset().followup_ops(args, system_only)
    bonjour = HostState(base.windows, base.registry, reads(catalog(*BASE), catalog(*BASE), namespaces(SYSTEM, BONJOUR), namespaces(SYSTEM),
                                                           interfaces(), files(winsock.SYSTEM_PROVIDER_FILES), adapter_list()))
    assert list(winsock.WinsockReset().followup_ops(args, bonjour).values()) == [{"op": "file_stat", "paths": [BONJOUR]}]


def test_a_static_ipv6_address_blocks_the_ip_reset_too() -> None:
    plan = run(providers=(*BASE, (LSP, 0)), ip=True, adapters=adapter_list(manual=("2001:db8:10::23",)))
    assert plan.failure and "2001:db8:10::23" in plan.failure and "Ethernet 1" in plan.failure
    assert plan.facts["static_interfaces"] == [{"interface": "Ethernet 1", "addresses": ["2001:db8:10::23"], "dns_servers": []}]


def test_the_key_of_a_removed_adapter_does_not_block_the_ip_reset() -> None:
    # The static registry key belongs to a network card that is no longer there; the present one uses DHCP.
    plan = run(providers=(*BASE, (LSP, 0)), ip=True, static=True, adapters=adapter_list(guids=("{present}",)))
    assert plan.failure is None and plan.facts["static_interfaces"] == []
    assert runs(plan) == ["netsh.exe winsock reset", "netsh.exe int ip reset"]
