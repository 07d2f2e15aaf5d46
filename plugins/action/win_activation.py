# -*- coding: utf-8 -*-
# Copyright: m365ops.activation contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action of m365ops.activation.win_activation: every selected concern in one probe and one apply that verifies itself.

Each concern's options are validated by that concern's own argument spec before the host is contacted. One agent
execution reads the union of what every concern asks; each concern plans from that one state; every change goes
out in one batch, in ``ORDER``, which ends with the probe's reads so that every concern is planned again from the
host as the apply left it. Each concern's result is exactly what its own module returns, under ``concerns``, so the
report, restore and diff work unchanged.
"""

from __future__ import annotations

import typing as t

from ansible.errors import AnsibleActionFail

from ansible_collections.m365ops.activation.plugins.plugin_utils.concerns.catalog import OPTIONS_SPEC, selected_concerns
from ansible_collections.m365ops.activation.plugins.plugin_utils.engine.actions import CollectionAction
from ansible_collections.m365ops.activation.plugins.plugin_utils.engine.agent import AgentClient, AgentError, AgentPrerequisiteError
from ansible_collections.m365ops.activation.plugins.plugin_utils.engine.concern import COMMON_ARGUMENT_SPEC, Plan, ProbeContext, Reason
from ansible_collections.m365ops.activation.plugins.plugin_utils.engine.journal import (
    AnswerLost, RunJournal, answer_lost_result, close_entries, report_interrupted, settle_batch,
)
from ansible_collections.m365ops.activation.plugins.plugin_utils.engine.run import (
    Planned, ProbeRequest, Probed, Selected, apply, check_backup_target, concern_report, finish_status, follow_up, management_ports, probe,
    record_outcome, unavailable_result, unload_left,
)
from ansible_collections.m365ops.activation.plugins.plugin_utils.engine.status import worst
from ansible_collections.m365ops.activation.plugins.plugin_utils.facts.activation import FACTS, activation_facts, readers, unavailable_facts


def conflicts(planned: t.Sequence[Planned]) -> list[str]:
    """Two concerns that would change the same thing differently: each pair, both named."""
    seen: dict[str, tuple[str, t.Any]] = {}
    found = []
    for item in planned:
        for change in item.plan.changes:
            target, op = change.target, change.to_op()
            if target in seen and seen[target][1] != op:
                found.append(f"{seen[target][0]} and {item.concern.NAME} would both change {target}, differently")
            seen.setdefault(target, (item.concern.NAME, op))
    return found


class ActionModule(CollectionAction):
    ARGUMENT_SPEC = {**OPTIONS_SPEC, "verify": {"type": "bool", "default": True}, "facts": {"type": "bool", "default": False},
                     "endpoints": {"type": "dict"}}

    def run(self, tmp: t.Any = None, task_vars: dict[str, t.Any] | None = None) -> dict[str, t.Any]:
        result, task_vars = self.start(tmp, task_vars)
        check_mode, diff = bool(self._task.check_mode), bool(self._task.diff)
        _validation, args = self.validate_argument_spec(argument_spec={**COMMON_ARGUMENT_SPEC, **self.ARGUMENT_SPEC})
        selected = [Selected(concern, options) for concern, options in selected_concerns(args)]
        check_backup_target(args, check_mode)
        key = self.backup_key(task_vars, create=not check_mode)

        agent = AgentClient(self._execute_module, task_vars)
        context = ProbeContext(management_ports(self._connection))
        host = str(task_vars.get("inventory_hostname", "unknown"))
        journal = RunJournal(host, self._task.resolved_action or self._task.action, args.get("backup_dir"), key)
        results: dict[str, dict[str, t.Any]] = {item.concern.NAME: {} for item in selected}
        plans = {item.concern.NAME: Plan() for item in selected}
        verified: bool | None = None
        to_apply: list[Planned] = []
        # With facts: the fact readers (and the endpoint check) ride in the same probe, after the concerns' reads.
        extra = readers(args.get("endpoints")) if args["facts"] else []
        reads = [*selected, *extra]
        try:
            planned = []
            answers = probe(agent, reads, context, journal)
            interrupted = next((answer.state.interrupted for answer in answers if answer.state is not None), ())
            for item, probed in zip(selected, answers):
                name = item.concern.NAME
                if probed.state is None:
                    error = probed.error or AgentError("the probe returned nothing")
                    results[name] = {"changed": False, "failed": True, "msg": str(error), **error.details}
                    continue
                plan = item.concern.plan(item.args, probed.state)
                plans[name] = plan
                planned.append(Planned(item.concern, item.args, plan, probed.state))
                results[name] = concern_report(planned[-1], check_mode, diff)
            if extra:
                # What the host looked like before anything was changed, as win_activation_facts says it: a key of the
                # result, not host facts, which would outlive the changes below.
                result[FACTS] = activation_facts(reads, answers, plans)
            clashes = conflicts(planned)
            if clashes:
                raise AnsibleActionFail("; ".join(clashes) + "; nothing was changed. Give the two concerns options that agree.")
            to_apply = [item for item in planned if item.plan.changes and not item.plan.failure]
            # The backup of an interrupted batch is on the controller before its entry on the host is closed.
            settled = journal.settle(interrupted) if not check_mode else []
            for name, result_of in results.items():
                report_interrupted(result_of, interrupted, name, check_mode, settled)
            # Told at the top as well; warned there only for a batch none of whose concerns this task runs.
            report_interrupted(result, [item for item in interrupted if not any(record.get("concern") in results for record in item.run.records)],
                               None, check_mode, settled)
            if interrupted:
                result["interrupted"] = [item.summary() for item in interrupted]
            if to_apply and not check_mode:
                # The verification reads ride at the end of the apply execution: the agent runs reads after a failed
                # write too, so the host is read again as the apply left it, without one more execution.
                request = ProbeRequest.build(selected, context) if args["verify"] else None
                outcomes, reread = apply(agent, to_apply, request, journal, interrupted)
                records = []
                for item, outcome in zip(to_apply, outcomes):
                    record_outcome(results[item.concern.NAME], item, outcome)
                    records.extend({**record, "module": item.concern.module} for record in outcome.records)
                result["backup"] = records
                backup_file = journal.finish(records)
                if backup_file:
                    result["backup_file"] = backup_file
                if reread is not None:
                    verified = self._verify(follow_up(agent, selected, reread), selected, results)
            elif not check_mode:
                if settle_batch(interrupted):
                    # Only a host with an interrupted batch pays this execution: it closes the host's open entries.
                    close_entries(agent, interrupted)
                # Nothing to change: the probe itself shows whether anything is left to change.
                verified = not any(result_of.get("failed") for result_of in results.values())
            # Only a host where an earlier execution left a user's hive loaded pays this one.
            left = unload_left(agent, next((answer.state for answer in answers if answer.state is not None), None), check_mode)
            if left:
                result["warnings"] = [*result.get("warnings", []), *left]
        except AgentPrerequisiteError as error:
            # Blocked, not failed: a person must install something before anything can be checked or changed.
            for name, plan in plans.items():
                plan.blockers.append(Reason("agent.prerequisite", str(error)))
                results[name] = unavailable_result(plan.blockers, check_mode)
            result["agent_unavailable"] = True
            if args["facts"]:
                result[FACTS] = unavailable_facts(str(error))
        except AnswerLost as error:
            # Every concern whose changes were in the batch may have changed; the others were only read.
            for item in to_apply:
                answer_lost_result(results[item.concern.NAME], error)
            result["journal"] = results[to_apply[0].concern.NAME]["journal"] if to_apply else {}
        except AgentError as error:
            for name in results:
                if not results[name].get("failed"):
                    results[name].update(failed=True, msg=str(error), **error.details)
                    results[name].setdefault("changed", False)
        for name, plan in plans.items():
            finish_status(results[name], plan, check_mode)
        return self._summary(result, results, verified, agent.executions)

    @staticmethod
    def _verify(reread: t.Sequence[Probed], selected: t.Sequence[Selected], results: dict[str, dict[str, t.Any]]) -> bool:
        """Every concern planned again from the host as the apply left it: verified only when nothing is left to change."""
        clean = True
        for item, probed in zip(selected, reread):
            result = results[item.concern.NAME]
            if probed.state is None:
                result["verified"] = False
                clean = False
                if not result.get("failed") and not result.get("not_run"):
                    result.update(failed=True, msg=f"reading the host again after the apply failed: {probed.error}")
                continue
            again = item.concern.plan(item.args, probed.state)
            left = [change.reason for change in again.changes]
            result["verified"] = not left and not again.failure
            clean = clean and result["verified"] and not result.get("failed") and not result.get("not_run")
            if left and not result.get("failed") and not result.get("not_run"):
                # The apply said it worked and the host says otherwise: never "remediated".
                result.update(failed=True, msg=f"after the apply the host still needs: {'; '.join(left)}")
        return clean

    @staticmethod
    def _summary(result: dict[str, t.Any], results: dict[str, dict[str, t.Any]], verified: bool | None, executions: int) -> dict[str, t.Any]:
        statuses = [concern_result.get("status", "failed") for concern_result in results.values()]
        failed = [name for name, concern_result in results.items() if concern_result.get("failed")]
        result.setdefault("backup", [])
        result.update(
            concerns=results,
            status=worst(statuses),
            changed=any(concern_result.get("changed") for concern_result in results.values()),
            reboot_required=any(concern_result.get("reboot_required") for concern_result in results.values()),
            verified=verified,
            agent_executions=executions,
        )
        # --diff shows every concern's before/after, each headed by its concern.
        diffs = [{**concern_result["diff"], "before_header": name, "after_header": name}
                 for name, concern_result in results.items() if concern_result.get("diff")]
        if diffs:
            result["diff"] = diffs
        # A warning several concerns give (a host the agent cannot run on, an interrupted batch) is said once, naming them.
        said: dict[str, list[str]] = {}
        for name, concern_result in results.items():
            for warning in concern_result.get("warnings", []):
                said.setdefault(str(warning), []).append(name)
        warnings = [f"{', '.join(names)}: {warning}" for warning, names in said.items()]
        if warnings or result.get("warnings"):
            result["warnings"] = [*result.get("warnings", []), *warnings]
        if failed:
            result.update(failed=True, msg="; ".join(f"{name}: {results[name].get('msg', 'failed')}" for name in failed))
        return result
