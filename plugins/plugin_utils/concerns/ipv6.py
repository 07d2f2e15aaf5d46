# -*- coding: utf-8 -*-
# Copyright: m365ops.activation contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""IPv6 off and on again (article: uncheck IPv6 on the adapter, retry activation, check it again).

- Windows 8 / Server 2012 and later: the adapter's ms_tcpip6 binding, per adapter, no restart.
- Any release: Tcpip6\\Parameters\\DisabledComponents (0xFF off; never 0xFFFFFFFF, KB929852), every adapter
  at once, restart needed.
Turning IPv6 off on the adapter that carries the WinRM connection is refused unless explicitly
allowed; with DisabledComponents, which reaches every adapter, that means whenever the management
adapter is known to exist or cannot be told.
"""

from __future__ import annotations

import typing as t

from ansible.errors import AnsibleActionFail

from ansible_collections.m365ops.activation.plugins.plugin_utils.adapters import Adapter, BindingChange
from ansible_collections.m365ops.activation.plugins.plugin_utils.engine.concern import Concern, HostState, Plan, ProbeContext
from ansible_collections.m365ops.activation.plugins.plugin_utils.registry import ManagedValues, RegistryKey, RegistryRef, RegistryValue, dword_of

DISABLED_COMPONENTS = RegistryRef(RegistryKey(r"HKLM\SYSTEM\CurrentControlSet\Services\Tcpip6\Parameters"), "DisabledComponents")
ALL_OFF = 0xFF
PREFER_IPV4 = 0x20
INTERFACE_BITS = 0x01 | 0x10  # tunnel interfaces, native interfaces


class Ipv6(Concern):
    NAME = "ipv6"
    FACTS_KEY = "ipv6"
    MANAGED = (ManagedValues(DISABLED_COMPONENTS.key.path, (DISABLED_COMPONENTS.name,), kinds=("dword",)),)
    ARGUMENT_SPEC = {
        "state": {"type": "str", "required": True, "choices": ["enabled", "disabled"]},
        "adapters": {"type": "list", "elements": "str", "default": ["*"]},
        "method": {"type": "str", "default": "auto", "choices": ["auto", "binding", "registry"]},
        "allow_management_adapter": {"type": "bool", "default": False},
        "immediate": {"type": "bool", "default": False},
    }

    def check_arguments(self, args: dict[str, t.Any]) -> None:
        names = args["adapters"]
        if not names or any(not name.strip() for name in names):
            raise AnsibleActionFail("adapters: name at least one adapter, or '*' for all")
        if "*" in names and len(names) > 1:
            raise AnsibleActionFail("adapters: '*' means every adapter and cannot be combined with names")
        if args["method"] == "registry" and names != ["*"]:
            raise AnsibleActionFail("adapters: the registry method (DisabledComponents) applies to every adapter; use '*'")

    def registry_refs(self, args: dict[str, t.Any]) -> t.Iterable[RegistryRef]:
        return [DISABLED_COMPONENTS]

    def probe_ops(self, args: dict[str, t.Any], context: ProbeContext) -> dict[str, dict[str, t.Any]]:
        return {"adapters": {"op": "adapter_list"}, "management": {"op": "management_addresses", "ports": list(context.management_ports)}}

    def plan(self, args: dict[str, t.Any], state: HostState) -> Plan:
        return plan_ipv6(args, state)


def plan_ipv6(args: dict[str, t.Any], state: HostState) -> Plan:
    plan = Plan()
    listing, management = state.probe("adapters").data, state.probe("management").data
    known = management.get("supported", False)
    addresses = {str(address).lower() for address in management.get("addresses", [])}
    adapters = [Adapter.from_agent(item, addresses) for item in listing.get("adapters", [])]
    method = args["method"]
    if method == "auto":
        method = "binding" if listing.get("netadapter_supported") else "registry"
    current = state.registry.get(DISABLED_COMPONENTS)
    plan.facts = {
        "method": method,
        "adapters": [{"name": item.name, "ipv6_bound": item.ipv6_bound, "management": item.management} for item in adapters],
        "management_addresses": sorted(addresses) if known else None,
        "disabled_components": None if current is None else current.value,
    }
    if method == "binding":
        plan_binding(plan, args, adapters, bool(listing.get("netadapter_supported")), state)
    elif args["immediate"]:
        # DisabledComponents is read at boot only: an off-retry-on without restarts would retry with IPv6 still on.
        plan.failure = (f"immediate: the registry method (DisabledComponents) takes effect only after a restart, and {state.windows.name} "
                        "has no NetAdapter module for the per-adapter binding. Turn IPv6 off with win_ipv6 (method: registry), "
                        "restart with ansible.windows.win_reboot, retry, then turn it on and restart again.")
    else:
        plan_registry(plan, args, adapters, known, state)
    return plan


def plan_binding(plan: Plan, args: dict[str, t.Any], adapters: list[Adapter], supported: bool, state: HostState) -> None:
    if not supported:
        plan.failure = (f"method=binding needs the NetAdapter module of Windows 8 / Server 2012 and later; {state.windows.name} "
                        "has none. Use method: registry (DisabledComponents, every adapter, restart needed).")
        return
    wanted = args["adapters"]
    selected = adapters if wanted == ["*"] else [item for item in adapters if item.name.lower() in {name.lower() for name in wanted}]
    unknown = sorted({name.lower() for name in wanted} - {item.name.lower() for item in adapters}) if wanted != ["*"] else []
    if unknown:
        plan.failure = f"adapters: no adapter named {', '.join(unknown)} on this host; it has {', '.join(item.name for item in adapters)}"
        return
    bound = args["state"] == "enabled"
    for adapter in selected:
        if adapter.ipv6_bound is None or adapter.ipv6_bound == bound:
            continue
        if not bound and adapter.management and not args["allow_management_adapter"]:
            plan.failure = (f"refusing to turn IPv6 off on adapter '{adapter.name}': it carries the WinRM management connection "
                            f"({', '.join(adapter.addresses)}). Name the other adapters, or set allow_management_adapter: true.")
            plan.changes.clear()
            return
        verb = "IPv6 on again" if bound else "IPv6 off for the activation retry (article step)"
        plan.changes.append(BindingChange(adapter, bound, f"{verb} on adapter '{adapter.name}'"))


def plan_registry(plan: Plan, args: dict[str, t.Any], adapters: list[Adapter], known: bool, state: HostState) -> None:
    current = state.registry.get(DISABLED_COMPONENTS)
    value = dword_of(current)
    if args["state"] == "disabled":
        if value == ALL_OFF:
            return
        if not args["allow_management_adapter"] and (not known or any(item.management for item in adapters)):
            plan.failure = ("refusing DisabledComponents=0xFF: it turns IPv6 off on every adapter, including the one that carries "
                            "(or may carry) the WinRM management connection. Set allow_management_adapter: true to accept that.")
            return
        plan.set_value(state, DISABLED_COMPONENTS, RegistryValue.dword(ALL_OFF),
                       "IPv6 off on every adapter for the activation retry (DisabledComponents=0xFF; never 0xFFFFFFFF)", True)
        return
    if value is None or not value & INTERFACE_BITS:
        return
    # 0xFF is "all off" as this module and the KB write it; otherwise only the two interface bits are cleared, and
    # a site's own choices stay: 0x20 prefer IPv4, 0x02 6to4, 0x04 ISATAP, 0x08 Teredo off (hardening).
    kept = 0 if value == ALL_OFF else value & ~INTERFACE_BITS
    reason = f"DisabledComponents {value:#x} turns IPv6 interfaces off"
    if kept:
        plan.set_value(state, DISABLED_COMPONENTS, RegistryValue.dword(kept), reason + f"; the other bits ({kept:#x}) are kept", True)
    else:
        plan.remove_value(state, DISABLED_COMPONENTS, reason, True)
