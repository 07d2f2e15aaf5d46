# -*- coding: utf-8 -*-
# Copyright: m365ops.activation contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
---
module: win_ncsi
short_description: Turn on NCSI active probing so Office can see the internet
version_added: 0.1.0
description:
  - Fixes the NCSI part of the proxy/firewall/GPO step of the Microsoft article on activation errors 0xCAA70007
    and 0xCAA80000. With active probing off, the Network Connectivity Status Indicator can report no internet access
    and Office stops trying to activate.
  - Sets C(EnableActiveProbing=1) under C(HKLM\SYSTEM\CurrentControlSet\Services\NlaSvc\Parameters\Internet).
  - A Group Policy value C(NoActiveProbe) under C(HKLM\SOFTWARE\Policies\Microsoft\Windows\NetworkConnectivityStatusIndicator)
    wins over the service value. Group Policy owns that key and writes it again at every refresh (about every 90 minutes)
    and at boot, so by default (O(policy=report)) a non-zero value is a blocker naming the GPO setting to change,
    "Turn off Windows Network Connectivity Status Indicator active tests". O(policy=set_zero) (what the GPO set to
    Disabled writes) or O(policy=remove) overrides it until the next refresh, reported as temporary
    (RV(ncsi.policy_override_temporary)). An absent policy value stays absent. RV(ncsi.decided_by) says which value decides.
  - Probe targets (C(ActiveWebProbeHost), C(ActiveDnsProbeHost) and the rest, IPv4 and IPv6) that differ from the Windows
    defaults are drift until they are reset to the defaults with O(restore_probe_defaults=true). The defaults are
    C(www.msftconnecttest.com) on Windows 10 1607 (build 14393) and later and C(www.msftncsi.com) before.
  - NlaSvc reads these values when it starts or a network is identified again, so every change is pending until then
    and is reported as needing a restart (RV(reboot_required)).
options:
  policy:
    description:
      - What to do with a non-zero C(NoActiveProbe) policy value.
      - C(report) changes nothing and reports a blocker naming the GPO setting.
      - C(set_zero) writes C(0), as the Group Policy setting "Disabled" does, until the next policy refresh.
      - C(remove) deletes the value, leaving C(EnableActiveProbing) in charge, until the next policy refresh.
    type: str
    choices: [report, set_zero, remove]
    default: report
  restore_probe_defaults:
    description:
      - Reset probe targets that differ from the Windows defaults for the host's build.
      - Leave false where a non-default probe server is deliberate (for example an internal NCSI server).
    type: bool
    default: false
extends_documentation_fragment:
  - m365ops.activation.concern
seealso:
  - module: m365ops.activation.win_agent
author:
  - m365ops maintainers (@m365ops)
"""

EXAMPLES = r"""
- name: NCSI active probing on, removing a policy that turned it off
  m365ops.activation.win_ncsi:
    policy: remove

- name: Also reset probe targets to the Windows defaults
  m365ops.activation.win_ncsi:
    restore_probe_defaults: true
    backup_dir: "{{ playbook_dir }}/backups"
"""

RETURN = r"""
agent_executions:
  description:
    - How many times the agent ran on the host for this task - one to read, one more when something is changed, and one
      more where a read depends on what the first one found or an earlier run was interrupted.
  returned: always
  type: int
backup:
  description:
    - Restore records of what was actually changed, each with the value found immediately before the write
      (null when the value did not exist). Returned when changes were applied.
  returned: changed and not check mode
  type: list
  elements: dict
backup_file:
  description: Path of the backup record written on the controller.
  returned: when O(backup_dir) is set and something changed
  type: str
blockers:
  description: Conditions that keep the host non-compliant and that this module cannot fix. Also raised as warnings.
  returned: always
  type: list
  elements: str
changes:
  description: Each registry value the task changed (or, in check mode, would change), with the reason.
  returned: always
  type: list
  elements: dict
  contains:
    key:
      description: Registry key, C(HKLM\...).
      type: str
    view:
      description: Registry view, C(64) or C(32) (WOW64).
      type: str
    name:
      description: Value name.
      type: str
    before:
      description: Previous C(type) and C(value), or null when the value was absent.
      type: dict
    after:
      description: New C(type) and C(value), or null when the value is removed.
      type: dict
    reason:
      description: Why the value does not meet the article's requirement.
      type: str
check_mode:
  description: Whether the task ran in check mode (the reported changes were predicted, not made).
  returned: always
  type: bool
diff:
  description: What the task changed (or, in check mode, would change), as C(before) and C(after) text.
  returned: with C(--diff), when something changed or would change
  type: dict
drift:
  description: What differs from what the article needs and was left in place with the options given, with the evidence.
  returned: always
  type: list
  elements: str
interrupted:
  description:
    - Batches of earlier runs on this host whose answer never came back (the host's journal, or a C(planned) document
      under O(backup_dir)), each with its C(run_id), C(module), C(created), C(found_on), C(planned), how many changes are
      C(in_effect), C(not_made), C(changed_since) or C(unknown), and C(in_effect_targets). Outside check mode their
      backup is kept by this run (the collection's docs/restore.md).
  returned: when an earlier run was interrupted
  type: list
  elements: dict
journal:
  description:
    - When the changes went out and their answer never came back (RV(status) C(unknown)) - C(run_id), C(planned_file)
      (the write-ahead record on the controller, with O(backup_dir)) and C(planned_changes). The host keeps the same
      records in its own journal, and the next run settles them.
  returned: when the answer to the changes never came back
  type: dict
ncsi:
  description: What the module found.
  returned: always
  type: dict
  contains:
    active_probing_was_on:
      description: Whether active probing was on before this task, taking the policy into account.
      type: bool
    enable_active_probing:
      description: The service value found, or null when absent.
      type: raw
    other_policy_values:
      description:
        - Other NCSI Group Policy values found (C(UseGlobalDNS), C(DisablePassivePolling), and the corporate probes
          C(CorporateWebsiteProbeUrl), C(DomainLocationDeterminationUrl), C(CorporateDNSProbeHostName),
          C(CorporateDNSProbeHostAddress)); reported, never changed. Corporate probes set also raise a warning.
      type: dict
    connectivity:
      description:
        - The connectivity Windows reports now per connected network (C(interface), C(ipv4), C(ipv6), each one of
          C(internet), C(local_network), C(subnet), C(no_traffic), C(disconnected)), from NetConnectionProfile.
          Null on Windows 7 / 2008 R2. A changed value shows here only after NlaSvc restarts.
      type: list
      elements: dict
    policy_source:
      description:
        - Where a non-zero C(NoActiveProbe) comes from, or null when the policy does not turn probing off.
          C(source) is C(local_gpo) (with C(file), the local GPO's Registry.pol that holds it), C(domain_gpo) (with
          C(gpos), the display names of the domain GPOs applied to the host) or C(unknown).
      type: dict
    policy_override_temporary:
      description: True when a Group Policy value was overridden by O(policy); the next policy refresh writes it again.
      type: bool
    policy_no_active_probe:
      description: The policy value found, or null when absent.
      type: raw
    decided_by:
      description: C(policy) when the policy value is (still) present and decides, otherwise C(service).
      type: str
    probe_differences:
      description: Probe values that differ from the Windows defaults, each with C(name), C(value) and C(default).
      type: list
      elements: dict
reboot_owed_by:
  description:
    - Concerns whose earlier changes still wait for a restart of this host (remembered on the host under
      C(HKLM\\SOFTWARE\\m365ops\\activation\\RebootRequired) with the boot time, until the host has restarted).
  returned: always
  type: list
  elements: str
reboot_required:
  description:
    - True when a value changed, in this task or an earlier one the host has not restarted since; NlaSvc reads the values
      when it starts or a network is identified again.
  returned: always
  type: bool
status:
  description:
    - C(compliant), C(remediated), C(drift), C(blocked) or C(failed), as the collection's compliance report explains each;
      C(busy) when the host restarted, or another run of the collection changed it, after this task read it (nothing was
      changed; run again); C(unknown) when the changes went out and their answer never came back (see RV(journal)).
  returned: always
  type: str
"""
