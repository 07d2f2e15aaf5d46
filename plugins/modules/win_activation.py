# -*- coding: utf-8 -*-
# Copyright: m365ops.activation contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
---
module: win_activation
short_description: Every Microsoft 365 activation concern of a host in one probe, one apply and one verification
version_added: 0.3.0
description:
  - Runs the collection's concerns (TLS 1.2, WinHTTP proxy, NCSI, required services, Winsock reset and, when asked,
    IPv6) on a Windows host in as few agent executions as the work allows. One execution reads what every selected
    concern needs; each concern decides from that one reading exactly as its own module does; every change goes out
    in one more execution, which with O(verify=true) ends with the same reads as the probe, from which every concern is
    planned anew.
  - An audit (check mode, or a compliant host) costs one agent execution, a remediation two. A host whose Winsock
    catalog names DLLs of products other than Windows takes one more read-only execution per probe to look at those
    files (M(m365ops.activation.win_winsock_reset)).
  - "The apply batch runs concern by concern in a fixed order: C(tls12), C(winhttp_proxy), C(ncsi) (before the
    services, so a Network Location Awareness started here reads the new values), C(required_services),
    C(winsock_reset), C(office_credentials), C(office_license), C(office_update), C(ipv6). The agent skips every
    write after a failed one, so a concern after a failed change is C(not_run), never reported as changed."
  - Each concern's options are validated by that concern's own argument spec before the host is contacted; an error
    names C(concern.option). Two concerns that would change the same thing differently are refused before anything
    is changed, with both named.
  - Each concern's result under RV(concerns) is what its own module returns (changes, blockers, drift, warnings,
    diff, backup, reboot_required, status), so the collection's report and restore read it unchanged. Backup
    records are written as one file per host and run; each record names its concern's module, so
    M(m365ops.activation.win_restore) with O(m365ops.activation.win_restore#module:modules) can pick them.
options:
  concerns:
    description:
      - The concerns to run. C(ipv6) is an off-retry-on procedure around an activation retry and is only run when
        named (with C(ipv6.state)); the C(ipv6) role is the usual way to run it.
      - C(office_credentials), C(office_license) and C(office_update) act for every signed-in user (the first two in
        the users' own sessions, through a short-lived scheduled task each) and run only when named; they read and
        change in the same probe and apply as the other concerns, so they add no agent execution.
    type: list
    elements: str
    choices: [tls12, winhttp_proxy, ncsi, required_services, winsock_reset, office_credentials, office_license, office_update, ipv6]
    default: [tls12, winhttp_proxy, ncsi, required_services, winsock_reset]
  facts:
    description:
      - Also read what M(m365ops.activation.win_activation_facts) reads (Click-to-Run, adapters, Windows Update, WinRM
        quotas, signed-in users, and the endpoint check with O(endpoints)), in the same agent execution as the
        concerns' own reads, and return it as RV(m365ops_activation), from which the collection's findings are
        read. The facts are the host as the probe read it, before any change of this task; so they are a key of the
        result, not host facts (which would say the host is still as it was after this task changed it).
      - The audit playbook asks for them, so an audit says which hosts cannot activate at the cost of one execution.
    type: bool
    default: false
    version_added: 0.4.0
  endpoints:
    description:
      - With O(facts=true), check the article's endpoints from the host, with these options of
        M(m365ops.activation.win_activation_facts)'s O(m365ops.activation.win_activation_facts#module:endpoints).
    type: dict
    version_added: 0.4.0
  verify:
    description:
      - After an apply, read the host again (at the end of the apply execution) and plan every selected concern anew. RV(verified) is true only when
        nothing is left to change; a concern whose changes did not hold is C(failed), never C(remediated).
    type: bool
    default: true
  tls12:
    description: Options of M(m365ops.activation.win_tls12) (except O(backup_dir)).
    type: dict
  winhttp_proxy:
    description: Options of M(m365ops.activation.win_winhttp_proxy) (except O(backup_dir)).
    type: dict
  ncsi:
    description: Options of M(m365ops.activation.win_ncsi) (except O(backup_dir)).
    type: dict
  required_services:
    description: Options of M(m365ops.activation.win_required_services) (except O(backup_dir)).
    type: dict
  winsock_reset:
    description: Options of M(m365ops.activation.win_winsock_reset) (except O(backup_dir)).
    type: dict
  office_credentials:
    description: Options of M(m365ops.activation.win_office_credentials) (except O(backup_dir)).
    type: dict
  office_license:
    description: Options of M(m365ops.activation.win_office_license) (except O(backup_dir)).
    type: dict
  office_update:
    description:
      - Options of M(m365ops.activation.win_office_update) (except O(backup_dir)).
      - C(office_update.minimum_version) is required when C(office_update) is selected.
    type: dict
  ipv6:
    description: Options of M(m365ops.activation.win_ipv6) (except O(backup_dir)); C(ipv6.state) is required when C(ipv6) is selected.
    type: dict
extends_documentation_fragment:
  - m365ops.activation.concern
seealso:
  - module: m365ops.activation.win_tls12
  - module: m365ops.activation.win_winhttp_proxy
  - module: m365ops.activation.win_ncsi
  - module: m365ops.activation.win_required_services
  - module: m365ops.activation.win_winsock_reset
  - module: m365ops.activation.win_ipv6
  - module: m365ops.activation.win_restore
author:
  - m365ops maintainers (@m365ops)
"""

EXAMPLES = r"""
- name: Audit every concern in one agent execution per host
  m365ops.activation.win_activation:
  check_mode: true
  register: activation

- name: Remediate, proxy sites naming their proxy, with backups
  m365ops.activation.win_activation:
    winhttp_proxy:
      proxy: proxy.corp.example:8080
      bypass: ["<local>", "*.corp.example"]
    required_services:
      sfc_on_failure: true
    backup_dir: /var/backups/m365ops
  register: activation

- name: Audit, and read what activation depends on (the endpoint check in one pass) in the same agent execution
  m365ops.activation.win_activation:
    facts: true
    endpoints:
      follow_ups: false
  check_mode: true
  register: audited

- name: The findings of this host, from the facts the audit read
  ansible.builtin.debug:
    msg: "{{ audited.m365ops_activation | m365ops.activation.activation_findings | map(attribute='id') }}"

- name: Reboot where a change needs it
  ansible.windows.win_reboot:
  when: activation.reboot_required
"""

RETURN = r"""
m365ops_activation:
  description:
    - With O(facts=true), what the host's activation depends on, as M(m365ops.activation.win_activation_facts)
      returns it under its facts (the release and reboot facts, each selected concern's status and what it would
      change, and the readers' facts), read before any change of this task.
  returned: when O(facts=true)
  type: dict
concerns:
  description:
    - One entry per selected concern, exactly what the concern's own module returns (RV(status), C(changes),
      C(blockers), C(drift), C(warnings), C(diff), C(backup), C(reboot_required), C(reboot_owed_by) and its facts),
      plus C(verified) after a verified apply. A concern not applied because an earlier change of the batch failed
      has C(status=not_run) and C(not_run=true). A concern whose changes went out in a batch whose answer never came back
      has C(status=unknown), C(changed=true) and C(journal) (C(run_id), C(planned_file), C(planned_changes)); a concern
      with records in an earlier run's interrupted batch has C(interrupted) (see RV(interrupted)) and a warning.
  returned: always
  type: dict
interrupted:
  description:
    - Batches of earlier runs on this host whose answer never came back (the host's journal, or a C(planned) document
      under O(backup_dir)), each with its C(run_id), C(module), C(created), C(found_on), C(planned), how many changes are
      C(in_effect), C(not_made), C(changed_since) or C(unknown), and C(in_effect_targets). Outside check mode their
      backup is kept by this run (docs/restore.md).
  returned: when an earlier run was interrupted
  type: list
  elements: dict
status:
  description: The worst status of the selected concerns (see the collection's report for the order).
  returned: always
  type: str
  sample: remediated
verified:
  description:
    - True when, after this run, no selected concern has anything left to change (read again after an apply, or
      the probe itself when nothing needed changing); false when something is left; null in check mode or when
      O(verify=false).
  returned: always
  type: bool
changed:
  description: Whether any concern changed something on the host.
  returned: always
  type: bool
reboot_required:
  description: Whether any concern made, or earlier made, a change that needs a restart the host has not had.
  returned: always
  type: bool
agent_executions:
  description:
    - Agent executions on the host for this task (1 for an audit, 2 for a verified remediation); one more on a host where
      an earlier run was interrupted (what it left is read back).
  returned: always
  type: int
backup:
  description:
    - The backup records of everything this run changed, every concern's together, each naming its concern's module in
      C(module); the same records are under each concern's C(backup).
  returned: always
  type: list
  elements: dict
backup_file:
  description: The backup file written under O(backup_dir), one per host and run.
  returned: when something changed and O(backup_dir) is set
  type: str
agent_unavailable:
  description: True when the host cannot run the agent (below PowerShell 5.1); every concern is then C(blocked).
  returned: when the agent cannot run
  type: bool
"""
