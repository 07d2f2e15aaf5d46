# -*- coding: utf-8 -*-
# Copyright: m365ops.activation contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
---
module: win_ipv6
short_description: Turn IPv6 off or on per adapter, for the article's activation retry
version_added: 0.1.0
description:
  - The article's step "uncheck Internet Protocol Version 6 on the network adapter, retry activation, then check it
    again". The C(ipv6) role runs the whole sequence and turns IPv6 back on in an C(always) section.
  - "O(method=binding) (Windows 8 / Server 2012 and later): the adapter's C(ms_tcpip6) binding, per adapter, no restart."
  - "O(method=registry) (any release): C(HKLM\\SYSTEM\\CurrentControlSet\\Services\\Tcpip6\\Parameters\\DisabledComponents)
    C(0xFF) for off, for every adapter at once, restart needed; never C(0xFFFFFFFF) (KB929852). On again removes the
    value C(0xFF), or clears only the interface bits C(0x01) and C(0x10) of any other value, keeping a site's prefer-IPv4
    (C(0x20)) and tunnel (C(0x02), C(0x04), C(0x08)) choices. O(immediate=true) refuses this method, which acts only at boot."
  - O(method=auto) picks the binding where the NetAdapter module exists and the registry elsewhere.
  - Turning IPv6 off on the adapter that carries the WinRM management connection (found from the local addresses of
    established connections on ports 5985/5986) is refused unless O(allow_management_adapter=true); with the registry
    method, which reaches every adapter, whenever such an adapter exists or cannot be told.
options:
  state:
    description: C(disabled) to turn IPv6 off, C(enabled) to turn it on again.
    type: str
    required: true
    choices: [enabled, disabled]
  adapters:
    description: Adapter names (as in Network Connections), or C(*) for every adapter. The registry method needs C(*).
    type: list
    elements: str
    default: ["*"]
  method:
    description: C(binding), C(registry), or C(auto) (binding where supported).
    type: str
    choices: [auto, binding, registry]
    default: auto
  allow_management_adapter:
    description: Allow turning IPv6 off on the adapter that carries (or may carry) the management connection.
    type: bool
    default: false
  immediate:
    description:
      - Refuse a method that takes effect only after a restart (C(DisabledComponents), used where the NetAdapter module is
        missing, as on Windows 7 / 2008 R2). The C(ipv6) role sets it, since its activation retry follows at once.
    type: bool
    default: false
extends_documentation_fragment:
  - m365ops.activation.concern
author:
  - m365ops maintainers (@m365ops)
"""

EXAMPLES = r"""
- name: IPv6 off on the Wi-Fi adapter only
  m365ops.activation.win_ipv6:
    state: disabled
    adapters: [Wi-Fi]

- name: IPv6 on again everywhere
  m365ops.activation.win_ipv6:
    state: enabled
"""

RETURN = r"""
agent_executions:
  description:
    - How many times the agent ran on the host for this task - one to read, one more when something is changed, and one
      more where a read depends on what the first one found or an earlier run was interrupted.
  returned: always
  type: int
backup:
  description: Records of what was changed (C(kind) C(adapter_binding) or C(registry)).
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
  description: Each binding or registry value the task changed (or, in check mode, would change), with the reason.
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
  description:
    - True when C(DisabledComponents) changed (registry method) in this task or an earlier one and the host has not
      restarted since; binding changes need no restart.
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
