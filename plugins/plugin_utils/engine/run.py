# -*- coding: utf-8 -*-
# Copyright: m365ops.activation contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The engine that runs any number of concerns on a host: one probe that reads the union of what every concern asks
(``probe``), every concern planned from it, one apply batch in the order the concerns are given (``apply``), and
each concern's result (``concern_report``, ``record_outcome``, ``finish_status``)."""

from __future__ import annotations

import typing as t

import json
from dataclasses import dataclass, field, replace

from ansible.errors import AnsibleActionFail, AnsibleError

from ansible_collections.m365ops.activation.plugins.plugin_utils.engine.agent import (
    AgentClient, AgentError, AgentOpError, AgentPrerequisiteError, OpResult,
)
from ansible_collections.m365ops.activation.plugins.plugin_utils.engine.backup import check_backup_dir
from ansible_collections.m365ops.activation.plugins.plugin_utils.engine.changes import planned_record, render_diff
from ansible_collections.m365ops.activation.plugins.plugin_utils.engine.concern import (
    GENERATION, REBOOT_MARKERS, UNKNOWN_BOOT_TIME, Concern, HostState, Plan, ProbeContext, RebootMarker, applied, applied_records, reboots_owed,
    with_reboot_marker,
)
from ansible_collections.m365ops.activation.plugins.plugin_utils.engine.journal import (
    HISTORY_NAMES_OP, OPEN_ENTRIES_OP, AnswerLost, HostChanged, Interrupted, JournalRefused, RunJournal, RunRecords, begin_op, end_ops,
    history_names, open_entries, prune_ops, settle_batch, verdict_ops, verdicts, with_verdicts,
)
from ansible_collections.m365ops.activation.plugins.plugin_utils.engine.status import BUSY, COMPLIANT, UNKNOWN, plan_status
from ansible_collections.m365ops.activation.plugins.plugin_utils.hives import HIVE_MARKERS_READ, hive_markers, left_loaded_warnings, unload_left_ops
from ansible_collections.m365ops.activation.plugins.plugin_utils.registry import RegistryKey, RegistryRef, read_ops, snapshot, tree_ops
from ansible_collections.m365ops.activation.plugins.plugin_utils.windows import WindowsHost


@dataclass
class Selected:
    """One concern of a run, with its validated options."""

    concern: Concern
    args: dict[str, t.Any]


def _op_key(op: dict[str, t.Any]) -> str:
    return json.dumps(op, sort_keys=True, default=str)


@dataclass
class Probed:
    """One concern's view of the probe: its state, or the error that keeps it from planning (one of its reads failed)."""

    state: HostState | None
    error: AgentError | None = None


@dataclass
class ProbeRequest:
    """The reads of one probe: the ops to send, and how to turn their answers into one ``Probed`` per concern."""

    wanted: list[list[RegistryRef]]
    refs: list[RegistryRef]
    keys: list[RegistryKey]
    reads: list[dict[str, t.Any]]
    trees_of: list[set[RegistryKey]]
    trees: list[RegistryKey]
    asked: list[dict[str, dict[str, t.Any]]]
    unique: list[dict[str, t.Any]]

    @classmethod
    def build(cls, selected: t.Sequence[Selected], context: ProbeContext) -> "ProbeRequest":
        wanted = [list(dict.fromkeys(item.concern.registry_refs(item.args))) for item in selected]
        refs = list(dict.fromkeys(ref for refs_of in wanted for ref in refs_of))
        keys, reads = read_ops(refs)
        trees_of = [set(item.concern.tree_keys(item.args)) for item in selected]
        trees = sorted(set().union(*trees_of)) if trees_of else []
        asked = [item.concern.probe_ops(item.args, context) for item in selected]
        unique = list({_op_key(op): op for ops in asked for op in ops.values()}.values())
        return cls(wanted, refs, keys, reads, trees_of, trees, asked, unique)

    @property
    def ops(self) -> list[dict[str, t.Any]]:
        markers_op = {"op": "registry_read", "key": REBOOT_MARKERS.path, "view": REBOOT_MARKERS.view}
        generation_op = {"op": "registry_read", "key": GENERATION.key.path, "view": GENERATION.key.view, "names": [GENERATION.name]}
        return [{"op": "system_info"}, markers_op, generation_op, OPEN_ENTRIES_OP, HISTORY_NAMES_OP, HIVE_MARKERS_READ, *self.reads,
                *tree_ops(self.trees), *self.unique]

    def interpret(self, answers: t.Sequence[OpResult]) -> list[Probed]:
        """One answer per concern from the answers to ``ops``. A read that fails fails only the concerns that asked for
        it; the release, the reboot markers and the journal are everyone's."""
        probed, _open = self.interpret_with_journal(answers)
        return probed

    def interpret_with_journal(self, answers: t.Sequence[OpResult]) -> tuple[list[Probed], list[RunRecords]]:
        """``interpret``, and the journal entries still open on the host (batches that never ended there)."""
        system, markers, generation_read, journal, history, hives, *rest = answers
        if not system.ok:
            raise AgentOpError(system, "reading the Windows release")
        for answer, what in ((markers, f"the reboot markers under {REBOOT_MARKERS}"), (generation_read, str(GENERATION))):
            if not answer.ok:
                raise AgentOpError(answer, f"reading {what}")
        found = (generation_read.data.get("values") or {}).get(GENERATION.name)
        generation = str(found["value"]) if isinstance(found, dict) and found.get("type") == "string" else None
        still_open = open_entries(journal)
        key_answers = dict(zip(self.keys, rest[:len(self.reads)]))
        tree_answers = dict(zip(self.trees, rest[len(self.reads):len(self.reads) + len(self.trees)]))
        by_op = dict(zip((_op_key(op) for op in self.unique), rest[len(self.reads) + len(self.trees):]))
        readable = [ref for ref in self.refs if key_answers[ref.key].ok]
        readable_keys = sorted({ref.key for ref in readable})
        measured = [key for key in self.trees if tree_answers[key].ok]
        registry = snapshot(readable, readable_keys, [key_answers[key] for key in readable_keys],
                            measured, [tree_answers[key] for key in measured])
        windows = WindowsHost.from_system_info(system.data)
        owed = reboots_owed(markers, windows.boot_time)
        probed = []
        for refs_of, trees_mine, ops in zip(self.wanted, self.trees_of, self.asked):
            failed_key = next((key for key in sorted({ref.key for ref in refs_of}) if not key_answers[key].ok), None)
            failed_tree = next((key for key in sorted(trees_mine) if not tree_answers[key].ok), None)
            failed_op = next((op for op in ops.values() if not by_op[_op_key(op)].ok), None)
            if failed_key is not None:
                probed.append(Probed(None, AgentOpError(key_answers[failed_key], f"reading {failed_key}")))
            elif failed_tree is not None:
                probed.append(Probed(None, AgentOpError(tree_answers[failed_tree], f"measuring {failed_tree}")))
            elif failed_op is not None:
                probed.append(Probed(None, AgentOpError(by_op[_op_key(failed_op)], f"probing ({failed_op['op']})")))
            else:
                probed.append(Probed(HostState(windows, registry, {name: by_op[_op_key(op)] for name, op in ops.items()}, owed, generation=generation,
                                               history=history_names(history), hive_markers=hive_markers(hives))))
        return probed, still_open


def follow_up(agent: AgentClient, selected: t.Sequence[Selected], probed: list[Probed]) -> list[Probed]:
    """One more read-only execution, only when a concern's ``followup_ops`` names something its probe found."""
    return _follow_up(agent, selected, probed, [])[0]


def _follow_up(agent: AgentClient, selected: t.Sequence[Selected], probed: list[Probed],
               extra: list[dict[str, t.Any]]) -> tuple[list[Probed], list[OpResult]]:
    """``follow_up``, with ``extra`` reads riding in the same execution; their answers come back second."""
    followups = [dict(item.concern.followup_ops(item.args, answer.state)) if answer.state else {} for item, answer in zip(selected, probed)]
    if not any(followups) and not extra:
        return probed, []
    answers = agent.run([op for ops in followups for op in ops.values()] + extra)
    extra_answers = answers[len(answers) - len(extra):] if extra else []
    start = 0
    for index, ops in enumerate(followups):
        mine = dict(zip(ops, answers[start:start + len(ops)]))
        start += len(ops)
        state = probed[index].state
        if not ops or state is None:
            continue
        failed = next(((ops[name], answer) for name, answer in mine.items() if not answer.ok), None)
        probed[index] = (Probed(None, AgentOpError(failed[1], f"probing ({failed[0]['op']})")) if failed
                         else Probed(replace(state, followups=mine)))
    return probed, extra_answers


def probe(agent: AgentClient, selected: t.Sequence[Selected], context: ProbeContext | None = None,
          journal: RunJournal | None = None) -> list[Probed]:
    """One agent execution that reads what every selected concern asks (the union; an op asked twice runs once), and
    one more, read-only, only when a concern's ``followup_ops`` names something the first one found, or an earlier
    batch was interrupted (its records are read back there). One answer per concern, in order; the states share the
    Windows release, the registry snapshot, the reboots owed and the interrupted batches."""
    request = ProbeRequest.build(selected, context or ProbeContext())
    probed, still_open = request.interpret_with_journal(agent.run(request.ops))
    unsettled = journal.unsettled(still_open) if journal is not None else [Interrupted(run, True, None) for run in still_open]
    reads = verdict_ops([item.run for item in unsettled])
    probed, answers = _follow_up(agent, selected, probed, reads)
    if unsettled:
        found = tuple(with_verdicts(unsettled, verdicts([item.run for item in unsettled], reads, answers)))
        probed = [Probed(replace(answer.state, interrupted=found)) if answer.state is not None else answer for answer in probed]
    return probed


@dataclass
class Planned:
    """A concern's plan for one host, ready to apply."""

    concern: Concern
    args: dict[str, t.Any]
    plan: Plan
    state: HostState


@dataclass
class Outcome:
    """What the apply did for one concern."""

    made: list[t.Any] = field(default_factory=list)
    records: list[dict[str, t.Any]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    repairs: list[dict[str, t.Any]] | None = None
    repaired: bool = False
    error: AgentError | None = None
    # Set when nothing of this concern was attempted because an earlier concern's change failed in the same batch.
    not_run_because: str | None = None


def journal_records(items: t.Sequence[Planned]) -> list[dict[str, t.Any]]:
    """The record of every planned change, as the probe saw it, each naming its concern and module: the journal's."""
    records = []
    for item in items:
        for change in item.plan.changes:
            record = planned_record(change)
            if record is not None:
                records.append({**record, "concern": item.concern.NAME, "module": item.concern.module})
    return records


def guard_ops(state: HostState, generation: str | None, run_id: str) -> list[dict[str, t.Any]]:
    """The batch's conditions and its claim: the host has the boot time and the generation this run read, and now
    carries this run's id as its generation. The agent skips every write after a failed condition."""
    expect: dict[str, t.Any] = {"op": "expect", "key": GENERATION.key.path, "view": GENERATION.key.view, "name": GENERATION.name,
                                "value": generation}
    if state.windows.boot_time:
        expect["boot_time"] = state.windows.boot_time
    claim = {"op": "registry_write", "key": GENERATION.key.path, "view": GENERATION.key.view, "name": GENERATION.name,
             "type": "string", "value": run_id}
    return [expect, claim]


def _send(agent: AgentClient, run: RunRecords | None, journal: RunJournal | None, writes: list[dict[str, t.Any]],
          reads: list[dict[str, t.Any]], guard: list[dict[str, t.Any]] = ()) -> list[OpResult]:
    """One apply execution, journaled: the guard first (``guard_ops``), then the entry, its close right after the writes
    (run after a failed write too), then the reads. A batch whose answer does not come back, for whatever reason, raises
    AnswerLost: what it did is for the next run to read. One answer per op of ``writes`` and ``reads``."""
    if run is None:
        return agent.run([*writes, *reads])
    closing = end_ops(run)
    try:
        answers = agent.run([*guard, begin_op(run), *writes, *closing, *reads])
    except AgentPrerequisiteError:
        raise
    except Exception as error:  # pylint: disable=broad-except  # a dropped connection, a killed shell: the outcome is unknown
        raise AnswerLost(run, journal.planned_file if journal else None, error) from error
    checked = next((answer for answer in answers[:len(guard)] if not answer.ok), None)
    if checked is not None and checked.error == "precondition_failed":
        raise HostChanged(checked, "checking that the host is as this run read it (nothing was changed)")
    begun = checked or answers[len(guard)]
    answers = answers[len(guard):]
    if not begun.ok:
        raise JournalRefused(begun, f"writing the journal entry of run {run.run_id} before any change (nothing was changed: "
                                    "every change waits for its record on the host)")
    return [*answers[1:1 + len(writes)], *answers[1 + len(writes) + len(closing):]]


def apply(agent: AgentClient, items: t.Sequence[Planned], then: ProbeRequest | None = None, journal: RunJournal | None = None,
          settle: t.Sequence[Interrupted] = ()) -> tuple[list[Outcome], list[Probed] | None]:
    """One agent execution with every planned change, concern by concern in the order given, each concern's reboot marker
    right after its first change that needs a restart, and every concern's read-back at the end. When a change fails and
    its concern has a repair, one more execution runs the repair, then that change and every one after it, once.

    With ``journal`` every execution is write-ahead journaled (journal.py): the records of every planned change are
    on the controller (with a ``backup_dir``) and on the host before any change is made, and the host's open entries of
    ``settle`` (interrupted batches, already backed up on the controller) are closed in the same execution.

    ``then`` is a probe whose reads go at the end of the same execution (of the last one, after a repair): the agent
    runs reads after a failed write too, so the host is read again as the apply left it without one more execution.
    Its answers come back as the second item (None without ``then``)."""
    markers = [RebootMarker(item.concern.NAME, item.state.windows.boot_time or UNKNOWN_BOOT_TIME) for item in items]
    batch = [(index, change) for index, item in enumerate(items) for change in with_reboot_marker(item.plan.changes, markers[index])]
    checks = [(index, name, op) for index, item in enumerate(items) for name, op in item.concern.verify_ops(item.args, item.plan).items()]
    tail = then.ops if then is not None else []
    records = journal_records(items)
    run = journal.begin(records) if journal is not None and records else None
    closing = settle_batch(settle)
    state = items[0].state
    # The host keeps the newest HISTORY_KEEP runs' records: the oldest go once every change of this batch is made.
    prune = prune_ops(state.history, 1 + sum(1 for item in settle if item.on_host)) if run is not None else []
    try:
        answers = _send(agent, run, journal, [*closing, *(change.to_op() for _index, change in batch), *prune],
                        [*(op for _index, _name, op in checks), *tail], guard_ops(state, state.generation, run.run_id) if run is not None else [])
    except JournalRefused as error:
        # The agent skipped every change after the refused entry: each concern failed, and nothing was made.
        return [Outcome(error=error) for _item in items], None
    answers = answers[len(closing):]
    answers, reread = answers[:len(answers) - len(tail)], answers[len(answers) - len(tail):]
    results, verified = answers[:len(batch)], answers[len(batch) + len(prune):]
    outcomes = [Outcome() for _item in items]
    failed_at = next((position for position, outcome in enumerate(results) if not outcome.ok), None)
    failed_repair: OpResult | None = None
    if failed_at is not None:
        owner, change = batch[failed_at]
        item = items[owner]
        repair = item.concern.repair_ops(item.args, change, results[failed_at])
        if repair:
            # A repair that needs a restart to finish (sfc queues its replacements) is remembered like a change.
            remember = [markers[owner].to_op()] if item.concern.REPAIR_NEEDS_REBOOT else []
            retry = _send(agent, run, journal, [*repair, *remember, *(later.to_op() for _index, later in batch[failed_at:])],
                          [*(op for _index, _name, op in checks), *tail], guard_ops(state, run.run_id, run.run_id) if run is not None else [])
            retry, reread = retry[:len(retry) - len(tail)], retry[len(retry) - len(tail):]
            outcomes[owner].repairs = [{"op": op["op"], "ok": outcome.ok, **outcome.data, **({} if outcome.ok else {"error": outcome.error})}
                                       for op, outcome in zip(repair, retry)]
            failed_repair = next((outcome for outcome in retry[:len(repair)] if not outcome.ok), None)
            outcomes[owner].repaired = failed_repair is None and item.concern.REPAIR_NEEDS_REBOOT
            start = len(repair) + len(remember)
            results = [*results[:failed_at], *retry[start:len(retry) - len(checks)]]
            verified = retry[len(retry) - len(checks):]
    first_failure = next(((batch[position][0], position) for position, outcome in enumerate(results) if not outcome.ok), None)
    for index, (item, outcome) in enumerate(zip(items, outcomes)):
        pairs = [(change, result) for (owner, change), result in zip(batch, results) if owner == index]
        changes, answers_of = [change for change, _result in pairs], [result for _change, result in pairs]
        outcome.made = applied(changes, answers_of)
        outcome.records = applied_records(changes, answers_of)
        outcome.notes = [note for change, result in pairs if result.ok and hasattr(change, "applied_note") and (note := change.applied_note(result.data))]
        planned = len(item.plan.changes)
        made = f"{len(outcome.made)} of {planned} changes were made and are in 'backup'"
        if failed_repair is not None and failed_at is not None and batch[failed_at][0] == index:
            outcome.error = AgentOpError(failed_repair, f"repairing the host after {batch[failed_at][1].target} failed ({made})")
            continue
        failed = next(((change, result) for change, result in pairs if not result.ok), None)
        if failed is not None:
            if first_failure is not None and first_failure[0] != index and failed[1].error == "skipped":
                outcome.not_run_because = items[first_failure[0]].concern.NAME
            else:
                outcome.error = AgentOpError(failed[1], f"changing {failed[0].target} ({made})")
            continue
        per_change = [result for change, result in pairs if not isinstance(change, RebootMarker)]
        mine = {name: answer for (owner, name, _op), answer in zip(checks, verified) if owner == index}
        problems = item.concern.verify(item.args, item.plan, per_change, mine)
        if problems:
            outcome.error = AgentError("; ".join(problems) + f" ({made})")
    return outcomes, (then.interpret(reread) if then is not None else None)


def unload_left(agent: AgentClient, state: HostState | None, check_mode: bool) -> list[str]:
    """The hives earlier executions left loaded (hives.py): unloaded in one more execution, only on a host that has such a
    hive and outside check mode; what became of each, as warnings."""
    if state is None or not state.hive_markers:
        return []
    if check_mode:
        return left_loaded_warnings(state.hive_markers, None)
    try:
        answer, = agent.run(unload_left_ops())
    except AgentError as error:
        return [f"unloading the hives the collection left loaded ({', '.join(sorted(state.hive_markers))}) failed: {error}"]
    return left_loaded_warnings(state.hive_markers, answer)


def concern_report(planned: Planned, check_mode: bool, diff: bool) -> dict[str, t.Any]:
    """A concern's result before anything is applied: what it would change, and why, and what is in the way."""
    plan, state, concern = planned.plan, planned.state, planned.concern
    report: dict[str, t.Any] = {
        "changed": bool(plan.changes),
        "check_mode": check_mode,
        "reboot_required": any(change.reboot_required for change in plan.changes) or concern.NAME in state.reboots_owed,
        "reboot_owed_by": sorted(state.reboots_owed),
        "changes": [change.as_result() for change in plan.changes],
        "blockers": [str(entry) for entry in plan.blockers],
        "drift": [str(entry) for entry in plan.drift],
        concern.FACTS_KEY: plan.facts,
    }
    if plan.warnings or plan.blockers or plan.drift:
        report["warnings"] = [str(entry) for entry in (*plan.blockers, *plan.drift, *plan.warnings)]
    if plan.changes and diff:
        report["diff"] = render_diff(plan.changes)
    if plan.failure:
        report.update(failed=True, msg=plan.failure)
    return report


def record_outcome(result: dict[str, t.Any], planned: Planned, outcome: Outcome) -> None:
    """Fold what the apply did into a concern's result: what was made (not what was planned), its backup, its errors."""
    concern = planned.concern
    # What was applied, not what was planned: a batch that failed at its first write changed nothing.
    result["changed"] = bool(outcome.made) or outcome.repaired
    result["reboot_required"] = (any(change.reboot_required for change in outcome.made) or outcome.repaired
                                 or concern.NAME in planned.state.reboots_owed)
    result["backup"] = outcome.records
    if outcome.repairs is not None:
        result["repairs"] = outcome.repairs
    if outcome.notes:
        result["warnings"] = [*result.get("warnings", []), *outcome.notes]
    if outcome.not_run_because:
        result.update(not_run=True, msg=f"not applied: {outcome.not_run_because} failed earlier in the same batch; "
                                        f"{len(planned.plan.changes)} change(s) of {concern.NAME} were not attempted")
    elif outcome.error is not None:
        result.update(failed=True, msg=str(outcome.error), **outcome.error.details)
        if isinstance(outcome.error, HostChanged):
            result["host_changed"] = True


def unavailable_result(blockers: t.Sequence[str], check_mode: bool) -> dict[str, t.Any]:
    """A concern's result on a host the agent cannot run on: blocked (``blockers`` say by what), nothing known or changed."""
    told = [str(blocker) for blocker in blockers]
    return {"changed": False, "blockers": told, "warnings": list(told), "agent_unavailable": True, "check_mode": check_mode,
            "reboot_required": False, "reboot_owed_by": [], "changes": [], "drift": []}


def finish_status(result: dict[str, t.Any], plan: Plan, check_mode: bool) -> None:
    if result.get("outcome_unknown"):
        result["status"] = UNKNOWN
        return
    if result.get("host_changed"):
        result["status"] = BUSY
        return
    if result.get("not_run"):
        result["status"] = "not_run"
        return
    result["status"] = plan_status(failed=bool(result.get("failed")), blockers=plan.blockers, drift=plan.drift,
                                   changed=bool(result.get("changed")), check_mode=check_mode)
    if plan.status and result["status"] == COMPLIANT:
        result["status"] = plan.status


def check_backup_target(args: dict[str, t.Any], check_mode: bool) -> None:
    if args.get("backup_dir") and not check_mode:
        # Before the host is touched: a change whose backup cannot be written must not be made.
        try:
            check_backup_dir(args["backup_dir"])
        except OSError as error:
            raise AnsibleActionFail(f"backup_dir: {args['backup_dir']} cannot hold backup records ({error}); "
                                    "nothing was changed on the host") from error


# WinRM's ports; the connection's own port is added (a listener on a custom port, PSRP, SSH).
WINRM_PORTS = (5985, 5986)


def management_ports(connection: t.Any) -> tuple[int, ...]:
    """The ports whose established connections carry this management session."""
    ports = set(WINRM_PORTS)
    try:
        port = connection.get_option("port")
    except (AttributeError, KeyError, TypeError, ValueError, AnsibleError):
        port = None
    if isinstance(port, int) or (isinstance(port, str) and port.isdigit()):
        ports.add(int(port))
    return tuple(sorted(ports))
