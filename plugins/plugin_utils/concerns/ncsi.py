# -*- coding: utf-8 -*-
# Copyright: m365ops.activation contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""NCSI active probing for Microsoft 365 activation (article: proxy/firewall/GPO section).

Office asks the Network Connectivity Status Indicator whether the machine is online; with
active probing off NCSI can report "no internet" and activation gives up with 0xCAA70007.
- Service value: NlaSvc\\Parameters\\Internet\\EnableActiveProbing = 1.
- Policy: Policies\\...\\NetworkConnectivityStatusIndicator\\NoActiveProbe; when present it wins
  over the service value. Group Policy owns that key and writes it again at every refresh (about
  every 90 minutes) and at boot, so a non-zero value is a blocker naming the GPO setting to change.
  Overriding it (set to 0, what the GPO "Disabled" writes, or removed) takes an explicit option and
  is reported as temporary; an absent policy is left absent. The blocker names where the value comes from:
  the local Group Policy object (its Registry.pol holds it), GPOs from the domain (named), or unknown.
- NlaSvc reads these values when it starts or a network is identified again: a change is pending,
  and reported as needing a restart, until then. What Windows currently concludes (internet, local
  network, ...) is returned per network from NetConnectionProfile, as numbers, on Windows 8 and later.
- Probe hosts that differ from the Windows defaults are drift until they are restored, which happens on
  request only (a site may run its own probe server).
"""

from __future__ import annotations

import typing as t
from dataclasses import replace

from ansible_collections.m365ops.activation.plugins.plugin_utils.engine.concern import Concern, HostState, Plan, ProbeContext, Reason
from ansible_collections.m365ops.activation.plugins.plugin_utils.grouppolicy import GPO_LIST, LOCAL_MACHINE_POL, policy_source
from ansible_collections.m365ops.activation.plugins.plugin_utils.registry import ManagedValues, RegistryKey, RegistryRef, RegistryValue, dword_of

INTERNET = RegistryKey(r"HKLM\SYSTEM\CurrentControlSet\Services\NlaSvc\Parameters\Internet")
POLICY = RegistryKey(r"HKLM\SOFTWARE\Policies\Microsoft\Windows\NetworkConnectivityStatusIndicator")
ENABLE_ACTIVE_PROBING = RegistryRef(INTERNET, "EnableActiveProbing")
NO_ACTIVE_PROBE = RegistryRef(POLICY, "NoActiveProbe")
# Other NCSI policy values: reported, never changed. The corporate probes (DirectAccess, Always On VPN) decide "no
# internet" on corporate networks when they point at something unreachable.
OTHER_POLICY_VALUES = ("UseGlobalDNS", "DisablePassivePolling", "CorporateWebsiteProbeUrl", "DomainLocationDeterminationUrl",
                       "CorporateDNSProbeHostName", "CorporateDNSProbeHostAddress")

# Where the policy comes from, in the Group Policy editor.
GPO_SETTING = ("Computer Configuration\\Administrative Templates\\System\\Internet Communication Management\\"
               "Internet Communication settings\\Turn off Windows Network Connectivity Status Indicator active tests")
# Windows 10 1607 (build 14393) moved the web probe to msftconnecttest.com.
CONNECTTEST_BUILD = 14393
PROBE_DEFAULTS_CONNECTTEST = {
    "ActiveWebProbeHost": "www.msftconnecttest.com", "ActiveWebProbePath": "connecttest.txt",
    "ActiveWebProbeContent": "Microsoft Connect Test", "ActiveDnsProbeHost": "dns.msftncsi.com",
    "ActiveDnsProbeContent": "131.107.255.255",
    "ActiveWebProbeHostV6": "ipv6.msftconnecttest.com", "ActiveWebProbePathV6": "connecttest.txt",
    "ActiveWebProbeContentV6": "Microsoft Connect Test", "ActiveDnsProbeHostV6": "dns.msftncsi.com",
    "ActiveDnsProbeContentV6": "fd3e:4f5a:5b81::1",
}
PROBE_DEFAULTS_NCSI = {
    **PROBE_DEFAULTS_CONNECTTEST,
    "ActiveWebProbeHost": "www.msftncsi.com", "ActiveWebProbePath": "ncsi.txt", "ActiveWebProbeContent": "Microsoft NCSI",
    "ActiveWebProbeHostV6": "ipv6.msftncsi.com", "ActiveWebProbePathV6": "ncsi.txt", "ActiveWebProbeContentV6": "Microsoft NCSI",
}


def probe_defaults(build: int) -> dict[str, str]:
    return PROBE_DEFAULTS_CONNECTTEST if build >= CONNECTTEST_BUILD else PROBE_DEFAULTS_NCSI


class Ncsi(Concern):
    NAME = "ncsi"
    FACTS_KEY = "ncsi"
    MANAGED = (
        ManagedValues(INTERNET.path, ("EnableActiveProbing",), kinds=("dword",)),
        # The probe's host names, paths and expected answers: short text, as Windows ships them.
        ManagedValues(INTERNET.path, tuple(PROBE_DEFAULTS_CONNECTTEST), kinds=("string", "expand_string"), max_text=255),
        ManagedValues(POLICY.path, ("NoActiveProbe",), kinds=("dword",)),
    )
    ARGUMENT_SPEC = {
        "policy": {"type": "str", "default": "report", "choices": ["report", "set_zero", "remove"]},
        "restore_probe_defaults": {"type": "bool", "default": False},
    }

    def registry_refs(self, args: dict[str, t.Any]) -> t.Iterable[RegistryRef]:
        yield ENABLE_ACTIVE_PROBING
        yield NO_ACTIVE_PROBE
        for name in OTHER_POLICY_VALUES:
            yield RegistryRef(POLICY, name)
        for name in PROBE_DEFAULTS_CONNECTTEST:
            yield RegistryRef(INTERNET, name)

    def probe_ops(self, args: dict[str, t.Any], context: ProbeContext) -> dict[str, dict[str, t.Any]]:
        # Where a policy value comes from; Registry.pol files are kilobytes, 16 MiB is far beyond any real one.
        return {"local_policy": {"op": "file_read", "path": LOCAL_MACHINE_POL, "max_bytes": 16 * 1024 * 1024},
                "gpo_list": {"op": "registry_read_subkeys", "key": GPO_LIST, "view": "64", "names": ["DisplayName", "Link"]},
                "connectivity": {"op": "connection_profiles"}}

    def plan(self, args: dict[str, t.Any], state: HostState) -> Plan:
        return plan_ncsi(args, state)


# NetConnectionProfile IPv4Connectivity / IPv6Connectivity (NetConnectivityLevel in the CIM class).
CONNECTIVITY = {0: "disconnected", 1: "no_traffic", 2: "subnet", 3: "local_network", 4: "internet"}


def connectivity(answer: dict[str, t.Any]) -> list[dict[str, t.Any]] | None:
    """What Windows currently reports per connected network, or None where it cannot say (Windows 7 / 2008 R2)."""
    if not answer.get("supported"):
        return None
    return [{"interface": item.get("interface_alias"), "ipv4": CONNECTIVITY.get(item.get("ipv4_connectivity"), "unknown"),
             "ipv6": CONNECTIVITY.get(item.get("ipv6_connectivity"), "unknown")} for item in answer.get("profiles") or []]


def describe_source(source: dict[str, t.Any]) -> str:
    if source["source"] == "local_gpo":
        return f"the host's local Group Policy object sets it ({source['file']}; change it with the Local Group Policy Editor)"
    if source["source"] == "domain_gpo":
        return f"a Group Policy object from the domain sets it (applied here: {', '.join(source['gpos'])})"
    return "no Group Policy object applied to this host shows it (a script or a person may have written it)"


def plan_ncsi(args: dict[str, t.Any], state: HostState) -> Plan:
    plan = Plan()
    service = state.registry.get(ENABLE_ACTIVE_PROBING)
    policy = state.registry.get(NO_ACTIVE_PROBE)

    if dword_of(service) != 1:
        shown = "absent" if service is None else f"{service.value!r}"
        # NlaSvc reads the value when it starts (or a network is identified again): pending until a restart.
        plan.set_value(state, ENABLE_ACTIVE_PROBING, RegistryValue.dword(1),
                       f"NlaSvc EnableActiveProbing is {shown}, so NCSI does not test internet access (in effect once NlaSvc "
                       "restarts: restart the host)", True)
    source = None
    if policy is not None and dword_of(policy) != 0:
        source = policy_source(POLICY.path, NO_ACTIVE_PROBE.name, state.probe("local_policy").data, state.probe("gpo_list").data)
        reason = f"Group Policy NoActiveProbe is {policy.value!r}, which turns NCSI active tests off and wins over EnableActiveProbing"
        if args["policy"] == "report":
            plan.blockers.append(Reason(
                "ncsi.group_policy",
                f"{reason}; {describe_source(source)}. Group Policy writes it again at every refresh and boot: set "
                f"the GPO '{GPO_SETTING}' to Disabled or Not Configured (policy: set_zero or remove overrides it until "
                "the next refresh only)"))
        else:
            plan.warnings.append(f"temporary: {NO_ACTIVE_PROBE} is Group Policy's ({describe_source(source)}); the next policy refresh "
                                 f"(about every 90 minutes) or boot writes {policy.value!r} again unless the GPO '{GPO_SETTING}' is changed")
            if args["policy"] == "remove":
                plan.remove_value(state, NO_ACTIVE_PROBE, reason, True)
            else:
                plan.set_value(state, NO_ACTIVE_PROBE, RegistryValue.dword(0), reason, True)

    defaults = probe_defaults(state.windows.build)
    differences = []
    for name, default in defaults.items():
        ref = RegistryRef(INTERNET, name)
        current = state.registry.get(ref)
        if current is not None and current.value != default:
            differences.append({"name": name, "value": current.value, "default": default})
            if args["restore_probe_defaults"]:
                plan.set_value(state, ref, RegistryValue("string", default),
                               f"NCSI {name} is {current.value!r}, not the Windows default {default!r} (in effect once NlaSvc restarts)", True)
    if differences and not args["restore_probe_defaults"]:
        # Not fixed while NCSI probes a target Windows does not ship: a site may run its own probe server on
        # purpose, so it is reported as drift and only reset when asked.
        plan.drift.append(Reason(
            "ncsi.probe_target",
            "NCSI probes a target Windows does not ship (" + ", ".join(f"{item['name']}={item['value']!r}" for item in differences)
            + "); if that server is unreachable, NCSI reports no internet and Office cannot activate. "
            "Set restore_probe_defaults: true (role: ncsi_restore_probe_defaults) to put the Windows defaults back."))

    other_policy = {name: value.value for name in OTHER_POLICY_VALUES if (value := state.registry.get(RegistryRef(POLICY, name))) is not None}
    corporate = {name: value for name, value in other_policy.items() if name.startswith(("Corporate", "Domain"))}
    if corporate:
        plan.warnings.append("Group Policy sets NCSI's corporate probes (" + ", ".join(f"{name}={value!r}" for name, value in corporate.items())
                             + "); if they point at something unreachable, NCSI reports no internet on the corporate network")
    probing_was_on = dword_of(policy) == 0 if policy is not None else dword_of(service) == 1
    policy_remains = policy is not None and not (args["policy"] == "remove" and dword_of(policy) != 0)
    override_temporary = policy is not None and dword_of(policy) != 0 and args["policy"] != "report"
    if override_temporary and plan.changes:
        # Group Policy writes its value again when the host starts: a restart would undo the override, so none is owed for
        # these changes (m365ops_reboot restarts no host for them). NlaSvc applies them when it next restarts.
        plan.changes = [replace(change, reboot_required=False) for change in plan.changes]
        plan.warnings.append("no restart is owed for these changes: Group Policy writes NoActiveProbe again when the host starts, so "
                             "a restart would undo the override; NlaSvc applies them the next time it restarts or identifies a network")

    plan.facts = {
        "active_probing_was_on": probing_was_on,
        "enable_active_probing": None if service is None else service.value,
        "policy_no_active_probe": None if policy is None else policy.value,
        # With the policy value present, NCSI follows it and ignores EnableActiveProbing.
        "decided_by": "policy" if policy_remains else "service",
        "probe_differences": differences,
        # An override of a Group Policy value lasts until the next policy refresh.
        "policy_override_temporary": override_temporary,
        "other_policy_values": other_policy,
        "policy_source": source,
        # Windows' own conclusion now; NlaSvc applies changed values only once it restarts.
        "connectivity": connectivity(state.probe("connectivity").data),
    }
    return plan
