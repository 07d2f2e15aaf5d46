# -*- coding: utf-8 -*-
# Copyright: m365ops.activation contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one action shape every concern module shares: probe, model, desired, diff, apply, result.

A concern subclasses :class:`ConcernAction` and describes only its own settings:
``registry_refs`` (what to read) and ``plan`` (what must change, and why). This class owns
argument validation, the two agent executions (one probe, one apply only when something must
change and the task is not in check mode), diff, backup records and error mapping.
"""

from __future__ import annotations

import typing as t
from dataclasses import dataclass, field

from ansible.plugins.action import ActionBase

from ansible_collections.m365ops.activation.plugins.plugin_utils.agent import AgentClient, AgentError, AgentOpError, OpResult
from ansible_collections.m365ops.activation.plugins.plugin_utils.backup import backup_document, write_backup
from ansible_collections.m365ops.activation.plugins.plugin_utils.changes import Change, render_diff
from ansible_collections.m365ops.activation.plugins.plugin_utils.registry import (
    RegistryKey, RegistryRef, RegistrySnapshot, RegistryValue, ValueChange, read_ops, snapshot, tree_ops,
)
from ansible_collections.m365ops.activation.plugins.plugin_utils.windows import WindowsHost

COMMON_ARGUMENT_SPEC: dict[str, dict[str, t.Any]] = {
    "backup_dir": {"type": "path"},
}


@dataclass(frozen=True)
class HostState:
    """Everything the probe learned: the Windows release and the registry values asked for."""

    windows: WindowsHost
    registry: RegistrySnapshot
    probes: tuple[OpResult, ...] = ()


@dataclass
class Plan:
    """A concern's decision: the changes to make, what to tell the user, and its own report.

    ``blockers`` are conditions that keep the host non-compliant and that this module cannot
    fix (a missing update, a Group Policy); they are returned and also raised as warnings.
    """

    changes: list[Change] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    blockers: list[str] = field(default_factory=list)
    facts: dict[str, t.Any] = field(default_factory=dict)
    failure: str | None = None

    def set_value(self, state: HostState, ref: RegistryRef, after: RegistryValue, reason: str, reboot_required: bool = False) -> None:
        """Record a change to ``after`` unless the host already has exactly that value and type."""
        before = state.registry.get(ref)
        if before != after:
            self.changes.append(ValueChange(ref, before, after, reason, reboot_required))

    def remove_value(self, state: HostState, ref: RegistryRef, reason: str, reboot_required: bool = False) -> None:
        """Record the removal of ``ref`` unless it is already absent."""
        before = state.registry.get(ref)
        if before is not None:
            self.changes.append(ValueChange(ref, before, None, reason, reboot_required))


def applied_records(changes: t.Sequence[Change], results: t.Sequence[OpResult]) -> list[dict[str, t.Any]]:
    """Backup records of the changes the agent actually made, from what it found just before each one."""
    return [change.backup_record(result.data) for change, result in zip(changes, results) if result.ok and result.data.get("changed")]


class ConcernAction(ActionBase):
    """Base of the concern action plugins. Subclasses set ARGUMENT_SPEC and FACTS_KEY, and say what to probe."""

    TRANSFERS_FILES = False
    ARGUMENT_SPEC: t.ClassVar[dict[str, dict[str, t.Any]]] = {}
    FACTS_KEY: t.ClassVar[str] = ""

    def registry_refs(self, args: dict[str, t.Any]) -> t.Iterable[RegistryRef]:
        """Registry values the probe reads; none by default."""
        return ()

    def plan(self, args: dict[str, t.Any], state: HostState) -> Plan:
        raise NotImplementedError

    def repair_ops(self, args: dict[str, t.Any], change: Change, outcome: OpResult) -> list[dict[str, t.Any]]:
        """Ops that may cure what made ``change`` fail; when given, they run and the rest is tried once more."""
        return []

    def probe_ops(self, args: dict[str, t.Any]) -> list[dict[str, t.Any]]:
        """Other read ops for the probe (services, proxy, ...); their results arrive as ``state.probes``, in order."""
        return []

    def tree_keys(self, args: dict[str, t.Any]) -> t.Iterable[RegistryKey]:
        """Keys whose whole subtree the probe should measure (values and subkeys); none by default."""
        return ()

    def check_arguments(self, args: dict[str, t.Any]) -> None:
        """Cross-field checks beyond the argument spec; raise AnsibleActionFail naming the parameter."""

    def run(self, tmp: t.Any = None, task_vars: dict[str, t.Any] | None = None) -> dict[str, t.Any]:
        self._supports_check_mode = True
        self._supports_async = False
        result = super().run(tmp, task_vars)
        task_vars = task_vars or {}

        _validation, args = self.validate_argument_spec(argument_spec={**COMMON_ARGUMENT_SPEC, **self.ARGUMENT_SPEC})
        self.check_arguments(args)

        agent = AgentClient(self._execute_module, task_vars)
        try:
            state = self._probe(agent, args)
            plan = self.plan(args, state)
            result.update(self._report(plan))
            if plan.failure:
                result.update(failed=True, msg=plan.failure)
                return result
            if plan.changes and not self._task.check_mode:
                self._apply(agent, plan.changes, args, result, task_vars)
        except AgentError as error:
            result.update(failed=True, msg=str(error))
        result["agent_executions"] = agent.executions
        return result

    def _probe(self, agent: AgentClient, args: dict[str, t.Any]) -> HostState:
        refs = list(self.registry_refs(args))
        keys, reads = read_ops(refs)
        trees = sorted(set(self.tree_keys(args)))
        extra = self.probe_ops(args)
        system, *answers = agent.run([{"op": "system_info"}, *reads, *tree_ops(trees), *extra])
        if not system.ok:
            raise AgentOpError(system, "reading the Windows release")
        probes = answers[len(reads) + len(trees):]
        for op, probe in zip(extra, probes):
            if not probe.ok:
                raise AgentOpError(probe, f"probing ({op['op']})")
        registry = snapshot(refs, keys, answers[:len(reads)], trees, answers[len(reads):len(reads) + len(trees)])
        return HostState(WindowsHost.from_system_info(system.data), registry, tuple(probes))

    def _report(self, plan: Plan) -> dict[str, t.Any]:
        report: dict[str, t.Any] = {
            "changed": bool(plan.changes),
            "check_mode": bool(self._task.check_mode),
            "reboot_required": any(change.reboot_required for change in plan.changes),
            "changes": [change.as_result() for change in plan.changes],
            "blockers": list(plan.blockers),
            self.FACTS_KEY: plan.facts,
        }
        if plan.warnings or plan.blockers:
            report["warnings"] = [*plan.blockers, *plan.warnings]
        if plan.changes and self._task.diff:
            report["diff"] = render_diff(plan.changes)
        return report

    def _apply(self, agent: AgentClient, changes: list[Change], args: dict[str, t.Any],
               result: dict[str, t.Any], task_vars: dict[str, t.Any]) -> None:
        results = agent.run([change.to_op() for change in changes])
        failed_at = next((index for index, outcome in enumerate(results) if not outcome.ok), None)
        repair = [] if failed_at is None else self.repair_ops(args, changes[failed_at], results[failed_at])
        failed_repair = None
        if repair:
            # One more agent run: the repair, then the failed change and those after it, once.
            retry = agent.run([*repair, *(change.to_op() for change in changes[failed_at:])])
            result["repairs"] = [{"op": op["op"], "ok": outcome.ok, **outcome.data, **({} if outcome.ok else {"error": outcome.error})}
                                 for op, outcome in zip(repair, retry)]
            failed_repair = next((outcome for outcome in retry[:len(repair)] if not outcome.ok), None)
            results = [*results[:failed_at], *retry[len(repair):]]
        records = applied_records(changes, results)
        result["backup"] = records
        backup_dir = args.get("backup_dir")
        if records and backup_dir:
            host = str(task_vars.get("inventory_hostname", "unknown"))
            module = self._task.resolved_action or self._task.action
            try:
                result["backup_file"] = write_backup(backup_dir, backup_document(host, module, records))
            except OSError as error:
                raise AgentError(f"backup_dir: the changes were made but their backup record could not be written "
                                 f"under {backup_dir}: {error}; the 'backup' result holds the previous values") from error
        if failed_repair is not None:
            raise AgentOpError(failed_repair, f"repairing the host after {changes[failed_at].target} failed "
                                              f"({len(records)} of {len(changes)} changes were made and are in 'backup')")
        failed = next(((change, outcome) for change, outcome in zip(changes, results) if not outcome.ok), None)
        if failed is not None:
            change, outcome = failed
            done = len(records)
            raise AgentOpError(outcome, f"changing {change.target} ({done} of {len(changes)} changes were made and are in 'backup')")
