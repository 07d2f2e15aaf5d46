"""A concern's reads arrive by the names it gave them: a read added in front of the others shifts nothing, in the probe,
the follow-up and the verification alike."""
from __future__ import annotations

import typing as t
from pathlib import Path

from recorded_host import RecordedHost, make_action

from ansible_collections.m365ops.activation.plugins.plugin_utils.engine.actions import ConcernAction
from ansible_collections.m365ops.activation.plugins.plugin_utils.engine.agent import OpResult
from ansible_collections.m365ops.activation.plugins.plugin_utils.engine.concern import Concern, HostState, Plan, ProbeContext
from ansible_collections.m365ops.activation.plugins.plugin_utils.registry import RegistryKey, RegistryRef, RegistryValue, ValueChange

CURRENT_VERSION = r"HKLM\SOFTWARE\Microsoft\Windows NT\CurrentVersion"
TARGET = RegistryRef(RegistryKey(r"HKLM\SOFTWARE\m365ops\named-reads"), "Value")


def padding(args: dict[str, t.Any]) -> dict[str, dict[str, t.Any]]:
    """A read in front of the others, when the task asks for it."""
    return {"padding": {"op": "file_stat", "paths": [r"C:\Windows\notepad.exe"]}} if args["pad"] else {}


class NamedReads(Concern):
    NAME = "named_reads"
    FACTS_KEY = "named_reads"
    ARGUMENT_SPEC = {"pad": {"type": "bool", "default": False}}

    def registry_refs(self, args: dict[str, t.Any]) -> t.Iterable[RegistryRef]:
        return [TARGET]

    def probe_ops(self, args: dict[str, t.Any], context: ProbeContext) -> dict[str, dict[str, t.Any]]:
        return {**padding(args), "product": {"op": "registry_read", "key": CURRENT_VERSION, "view": "64", "names": ["EditionID"]}}

    def followup_ops(self, args: dict[str, t.Any], state: HostState) -> dict[str, dict[str, t.Any]]:
        return {**padding(args), "build": {"op": "registry_read", "key": CURRENT_VERSION, "view": "64", "names": ["CurrentBuildNumber"]}}

    def plan(self, args: dict[str, t.Any], state: HostState) -> Plan:
        product = state.probe("product").data["values"]["EditionID"]["value"]
        build = state.followup("build").data["values"]["CurrentBuildNumber"]["value"]
        plan = Plan(facts={"product": product, "build": build})
        if state.registry.get(TARGET) is None:
            plan.changes.append(ValueChange(TARGET, None, RegistryValue("string", build), "the value is missing"))
        return plan

    def verify_ops(self, args: dict[str, t.Any], plan: Plan) -> dict[str, dict[str, t.Any]]:
        return {**padding(args), "written": {"op": "registry_read", "key": TARGET.key.path, "view": "64", "names": [TARGET.name]}}

    def verify(self, args: dict[str, t.Any], plan: Plan, applied: t.Sequence[OpResult], checks: t.Mapping[str, OpResult]) -> list[str]:
        stored = checks["written"].data["values"].get(TARGET.name) or {}
        return [] if stored.get("value") == plan.facts["build"] else [f"the value reads back as {stored.get('value')!r}"]


class NamedReadsAction(ConcernAction):
    CONCERN = NamedReads()


def test_a_read_added_in_front_shifts_nothing(tmp_path: Path) -> None:
    results = {}
    for pad in (False, True):
        recorded = RecordedHost(tmp_path / str(pad), "win10")
        result = make_action(recorded, {"pad": pad}, action_class=NamedReadsAction, module="named_reads").run(task_vars={"inventory_hostname": "host"})
        assert not result.get("failed"), result.get("msg")
        assert result["changed"] is True and result["status"] == "remediated"
        results[pad] = (result["named_reads"], len(recorded.batches[0]) + len(recorded.batches[1]))
    (plain, plain_ops), (padded, padded_ops) = results[False], results[True]
    assert plain == padded and plain["product"] and plain["build"].isdigit()
    assert padded_ops > plain_ops, "the padding reads were sent"
