# -*- coding: utf-8 -*-
# Copyright: m365ops.activation contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
---
module: win_winsock_reset
short_description: Reset Winsock (and optionally TCP/IP) only when there is evidence, or once per token
version_added: 0.1.0
description:
  - Fixes the "reset Winsock" step of the Microsoft article on activation errors 0xCAA70007 and 0xCAA80000 with
    C(netsh winsock reset) and, with O(ip=true), C(netsh int ip reset).
  - "Idempotent by evidence of damage: a reset runs only when the Winsock catalog (C(Protocol_Catalog9) and
    C(NameSpace_Catalog5), 32-bit and 64-bit) holds a layered protocol (an LSP: chain length 0, or a chain over a base
    protocol, read from C(PackedCatalogItem)), a protocol catalog has no base provider (C(mswsock.dll)), or an entry's
    DLL is not on disk (a product removed without unregistering it; a catalog that names files of other products than
    Windows takes one more read-only agent run to look at them); or when
    O(force_token) names a token not yet recorded on the host. Tokens and the fingerprint of every catalog a reset acted
    on are recorded under C(HKLM\\SOFTWARE\\m365ops\\activation): the same token never resets twice, and a catalog that
    comes back after its reset (a product re-registers its provider) is a blocker, not another reset."
  - "A provider outside C(%SystemRoot%\\System32) / C(SysWOW64) that breaks nothing (Apple Bonjour's C(mdnsNSP.dll), VPN
    and security products) is reported in RV(winsock.third_party_providers) and a warning, and left in place: the reset
    would remove it. O(reset_third_party=true) counts such providers as evidence too."
  - C(netsh int ip reset) is refused on a host with a static IPv4 address (C(EnableDHCP=0) with an address), an IPv4 or
    IPv6 address set by hand (prefix origin Manual, Windows 8 / 2012 and later) or static DNS servers (C(NameServer))
    unless O(allow_static_ip_reset=true); after the reboot they could turn into DHCP and WinRM could be cut off.
    Interface keys of network cards that are no longer present are left out.
  - netsh is judged by its exit code only; its output is localized and never read. A failed Winsock reset fails the task
    and records nothing. The token and the catalog's fingerprint are recorded before the TCP/IP reset, whose exit code 1
    (Windows 10/11, after resetting most settings, on an NSI key it may not reset) is a partial reset, said in the
    warnings and not repeated by the next run.
  - A reset cannot be undone by M(m365ops.activation.win_restore); its record in RV(backup) is informational.
options:
  winsock:
    description: Reset the Winsock catalog (C(netsh winsock reset)).
    type: bool
    default: true
  ip:
    description: Also reset TCP/IP (C(netsh int ip reset)).
    type: bool
    default: false
  force_token:
    description:
      - Reset even without evidence, once per distinct value, for example a change or incident number.
      - At most 128 characters.
    type: str
  allow_static_ip_reset:
    description: Allow C(netsh int ip reset) on a host with a static address or static DNS servers.
    type: bool
    default: false
  reset_third_party:
    description: Count providers outside the system directory that break nothing as evidence too; the reset removes them.
    type: bool
    default: false
  timeout:
    description: Seconds each netsh run may take (10 to 3600).
    type: int
    default: 300
extends_documentation_fragment:
  - m365ops.activation.concern
author:
  - m365ops maintainers (@m365ops)
"""

EXAMPLES = r"""
- name: Reset Winsock where the catalog is damaged (a layered service provider left behind)
  m365ops.activation.win_winsock_reset:
  register: winsock

- name: Restart where a reset ran
  ansible.windows.win_reboot:
  when: winsock.reboot_required

- name: Reset Winsock and TCP/IP once for this incident, everywhere, static addresses included
  m365ops.activation.win_winsock_reset:
    ip: true
    force_token: INC0042137
    allow_static_ip_reset: true
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
    - Records of what was done; resets appear as C(kind=action) with their exit code and cannot be restored.
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
  description: The resets (C(run)) and the token record the task made (or, in check mode, would make), with the reason.
  returned: always
  type: list
  elements: dict
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
reboot_owed_by:
  description:
    - Concerns whose earlier changes still wait for a restart of this host (remembered on the host under
      C(HKLM\\SOFTWARE\\m365ops\\activation\\RebootRequired) with the boot time, until the host has restarted).
  returned: always
  type: list
  elements: str
reboot_required:
  description: True when a reset ran, in this task or an earlier one, and the host has not restarted since. The module never reboots.
  returned: always
  type: bool
status:
  description:
    - C(compliant), C(remediated), C(drift), C(blocked) or C(failed), as the collection's compliance report explains each;
      C(busy) when the host restarted, or another run of the collection changed it, after this task read it (nothing was
      changed; run again); C(unknown) when the changes went out and their answer never came back (see RV(journal)).
  returned: always
  type: str
winsock:
  description: What the module found.
  returned: always
  type: dict
  contains:
    damage:
      description: What says the catalog is broken (layered protocols, a protocol catalog without its base provider).
      type: list
      elements: str
    third_party_providers:
      description:
        - Catalog entries outside the system directory that break nothing (C(catalog), C(entry), C(path), C(chain_length),
          C(system)); left in place unless O(reset_third_party=true).
      type: list
      elements: dict
    catalog_hash:
      description: Fingerprint of the catalog; a reset records it so the same catalog is never reset twice.
      type: str
    static_interfaces:
      description: Adapters with a static address or static DNS servers (C(interface), C(addresses), C(dns_servers)).
      type: list
      elements: dict
    tokens:
      description: Tokens recorded on the host before this task.
      type: list
      elements: str
    reset_because:
      description: C(damage), C(token), or null when nothing warranted a reset.
      type: str
"""
