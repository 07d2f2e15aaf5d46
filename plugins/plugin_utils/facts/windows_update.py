# -*- coding: utf-8 -*-
# Copyright: m365ops.activation contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""When the host last installed an update, from the Windows Update Agent's history. Facts only.

The article asks for Windows to be up to date (docs/sources.md section 11); installing updates is
``ansible.windows.win_updates``'s job, this only says how long ago the last one went in. The history's dates are UTC
and numeric; its titles are display text and are not read. Defender definition updates arrive daily and say nothing
about patching: they are left out. Updates installed outside the agent (a standalone package with wusa) are not in
its history, so "days since" is an upper bound, said so in the facts.
"""

from __future__ import annotations

import datetime
import typing as t

from ansible_collections.m365ops.activation.plugins.plugin_utils.engine.concern import Concern, HostState, Plan, ProbeContext

HISTORY_ENTRIES = 200
INSTALLATION = 1
# OperationResultCode: succeeded, succeeded with errors.
SUCCEEDED = (2, 3)
# The Definition Updates classification.
DEFINITION_UPDATES = "e0789628-ce08-4437-be74-2495b842f43b"


class WindowsUpdate(Concern):
    NAME = "windows_update"
    FACTS_KEY = "windows_update"

    def probe_ops(self, args: dict[str, t.Any], context: ProbeContext) -> dict[str, dict[str, t.Any]]:
        return {"history": {"op": "update_history", "count": HISTORY_ENTRIES}}

    def plan(self, args: dict[str, t.Any], state: HostState) -> Plan:
        return Plan(facts=update_facts(state.probe("history").data, datetime.datetime.now(datetime.timezone.utc)))


def _when(text: t.Any) -> datetime.datetime | None:
    try:
        return datetime.datetime.strptime(str(text), "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=datetime.timezone.utc)
    except ValueError:
        return None


def update_facts(history: t.Mapping[str, t.Any], now: datetime.datetime) -> dict[str, t.Any]:
    if not history.get("available"):
        hresult = history.get("hresult")
        return {"history_available": False, "hresult": f"0x{hresult & 0xFFFFFFFF:08X}" if isinstance(hresult, int) else None,
                "last_installed": None, "days_since_last_install": None}
    installed = [when for entry in history.get("entries") or []
                 if entry.get("operation") == INSTALLATION and entry.get("result_code") in SUCCEEDED
                 and DEFINITION_UPDATES not in [str(item).lower() for item in entry.get("category_ids") or []]
                 and (when := _when(entry.get("date"))) is not None]
    last = max(installed, default=None)
    return {"history_available": True, "entries_read": len(history.get("entries") or []),
            "last_installed": last.strftime("%Y-%m-%dT%H:%M:%SZ") if last else None,
            "days_since_last_install": (now - last).days if last else None,
            "note": "updates installed outside the Windows Update Agent (wusa) are not in its history"}
