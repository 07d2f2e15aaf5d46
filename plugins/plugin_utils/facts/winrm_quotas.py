# -*- coding: utf-8 -*-
# Copyright: m365ops.activation contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""WinRM's quotas, read before a large run: a quota set below what a fleet run needs fails hosts at random later. Facts only.

Read from the WSMan: drive (``wsman_config_read``), so a value nobody set reads as Windows' default. The minimums are
this collection's judgement, not Microsoft's: Windows' own defaults (WinRM 3.0) are well above each of them.
"""

from __future__ import annotations

import typing as t

from ansible_collections.m365ops.activation.plugins.plugin_utils.engine.concern import Concern, HostState, Plan, ProbeContext

# path below WSMan:\localhost: (the smallest value that does not worry us, what goes wrong below it)
MINIMUMS = {
    "MaxEnvelopeSizekb": (500, "a WS-Management message may hold less than Windows' default; large module payloads and "
                               "results need more messages, and clients that assume the default fail"),
    "Shell\\MaxMemoryPerShellMB": (512, "a shell may use less memory than a module execution of this collection can need"),
    "Plugin\\microsoft.powershell\\Quotas\\MaxMemoryPerShellMB": (512, "the PowerShell endpoint's own memory quota is low "
                                                                       "(it applies instead of the shell's)"),
    "Service\\MaxConcurrentOperationsPerUser": (100, "one account's concurrent operations are capped low; a run with many "
                                                     "forks through one account, or a monitoring tool on it, hits the cap"),
    "Shell\\MaxShellsPerUser": (5, "one account may open few shells at once; retries and other tools on the same account run out"),
}


class WinRmQuotas(Concern):
    NAME = "winrm_quotas"
    FACTS_KEY = "winrm_quotas"

    def probe_ops(self, args: dict[str, t.Any], context: ProbeContext) -> dict[str, dict[str, t.Any]]:
        return {"wsman": {"op": "wsman_config_read", "paths": list(MINIMUMS)}}

    def plan(self, args: dict[str, t.Any], state: HostState) -> Plan:
        answer = state.probe("wsman").data
        return Plan(facts=quota_facts(answer.get("values") or {}, answer.get("errors") or {}))


def quota_facts(values: t.Mapping[str, t.Any], errors: t.Mapping[str, t.Any] | None = None) -> dict[str, t.Any]:
    """The quotas as numbers, those below the collection's minimums (``low``), and those that could not be read
    (``unread``, with the error): a quota that was not read is not known to be fine."""
    numbers: dict[str, int | None] = {}
    for path in MINIMUMS:
        text = str(values.get(path) or "").strip()
        numbers[path] = int(text) if text.isascii() and text.isdigit() else None
    low = [{"setting": path, "value": numbers[path], "minimum": minimum, "why": why}
           for path, (minimum, why) in MINIMUMS.items() if numbers[path] is not None and numbers[path] < minimum]
    unread = [{"setting": path, "error": (errors or {})[path]} for path in MINIMUMS if path in (errors or {})]
    return {"values": numbers, "low": low, "unread": unread}
