# -*- coding: utf-8 -*-
# Copyright: m365ops.activation contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The action plugins' common base (``CollectionAction``) and the action that runs one concern as its own module
(``ConcernAction``); the ``win_activation`` action runs many through the same engine (``run``)."""

from __future__ import annotations

import typing as t

from ansible.errors import AnsibleActionFail
from ansible.plugins.action import ActionBase

from ansible_collections.m365ops.activation.plugins.plugin_utils.engine.agent import AgentClient, AgentError, AgentPrerequisiteError
from ansible_collections.m365ops.activation.plugins.plugin_utils.engine.concern import COMMON_ARGUMENT_SPEC, Concern, Plan, ProbeContext, Reason
from ansible_collections.m365ops.activation.plugins.plugin_utils.engine.integrity import (
    KEY_FILE_VARIABLE, KEY_VARIABLE, BackupKey, BackupKeyError, load_key,
)
from ansible_collections.m365ops.activation.plugins.plugin_utils.engine.journal import (
    AnswerLost, RunJournal, answer_lost_result, close_entries, report_interrupted, settle_batch,
)
from ansible_collections.m365ops.activation.plugins.plugin_utils.engine.run import (
    Planned, Selected, apply, check_backup_target, concern_report, finish_status, management_ports, probe, record_outcome, unavailable_result,
    unload_left,
)


class CollectionAction(ActionBase):
    """What every action of the collection starts with: check mode supported, async not (a run is several agent runs)."""

    TRANSFERS_FILES = False

    def start(self, tmp: t.Any, task_vars: dict[str, t.Any] | None) -> tuple[dict[str, t.Any], dict[str, t.Any]]:
        """ActionBase's result to build on, and the task variables."""
        self._supports_check_mode = True
        self._supports_async = False
        return ActionBase.run(self, tmp, task_vars), task_vars or {}

    def backup_key(self, task_vars: dict[str, t.Any], create: bool) -> BackupKey | None:
        """The controller's key that signs and verifies backup records (integrity.py), from the task's variables; created
        when ``create`` and there is none yet. Read before the host is contacted: a run that cannot sign changes nothing."""
        secret, key_file = (self._templar.template(task_vars[name]) if task_vars.get(name) is not None else None
                            for name in (KEY_VARIABLE, KEY_FILE_VARIABLE))
        try:
            return load_key(secret, key_file, create)
        except BackupKeyError as error:
            raise AnsibleActionFail(f"backup key: {error}; nothing was changed on the host") from error


class ConcernAction(CollectionAction):
    """Runs one concern as its own module. Subclasses set ``CONCERN`` (or build it per run in ``make_concern``)."""

    CONCERN: t.ClassVar[Concern]

    def make_concern(self, task_vars: dict[str, t.Any], key: BackupKey | None) -> Concern:
        return self.CONCERN

    def run(self, tmp: t.Any = None, task_vars: dict[str, t.Any] | None = None) -> dict[str, t.Any]:
        result, task_vars = self.start(tmp, task_vars)
        check_mode, diff = bool(self._task.check_mode), bool(self._task.diff)
        key = self.backup_key(task_vars, create=not check_mode)
        concern = self.make_concern(task_vars, key)
        _validation, args = self.validate_argument_spec(argument_spec={**COMMON_ARGUMENT_SPEC, **concern.ARGUMENT_SPEC})
        concern.check_arguments(args)
        check_backup_target(args, check_mode)

        agent = AgentClient(self._execute_module, task_vars)
        host = str(task_vars.get("inventory_hostname", "unknown"))
        journal = RunJournal(host, self._task.resolved_action or self._task.action, args.get("backup_dir"), key)
        plan = Plan()
        try:
            probed, = probe(agent, [Selected(concern, args)], ProbeContext(management_ports(self._connection)), journal)
            if probed.error is not None or probed.state is None:
                raise probed.error or AgentError("the probe returned nothing")
            state = probed.state
            plan = concern.plan(args, state)
            planned = Planned(concern, args, plan, state)
            result.update(concern_report(planned, check_mode, diff))
            # The backup of an interrupted batch is on the controller before its entry on the host is closed.
            settled = journal.settle(state.interrupted) if not check_mode else []
            report_interrupted(result, state.interrupted, None, check_mode, settled)
            if plan.changes and not plan.failure and not check_mode:
                (outcome,), _reread = apply(agent, [planned], journal=journal, settle=state.interrupted)
                record_outcome(result, planned, outcome)
                backup_file = journal.finish(outcome.records)
                if backup_file:
                    result["backup_file"] = backup_file
            elif not check_mode and settle_batch(state.interrupted):
                # Only a host with an interrupted batch pays this execution: it closes the host's open entries.
                close_entries(agent, state.interrupted)
            # Only a host where an earlier execution left a user's hive loaded pays this one.
            left = unload_left(agent, state, check_mode)
            if left:
                result["warnings"] = [*result.get("warnings", []), *left]
        except AgentPrerequisiteError as error:
            # Blocked, not failed: a person must install something before anything can be checked or changed.
            plan.blockers.append(Reason("agent.prerequisite", str(error)))
            result.update(unavailable_result(plan.blockers, check_mode))
        except AnswerLost as error:
            answer_lost_result(result, error)
        except AgentError as error:
            result.update(failed=True, msg=str(error), **error.details)
            result.setdefault("changed", False)
        finish_status(result, plan, check_mode)
        result["agent_executions"] = agent.executions
        return result
