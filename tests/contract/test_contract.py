"""The agent contract, held against the simulator: in-process per case, and end to end over WinRM."""
from __future__ import annotations

from pathlib import Path

import pytest

from conftest import ansible_env
from tests.contract.contract import Case, batches, judge, load_cases, mismatches
from tests.contract.run import run_contract
from winsim import agent
from winsim.fleet import Fleet
from winsim.host import SimHost
from winsim.profiles import PROFILES

CASES = load_cases()


# The error classes no case can bring about on a test machine without setting it up first (a disabled service and one
# whose dependency is, a service that fails to start, a program that exits non-zero, a hung user session, a host
# without the NetAdapter module, a host-side exception): docs/real-windows.md names them. The list may only shrink.
ERRORS_WITHOUT_A_CASE = {"dependency_failed", "host_error", "process_failed", "service_disabled", "service_start_failed", "timeout",
                         "unsupported"}


def _errors(value: object) -> set[str]:
    if isinstance(value, dict):
        return ({str(value["error"])} if "error" in value else set()) | {name for item in value.values() for name in _errors(item)}
    if isinstance(value, list):
        return {name for item in value for name in _errors(item)}
    return set()


def test_there_are_cases_for_every_op_and_error_class() -> None:
    """Every op of the manifest is in a case (as an op, or inside a user-session op), and every error class but those
    a test machine must be set up for."""
    from ansible_collections.m365ops.activation.plugins.plugin_utils.engine.agent_ops import ERROR_CLASSES, OPS

    ops = {op.get("op") for case in CASES for op in case.ops}
    nested = {inner.get("op") for case in CASES for op in case.ops for inner in op.get("ops") or [] if isinstance(inner, dict)}
    assert set(OPS) - ops - nested == set()
    errors = _errors([case.expect for case in CASES])
    assert set(ERROR_CLASSES) - errors == ERRORS_WITHOUT_A_CASE


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_case_against_the_simulated_agent(case: Case, tmp_path: Path) -> None:
    host = SimHost("contract", PROFILES["win10"].build("contract"), tmp_path / "contract.json")
    answers = [agent.run_ops(host, run["ops"], run["check_mode"]) for run in batches([case])]
    verdict, = judge([case], answers)
    assert verdict.problems == []


def test_matcher_reports_what_differs() -> None:
    assert mismatches({"a": "<int>", "b": [1, {"c": True}]}, {"a": "x", "b": [1, {"c": 1}]}) == [
        ".a: expected <int>, got 'x'", ".b[1].c: expected True, got 1"]
    assert mismatches([{"values": {}}], [{"values": {"extra": 1}}]) == ["[0].values.extra: not expected"]
    assert mismatches({"x": "<str|null>"}, {"x": None}) == []


def test_whole_contract_over_winrm_through_ansible(fleet: Fleet, inventory: Path) -> None:
    fleet.add("contract-x64", "win10")
    fleet.add("contract-x86", "win7sp1")
    fleet.hosts["contract-x86"].host.registry.write(
        r"HKLM\SYSTEM\CurrentControlSet\Control\Session Manager\Environment", "64", "PROCESSOR_ARCHITECTURE", "string", "x86", True)
    fleet.write_inventory(inventory)
    verdicts = run_contract(str(inventory), "windows", ansible_env())
    assert set(verdicts) == {"contract-x64", "contract-x86"}
    for host, host_verdicts in verdicts.items():
        assert [(verdict.case, verdict.problems) for verdict in host_verdicts if verdict.problems] == [], host
        assert len(host_verdicts) == len(CASES)
    assert sorted(verdict.case for verdict in verdicts["contract-x86"] if verdict.skipped) == [
        "adapter_binding_set on an adapter that does not exist", "connection_profiles reports each connected network's connectivity as numbers",
        "file_stat sees the 32-bit winhttp.dll in SysWOW64",
        "management_addresses on the asked ports, addresses without zone ids",
        "the 32-bit view of HKLM\\SOFTWARE lands in Wow6432Node"]
