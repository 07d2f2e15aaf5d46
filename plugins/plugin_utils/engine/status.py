# -*- coding: utf-8 -*-
# Copyright: m365ops.activation contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The statuses a concern and a host can have, and how one registered task result maps to one.

Ordered from best to worst; a host takes the worst status of the concerns it ran. A status is never
rosier than what was seen: a concern that did not run is never compliant, a failure anywhere makes the
host failed, and a host that could not be reached is unreachable whatever else is known.
"""

from __future__ import annotations

import typing as t

NOT_SELECTED = "not_selected"
NOTHING_TO_RESTORE = "nothing_to_restore"
COMPLIANT = "compliant"
REMEDIATED = "remediated"
DRIFT = "drift"
BLOCKED = "blocked"
NOT_RUN = "not_run"
BUSY = "busy"
FAILED = "failed"
UNKNOWN = "unknown"
UNREACHABLE = "unreachable"

# Best to worst. not_run ranks above blocked: nothing is known about a concern that did not run.
# unknown ranks below failed: a failure is known, while a batch whose answer never came back may have done anything.
STATUS_ORDER = (NOT_SELECTED, NOTHING_TO_RESTORE, COMPLIANT, REMEDIATED, DRIFT, BLOCKED, NOT_RUN, BUSY, FAILED, UNKNOWN, UNREACHABLE)

STATUS_MEANING = {
    NOT_SELECTED: "the run did not ask for this concern (m365ops_concerns or --tags)",
    NOTHING_TO_RESTORE: "restore found no backup record of this host for the selected concerns: nothing can be put back",
    COMPLIANT: "nothing to change",
    REMEDIATED: "changes were made and nothing is left to change",
    DRIFT: "something differs from what the article needs (check mode: would change; or left in place by the options)",
    BLOCKED: "a person must act (a missing update, a Group Policy, an unsupported release)",
    NOT_RUN: "selected, but not run (a change before it in the same apply failed, or the task was skipped)",
    BUSY: "nothing was changed: the host restarted, or another run of the collection changed it, after this run read it; run again",
    FAILED: "the concern failed; the message says why",
    UNKNOWN: "its changes were sent and the answer never came back: they may have been made; the next run reads what took effect",
    UNREACHABLE: "the host could not be reached",
}


def plan_status(*, failed: bool, blockers: t.Sequence[str], drift: t.Sequence[str], changed: bool, check_mode: bool) -> str:
    """The status of one concern run by the collection's own action: failure, then blockers, then drift."""
    if failed:
        return FAILED
    if blockers:
        return BLOCKED
    if drift or (changed and check_mode):
        return DRIFT
    return REMEDIATED if changed else COMPLIANT


def result_status(result: t.Mapping[str, t.Any]) -> str:
    """The status of a registered task result, whichever task produced it."""
    if result.get("unreachable"):
        return UNREACHABLE
    if result.get("status") in (UNKNOWN, BUSY):
        return str(result["status"])
    if result.get("failed"):
        return FAILED
    if result.get("skipped"):
        return NOT_RUN
    status = result.get("status")
    if status in STATUS_ORDER:
        return str(status)
    return plan_status(failed=False, blockers=result.get("blockers") or (), drift=result.get("drift") or (),
                       changed=bool(result.get("changed")), check_mode=bool(result.get("check_mode")))


def worst(statuses: t.Iterable[str]) -> str:
    """The worst of ``statuses``; not_selected when there are none."""
    return max(statuses, key=STATUS_ORDER.index, default=NOT_SELECTED)
