# -*- coding: utf-8 -*-
# Copyright: m365ops.activation contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action of m365ops.activation.win_activation_facts: what a host's activation depends on, in one agent execution.

The probe of every selected concern and of Click-to-Run; each concern planned as in check mode, so the facts say
what the concern sees and what it would change; nothing is written. Returned under ``ansible_facts.m365ops_activation``.
"""

from __future__ import annotations

import typing as t

from ansible_collections.m365ops.activation.plugins.plugin_utils.concerns.catalog import OPTIONS_SPEC, selected_concerns
from ansible_collections.m365ops.activation.plugins.plugin_utils.engine.actions import CollectionAction
from ansible_collections.m365ops.activation.plugins.plugin_utils.engine.agent import AgentClient, AgentError, AgentPrerequisiteError
from ansible_collections.m365ops.activation.plugins.plugin_utils.engine.concern import HostState, Plan, ProbeContext, reason_codes, validate_options
from ansible_collections.m365ops.activation.plugins.plugin_utils.engine.run import Selected, finish_status, management_ports, probe
from ansible_collections.m365ops.activation.plugins.plugin_utils.engine.status import worst
from ansible_collections.m365ops.activation.plugins.plugin_utils.facts.click_to_run import ClickToRun
from ansible_collections.m365ops.activation.plugins.plugin_utils.facts.endpoints import Endpoints
from ansible_collections.m365ops.activation.plugins.plugin_utils.facts.network_adapters import NetworkAdapters
from ansible_collections.m365ops.activation.plugins.plugin_utils.facts.signed_in_users import SignedInUsers
from ansible_collections.m365ops.activation.plugins.plugin_utils.facts.windows_update import WindowsUpdate
from ansible_collections.m365ops.activation.plugins.plugin_utils.facts.winrm_quotas import WinRmQuotas

FACTS = "m365ops_activation"
# Readers whose facts stand beside the concerns' (they plan no change).
FACTS_ONLY = (ClickToRun, Endpoints, NetworkAdapters, WinRmQuotas, WindowsUpdate, SignedInUsers)


def host_facts(state: HostState) -> dict[str, t.Any]:
    """The release and reboot facts every concern shares."""
    windows = state.windows
    return {"os": {"name": windows.name, "version": f"{windows.major}.{windows.minor}.{windows.build}",
                   "service_pack": windows.service_pack, "server": windows.is_server, "architecture": windows.architecture},
            "hotfixes": sorted(windows.hotfixes), "pending_reboot": list(windows.pending_reboot),
            "boot_time": windows.boot_time, "reboot_owed_by": sorted(state.reboots_owed),
            # Batches of an earlier run whose answer never came back, still open in the host's journal.
            "interrupted": [item.summary() for item in state.interrupted]}


def concern_facts(plan: Plan) -> dict[str, t.Any]:
    """What one concern sees: its status as an audit would say it, what it would change and why, and its own facts."""
    result: dict[str, t.Any] = {"changed": bool(plan.changes), "failed": bool(plan.failure)}
    finish_status(result, plan, check_mode=True)
    return {"status": result["status"], "would_change": [change.reason for change in plan.changes],
            "blockers": [str(entry) for entry in plan.blockers], "drift": [str(entry) for entry in plan.drift],
            "codes": {"blockers": reason_codes(plan.blockers), "drift": reason_codes(plan.drift)},
            "warnings": list(plan.warnings), "failure": plan.failure, "facts": plan.facts}


class ActionModule(CollectionAction):
    ARGUMENT_SPEC = {**OPTIONS_SPEC, "endpoints": {"type": "dict"}}

    def run(self, tmp: t.Any = None, task_vars: dict[str, t.Any] | None = None) -> dict[str, t.Any]:
        result, task_vars = self.start(tmp, task_vars)
        _validation, args = self.validate_argument_spec(argument_spec=self.ARGUMENT_SPEC)
        selected = [Selected(concern, options) for concern, options in selected_concerns(args)]
        selected += [Selected(reader(), {}) for reader in (ClickToRun, NetworkAdapters, WinRmQuotas, WindowsUpdate, SignedInUsers)]
        if args.get("endpoints") is not None:
            # The endpoint check rides in the same execution as every other read.
            selected.append(Selected(Endpoints(), validate_options(Endpoints(), args["endpoints"], prefix="endpoints")))
        agent = AgentClient(self._execute_module, task_vars)
        facts: dict[str, t.Any] = {"concerns": {}}
        try:
            answers = probe(agent, selected, ProbeContext(management_ports(self._connection)))
        except AgentPrerequisiteError as error:
            facts.update(agent_unavailable=True, status="blocked", message=str(error))
            return {**result, "changed": False, "ansible_facts": {FACTS: facts}, "agent_executions": agent.executions}
        except AgentError as error:
            return {**result, "changed": False, "failed": True, "msg": str(error), **error.details, "agent_executions": agent.executions}
        # The release and reboot facts are the same in every concern's state.
        shared = next((answer.state for answer in answers if answer.state is not None), None)
        if shared is not None:
            facts.update(host_facts(shared))
        for item, answer in zip(selected, answers):
            if answer.state is None:
                facts["concerns"][item.concern.NAME] = {"status": "failed", "failure": str(answer.error)}
                continue
            plan = item.concern.plan(item.args, answer.state)
            if isinstance(item.concern, FACTS_ONLY):
                facts[item.concern.FACTS_KEY] = plan.facts
            else:
                facts["concerns"][item.concern.NAME] = concern_facts(plan)
        facts["status"] = worst(entry["status"] for entry in facts["concerns"].values())
        return {**result, "changed": False, "ansible_facts": {FACTS: facts}, "agent_executions": agent.executions}
