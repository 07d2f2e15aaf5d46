# -*- coding: utf-8 -*-
# Copyright: m365ops.activation contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The host's network adapters as Windows lists them: addresses, addresses set by hand, the IPv6 binding. Facts only."""

from __future__ import annotations

import typing as t

from ansible_collections.m365ops.activation.plugins.plugin_utils.engine.concern import Concern, HostState, Plan, ProbeContext


class NetworkAdapters(Concern):
    NAME = "network_adapters"
    FACTS_KEY = "network_adapters"

    def probe_ops(self, args: dict[str, t.Any], context: ProbeContext) -> dict[str, dict[str, t.Any]]:
        # The same op the Winsock concern asks: read once when both run.
        return {"adapters": {"op": "adapter_list"}}

    def plan(self, args: dict[str, t.Any], state: HostState) -> Plan:
        answer = state.probe("adapters").data
        adapters = [{"name": item.get("name"), "if_index": item.get("if_index"), "status": item.get("status"),
                     "addresses": list(item.get("addresses") or []), "manual_addresses": item.get("manual_addresses"),
                     "ipv6_bound": item.get("ipv6_bound")} for item in answer.get("adapters") or []]
        # Where the NetAdapter module is missing (Windows 7 / 2008 R2) the binding is unknown (null), never "bound".
        return Plan(facts={"bindings_known": bool(answer.get("netadapter_supported")), "adapters": adapters})
