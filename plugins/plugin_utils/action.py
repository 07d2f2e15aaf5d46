# -*- coding: utf-8 -*-
# Copyright: m365ops.activation contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one action shape every concern module shares: probe, model, desired, diff, apply, result.

A concern subclasses :class:`ConcernAction` and describes only its own settings:
``registry_refs`` (what to read) and ``plan`` (what must change, and why). This class owns
argument validation, the two agent executions (one probe, one apply only when something must
change and the task is not in check mode), diff, backup records, error mapping, the concern's
status, and the memory of a reboot a change made necessary.

A reboot owed is recorded on the host, under ``HKLM\\SOFTWARE\\m365ops\\activation\\RebootRequired``,
one REG_SZ value per concern holding the boot time at which the change was made. While the host's
boot time is still that one, every later run reports the reboot as owed; a reboot clears it.
"""

from __future__ import annotations

import typing as t
from dataclasses import dataclass, field, replace

from ansible.errors import AnsibleActionFail
from ansible.plugins.action import ActionBase

from ansible_collections.m365ops.activation.plugins.plugin_utils.agent import AgentClient, AgentError, AgentOpError, AgentPrerequisiteError, OpResult
from ansible_collections.m365ops.activation.plugins.plugin_utils.backup import backup_document, check_backup_dir, write_backup
from ansible_collections.m365ops.activation.plugins.plugin_utils.changes import Change, render_diff
from ansible_collections.m365ops.activation.plugins.plugin_utils.registry import (
    ManagedValues, RegistryKey, RegistryRef, RegistrySnapshot, RegistryValue, ValueChange, read_ops, snapshot, tree_ops,
)
from ansible_collections.m365ops.activation.plugins.plugin_utils.status import plan_status
from ansible_collections.m365ops.activation.plugins.plugin_utils.windows import WindowsHost

COMMON_ARGUMENT_SPEC: dict[str, dict[str, t.Any]] = {
    "backup_dir": {"type": "path"},
}


REBOOT_MARKERS = RegistryKey(r"HKLM\SOFTWARE\m365ops\activation\RebootRequired")
UNKNOWN_BOOT_TIME = "unknown"


@dataclass(frozen=True)
class HostState:
    """Everything the probe learned: the Windows release, the registry values asked for, and reboots owed.

    ``reboots_owed`` maps a concern to the boot time at which it made a change that needs a restart,
    for the concerns whose reboot has not happened yet. ``followups`` are the answers to the read ops
    the concern asked for after seeing the probe (``followup_ops``), in order; usually none.
    """

    windows: WindowsHost
    registry: RegistrySnapshot
    probes: tuple[OpResult, ...] = ()
    reboots_owed: dict[str, str] = field(default_factory=dict)
    followups: tuple[OpResult, ...] = ()


def reboots_owed(markers: OpResult, boot_time: str | None) -> dict[str, str]:
    """The markers whose boot time is the current one: their reboot has not happened yet.

    When the host's boot time is unknown every marker counts as owed: never rosier than the host.
    """
    owed = {}
    for concern, value in (markers.data.get("values") or {}).items():
        since = value.get("value") if isinstance(value, dict) else None
        # A marker written without a known boot time cannot be proven stale: it stays owed.
        if isinstance(since, str) and (boot_time is None or since in (boot_time, UNKNOWN_BOOT_TIME)):
            owed[concern] = since
    return owed


@dataclass(frozen=True)
class RebootMarker:
    """Bookkeeping write that remembers, on the host, a reboot this concern's changes made necessary."""

    concern: str
    boot_time: str
    reason: str = "remember the reboot these changes need"
    reboot_required: bool = False

    @property
    def target(self) -> str:
        return f"the reboot marker {REBOOT_MARKERS}\\{self.concern}"

    def to_op(self) -> dict[str, t.Any]:
        return {"op": "registry_write", "key": REBOOT_MARKERS.path, "view": REBOOT_MARKERS.view, "name": self.concern,
                "type": "string", "value": self.boot_time}

    def backup_record(self, applied: dict[str, t.Any]) -> None:
        # Not a setting of the host: restore must never remove the memory of a reboot still owed.
        return None


def with_reboot_marker(changes: t.Sequence[Change], marker: RebootMarker) -> list[t.Any]:
    """``changes`` with ``marker`` right after the first one that needs a restart.

    The agent skips the writes after a failed write, so the marker lands exactly when at least one
    change that needs a restart was made.
    """
    batch: list[t.Any] = list(changes)
    first = next((index for index, change in enumerate(changes) if change.reboot_required), None)
    if first is not None:
        batch.insert(first + 1, marker)
    return batch


@dataclass
class Plan:
    """A concern's decision: the changes to make, what to tell the user, and its own report.

    ``blockers`` are conditions that keep the host non-compliant and that this module cannot
    fix (a missing update, a Group Policy); they are returned and also raised as warnings.
    ``drift`` names what differs from what the article needs and is left in place with the options
    given (a non-default NCSI probe host, a proxy site whose WinINet uses a PAC file): after a run,
    the concern is not fixed while anything is listed there.
    """

    changes: list[Change] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    blockers: list[str] = field(default_factory=list)
    drift: list[str] = field(default_factory=list)
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


def applied(changes: t.Sequence[t.Any], results: t.Sequence[OpResult]) -> list[t.Any]:
    """The changes the agent actually made (the reboot marker is bookkeeping, not a change)."""
    return [change for change, result in zip(changes, results)
            if result.ok and result.data.get("changed") and not isinstance(change, RebootMarker)]


def applied_records(changes: t.Sequence[t.Any], results: t.Sequence[OpResult]) -> list[dict[str, t.Any]]:
    """Backup records of the changes the agent actually made, from what it found just before each one."""
    records = (change.backup_record(result.data) for change, result in zip(changes, results) if result.ok and result.data.get("changed"))
    return [record for record in records if record is not None]


class ConcernAction(ActionBase):
    """Base of the concern action plugins. Subclasses set ARGUMENT_SPEC, CONCERN and FACTS_KEY, and say what to probe."""

    TRANSFERS_FILES = False
    ARGUMENT_SPEC: t.ClassVar[dict[str, dict[str, t.Any]]] = {}
    # The concern's name (as in the playbooks' m365ops_concerns); it also names the concern's reboot marker.
    CONCERN: t.ClassVar[str] = ""
    FACTS_KEY: t.ClassVar[str] = ""
    # Whether a repair (repair_ops) needs a restart to finish, as System File Checker's queued replacements do.
    REPAIR_NEEDS_REBOOT: t.ClassVar[bool] = False
    # The registry values the concern may change: restore puts back only values some concern declares here.
    MANAGED: t.ClassVar[tuple[ManagedValues, ...]] = ()

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

    def followup_ops(self, args: dict[str, t.Any], state: HostState) -> list[dict[str, t.Any]]:
        """Read ops that only the probe's answers can name (files a catalog points to); when given, one more read-only
        agent run answers them into ``state.followups``. Keep this for what cannot be known in advance."""
        return []

    def tree_keys(self, args: dict[str, t.Any]) -> t.Iterable[RegistryKey]:
        """Keys whose whole subtree the probe should measure (values and subkeys); none by default."""
        return ()

    def check_arguments(self, args: dict[str, t.Any]) -> None:
        """Cross-field checks beyond the argument spec; raise AnsibleActionFail naming the parameter."""

    def verify_ops(self, args: dict[str, t.Any], plan: Plan) -> list[dict[str, t.Any]]:
        """Read ops sent at the end of the apply batch to read back what the changes wrote; none by default."""
        return []

    def verify(self, args: dict[str, t.Any], plan: Plan, applied: t.Sequence[OpResult], checks: t.Sequence[OpResult]) -> list[str]:
        """Problems found in the read-back (``applied``: one result per planned change; ``checks``: the verify ops)."""
        return []

    def run(self, tmp: t.Any = None, task_vars: dict[str, t.Any] | None = None) -> dict[str, t.Any]:
        self._supports_check_mode = True
        self._supports_async = False
        result = super().run(tmp, task_vars)
        task_vars = task_vars or {}

        _validation, args = self.validate_argument_spec(argument_spec={**COMMON_ARGUMENT_SPEC, **self.ARGUMENT_SPEC})
        self.check_arguments(args)
        if args.get("backup_dir") and not self._task.check_mode:
            # Before the host is touched: a change whose backup cannot be written must not be made.
            try:
                check_backup_dir(args["backup_dir"])
            except OSError as error:
                raise AnsibleActionFail(f"backup_dir: {args['backup_dir']} cannot hold backup records ({error}); "
                                        "nothing was changed on the host") from error

        agent = AgentClient(self._execute_module, task_vars)
        plan = Plan()
        try:
            state = self._probe(agent, args)
            plan = self.plan(args, state)
            result.update(self._report(plan, state))
            if plan.failure:
                result.update(failed=True, msg=plan.failure)
            elif plan.changes and not self._task.check_mode:
                self._apply(agent, plan, state, args, result, task_vars)
        except AgentPrerequisiteError as error:
            # Blocked, not failed: a person must install something before anything can be checked or changed.
            plan.blockers.append(str(error))
            result.update(changed=False, blockers=list(plan.blockers), warnings=list(plan.blockers), agent_unavailable=True,
                          check_mode=bool(self._task.check_mode), reboot_required=False, reboot_owed_by=[], changes=[], drift=[])
        except AgentError as error:
            result.update(failed=True, msg=str(error), **error.details)
            result.setdefault("changed", False)
        result["status"] = plan_status(failed=bool(result.get("failed")), blockers=plan.blockers, drift=plan.drift,
                                       changed=bool(result.get("changed")), check_mode=bool(self._task.check_mode))
        result["agent_executions"] = agent.executions
        return result

    def _probe(self, agent: AgentClient, args: dict[str, t.Any]) -> HostState:
        refs = list(self.registry_refs(args))
        keys, reads = read_ops(refs)
        trees = sorted(set(self.tree_keys(args)))
        extra = self.probe_ops(args)
        markers_op = {"op": "registry_read", "key": REBOOT_MARKERS.path, "view": REBOOT_MARKERS.view}
        system, markers, *answers = agent.run([{"op": "system_info"}, markers_op, *reads, *tree_ops(trees), *extra])
        if not system.ok:
            raise AgentOpError(system, "reading the Windows release")
        if not markers.ok:
            raise AgentOpError(markers, f"reading the reboot markers under {REBOOT_MARKERS}")
        probes = answers[len(reads) + len(trees):]
        for op, probe in zip(extra, probes):
            if not probe.ok:
                raise AgentOpError(probe, f"probing ({op['op']})")
        registry = snapshot(refs, keys, answers[:len(reads)], trees, answers[len(reads):len(reads) + len(trees)])
        windows = WindowsHost.from_system_info(system.data)
        state = HostState(windows, registry, tuple(probes), reboots_owed(markers, windows.boot_time))
        followups = self.followup_ops(args, state)
        if not followups:
            return state
        answers = agent.run(followups)
        for op, answer in zip(followups, answers):
            if not answer.ok:
                raise AgentOpError(answer, f"probing ({op['op']})")
        return replace(state, followups=tuple(answers))

    def _report(self, plan: Plan, state: HostState) -> dict[str, t.Any]:
        report: dict[str, t.Any] = {
            "changed": bool(plan.changes),
            "check_mode": bool(self._task.check_mode),
            "reboot_required": any(change.reboot_required for change in plan.changes) or self.CONCERN in state.reboots_owed,
            "reboot_owed_by": sorted(state.reboots_owed),
            "changes": [change.as_result() for change in plan.changes],
            "blockers": list(plan.blockers),
            "drift": list(plan.drift),
            self.FACTS_KEY: plan.facts,
        }
        if plan.warnings or plan.blockers or plan.drift:
            report["warnings"] = [*plan.blockers, *plan.drift, *plan.warnings]
        if plan.changes and self._task.diff:
            report["diff"] = render_diff(plan.changes)
        return report

    def _apply(self, agent: AgentClient, plan: Plan, state: HostState, args: dict[str, t.Any],
               result: dict[str, t.Any], task_vars: dict[str, t.Any]) -> None:
        marker = RebootMarker(self.CONCERN, state.windows.boot_time or UNKNOWN_BOOT_TIME)
        changes = with_reboot_marker(plan.changes, marker)
        planned = len(plan.changes)
        checks = self.verify_ops(args, plan)
        answers = agent.run([*(change.to_op() for change in changes), *checks])
        results, verified = answers[:len(changes)], answers[len(changes):]
        failed_at = next((index for index, outcome in enumerate(results) if not outcome.ok), None)
        repair = [] if failed_at is None else self.repair_ops(args, changes[failed_at], results[failed_at])
        failed_repair = None
        repaired = False
        if repair:
            # One more agent run: the repair, then the failed change and those after it, once (and the read-back again).
            # A repair that needs a restart to finish (sfc queues its replacements) is remembered like a change.
            remember = [marker.to_op()] if self.REPAIR_NEEDS_REBOOT else []
            retry = agent.run([*repair, *remember, *(change.to_op() for change in changes[failed_at:]), *checks])
            result["repairs"] = [{"op": op["op"], "ok": outcome.ok, **outcome.data, **({} if outcome.ok else {"error": outcome.error})}
                                 for op, outcome in zip(repair, retry)]
            failed_repair = next((outcome for outcome in retry[:len(repair)] if not outcome.ok), None)
            repaired = failed_repair is None and self.REPAIR_NEEDS_REBOOT
            start = len(repair) + len(remember)
            results = [*results[:failed_at], *retry[start:len(retry) - len(checks)]]
            verified = retry[len(retry) - len(checks):]
        made = applied(changes, results)
        # What was applied, not what was planned: a batch that failed at its first write changed nothing.
        result["changed"] = bool(made) or repaired
        result["reboot_required"] = any(change.reboot_required for change in made) or repaired or self.CONCERN in state.reboots_owed
        records = applied_records(changes, results)
        result["backup"] = records
        notes = [change.applied_note(outcome.data) for change, outcome in zip(changes, results) if outcome.ok and hasattr(change, "applied_note")]
        if any(notes):
            result["warnings"] = [*result.get("warnings", []), *(note for note in notes if note)]
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
                                              f"({len(made)} of {planned} changes were made and are in 'backup')")
        failed = next(((change, outcome) for change, outcome in zip(changes, results) if not outcome.ok), None)
        if failed is not None:
            change, outcome = failed
            raise AgentOpError(outcome, f"changing {change.target} ({len(made)} of {planned} changes were made and are in 'backup')")
        per_change = [outcome for change, outcome in zip(changes, results) if not isinstance(change, RebootMarker)]
        problems = self.verify(args, plan, per_change, verified)
        if problems:
            raise AgentError("; ".join(problems) + f" ({len(made)} of {planned} changes were made and are in 'backup')")
