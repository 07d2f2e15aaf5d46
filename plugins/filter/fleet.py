# -*- coding: utf-8 -*-
# Copyright: m365ops.activation contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters the fleet role asks once for the whole play, so that no task has to run on every host to find out.

A task costs the controller a worker process per host even where every host skips it. The fleet role therefore asks
these once: which hosts give its variables values of their own (the role validates each distinct set once, and where
there is one, decides what win_activation is given once), which variables those are, and which hosts a follow-up step
may concern (where none does, the step is evaluated on one host instead of all).
"""

from __future__ import annotations

import json
import typing as t

from ansible.errors import AnsibleFilterError

from ansible_collections.m365ops.activation.plugins.plugin_utils.concerns.catalog import BY_NAME
from ansible_collections.m365ops.activation.plugins.plugin_utils.concerns.role_variables import option_variables


def _key(values: t.Mapping[str, t.Any]) -> str:
    try:
        return json.dumps(values, sort_keys=True, default=str)
    except (TypeError, ValueError) as error:
        raise AnsibleFilterError(f"host_variants: a value cannot be compared: {error}") from error


def host_variants(hostvars: t.Mapping[str, t.Any], hosts: t.Sequence[str], names: t.Iterable[str]) -> list[dict[str, t.Any]]:
    """The hosts grouped by the values they give ``names`` themselves (inventory, facts, extra vars), first host's group
    first. One group means no host sets any of them differently: play, role and extra vars are the same for every host,
    so every host then has the same values as the first."""
    wanted = sorted(set(names))
    groups: dict[str, dict[str, t.Any]] = {}
    for host in hosts:
        own = hostvars.get(host) or {}
        values = {name: own[name] for name in wanted if name in own}
        groups.setdefault(_key(values), {"hosts": [], "values": values})["hosts"].append(host)
    return list(groups.values())


def concern_variables(concerns: t.Iterable[str]) -> list[str]:
    """The variables the options of ``concerns`` are read from: ``m365ops_<concern>`` and the deprecated separate role
    variables lookup concern_options still reads."""
    names = list(concerns)
    unknown = [name for name in names if name not in BY_NAME]
    if unknown:
        raise AnsibleFilterError(f"concern_variables: {', '.join(map(str, unknown))} is not a concern ({', '.join(BY_NAME)})")
    return option_variables(names)


def _unavailable(result: t.Mapping[str, t.Any]) -> bool:
    facts = (result.get("ansible_facts") or {}).get("m365ops_activation") or {}
    return bool(result.get("agent_unavailable") or facts.get("agent_unavailable"))


def _activation_may_follow_up(result: t.Any, restart: bool) -> bool:
    """Whether a registered win_activation result may call for a follow-up: it failed before any concern or in one,
    the agent could not run, or (where the run may restart hosts) a change waits for a restart. The IPv6 procedure is
    the run's choice, not the host's."""
    if not isinstance(result, t.Mapping) or result.get("skipped") or result.get("unreachable"):
        return False
    concerns = result.get("concerns")
    if _unavailable(result) or (restart and result.get("reboot_required")) or not isinstance(concerns, t.Mapping):
        return True
    return any(isinstance(entry, t.Mapping) and entry.get("failed") for entry in concerns.values())


def follow_up_hosts(hostvars: t.Mapping[str, t.Any], hosts: t.Sequence[str], restart: bool = False) -> list[str]:
    """The hosts whose win_activation or diagnosis result may call for a follow-up step of the fleet role. A superset:
    the role's own conditions decide on each host named here."""
    found = []
    for host in hosts:
        own = hostvars.get(host) or {}
        diagnosis = own.get("fleet_diagnosis")
        if _activation_may_follow_up(own.get("fleet_activation"), restart) or (isinstance(diagnosis, t.Mapping) and _unavailable(diagnosis)):
            found.append(host)
    return found


class FilterModule:
    def filters(self) -> dict[str, t.Callable[..., t.Any]]:
        return {"host_variants": host_variants, "follow_up_hosts": follow_up_hosts, "concern_variables": concern_variables}
