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
from ansible_collections.m365ops.activation.plugins.plugin_utils.engine.concern import ProbeContext
from ansible_collections.m365ops.activation.plugins.plugin_utils.engine.run import Selected, management_ports, probe
from ansible_collections.m365ops.activation.plugins.plugin_utils.facts.activation import FACTS, activation_facts, readers, unavailable_facts


class ActionModule(CollectionAction):
    ARGUMENT_SPEC = {**OPTIONS_SPEC, "endpoints": {"type": "dict"}}

    def run(self, tmp: t.Any = None, task_vars: dict[str, t.Any] | None = None) -> dict[str, t.Any]:
        result, task_vars = self.start(tmp, task_vars)
        _validation, args = self.validate_argument_spec(argument_spec=self.ARGUMENT_SPEC)
        selected = [Selected(concern, options) for concern, options in selected_concerns(args)]
        selected += readers(args.get("endpoints"))
        agent = AgentClient(self._execute_module, task_vars)
        try:
            answers = probe(agent, selected, ProbeContext(management_ports(self._connection)))
        except AgentPrerequisiteError as error:
            return {**result, "changed": False, "ansible_facts": {FACTS: unavailable_facts(str(error))}, "agent_executions": agent.executions}
        except AgentError as error:
            return {**result, "changed": False, "failed": True, "msg": str(error), **error.details, "agent_executions": agent.executions}
        facts = activation_facts(selected, answers)
        return {**result, "changed": False, "ansible_facts": {FACTS: facts}, "agent_executions": agent.executions}
