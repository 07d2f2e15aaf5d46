# -*- coding: utf-8 -*-
# Copyright: m365ops.activation contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The activation facts of a host (``ansible_facts.m365ops_activation``), which the findings are read from: the release
and reboot facts, what each selected concern sees and would change, and what the fact readers read. Built from one
probe, by win_activation_facts and, when asked (``facts: true``), by win_activation in the same execution as its own
reads."""

from __future__ import annotations

import typing as t

from ansible_collections.m365ops.activation.plugins.plugin_utils.engine.concern import Concern, HostState, Plan, reason_codes, validate_options
from ansible_collections.m365ops.activation.plugins.plugin_utils.engine.run import Probed, Selected, finish_status
from ansible_collections.m365ops.activation.plugins.plugin_utils.engine.status import worst
from ansible_collections.m365ops.activation.plugins.plugin_utils.facts.click_to_run import ClickToRun
from ansible_collections.m365ops.activation.plugins.plugin_utils.facts.endpoints import Endpoints
from ansible_collections.m365ops.activation.plugins.plugin_utils.facts.network_adapters import NetworkAdapters
from ansible_collections.m365ops.activation.plugins.plugin_utils.facts.signed_in_users import SignedInUsers
from ansible_collections.m365ops.activation.plugins.plugin_utils.facts.windows_update import WindowsUpdate
from ansible_collections.m365ops.activation.plugins.plugin_utils.facts.winrm_quotas import WinRmQuotas

FACTS = "m365ops_activation"
# Readers whose facts stand beside the concerns' (they plan no change); the endpoint check only when asked.
READERS: tuple[type[Concern], ...] = (ClickToRun, NetworkAdapters, WinRmQuotas, WindowsUpdate, SignedInUsers)
FACTS_ONLY = (*READERS, Endpoints)


def readers(endpoints: dict[str, t.Any] | None) -> list[Selected]:
    """The fact readers of one probe, and the endpoint check (its options validated) when ``endpoints`` is given."""
    selected = [Selected(reader(), {}) for reader in READERS]
    if endpoints is not None:
        # The endpoint check rides in the same execution as every other read.
        selected.append(Selected(Endpoints(), validate_options(Endpoints(), endpoints, prefix="endpoints")))
    return selected


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


def unavailable_facts(message: str) -> dict[str, t.Any]:
    """The facts of a host the agent cannot run on: nothing was read; what it lacks is the message."""
    return {"concerns": {}, "agent_unavailable": True, "status": "blocked", "message": message}


def activation_facts(selected: t.Sequence[Selected], answers: t.Sequence[Probed], plans: t.Mapping[str, Plan] | None = None) -> dict[str, t.Any]:
    """The facts of one probe: ``selected`` (concerns and readers) with their ``answers``; a concern already planned (in
    ``plans``, by name) is not planned again."""
    facts: dict[str, t.Any] = {"concerns": {}}
    # The release and reboot facts are the same in every concern's state.
    shared = next((answer.state for answer in answers if answer.state is not None), None)
    if shared is not None:
        facts.update(host_facts(shared))
    for item, answer in zip(selected, answers):
        if answer.state is None:
            facts["concerns"][item.concern.NAME] = {"status": "failed", "failure": str(answer.error)}
            continue
        plan = (plans or {}).get(item.concern.NAME) or item.concern.plan(item.args, answer.state)
        if isinstance(item.concern, FACTS_ONLY):
            facts[item.concern.FACTS_KEY] = plan.facts
        else:
            facts["concerns"][item.concern.NAME] = concern_facts(plan)
    facts["status"] = worst(entry["status"] for entry in facts["concerns"].values())
    return facts
