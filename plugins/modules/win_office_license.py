# -*- coding: utf-8 -*-
# Copyright: m365ops.activation contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
---
module: win_office_license
short_description: Reset Microsoft 365 Apps activation state for every signed-in user
version_added: 0.3.0
description:
  - The "Reset Microsoft 365 Apps for enterprise activation state" step the Microsoft article on activation errors
    0xCAA70007 and 0xCAA80000 links to, done by hand the way Microsoft's OLicenseCleanup does it, for every user signed
    in interactively, without their passwords.
  - Per user, the license caches under their C(%LOCALAPPDATA%) (vNext C(Microsoft\Office\Licenses), and
    C(Microsoft\Office\16.0\Licensing) where shared computer activation keeps its tokens) are moved to a dated folder
    C(Microsoft\Office\m365ops-license-backup-<UTC time>) beside them, or removed with O(files=delete). The files are
    named in the result. This runs in the user's own session through a short-lived scheduled task with the user's
    interactive token, where C(%LOCALAPPDATA%) is theirs.
  - Where shared computer activation keeps its tokens elsewhere (C(SCLCacheOverride) 1 with
    C(SCLCacheOverrideDirectory), from Group Policy, the machine's Licensing key or the Click-to-Run configuration), that
    folder is a cache too. Its path is expanded in each user's session (C(\\server\share\%username%)) and read in one
    more read-only agent execution; it is moved to a dated folder beside it, on the same share.
  - The result says what the reset does not clear (C(not_cleared)). Where Windows reports an Entra ID join to a user
    (the device's join, or a work account the user added), a warning says that Office signs in through Web Account
    Manager, whose accounts stay signed in, and names Microsoft's C(signoutofwamaccounts.ps1).
  - Per user, C(HKCU\Software\Microsoft\Office\16.0\Common\Licensing) and C(\Identity) are emptied through
    C(HKEY_USERS); every value goes into the backup records, and C(playbooks/restore.yml) puts them back.
  - The Office credentials are M(m365ops.activation.win_office_credentials)' step; the C(office_license) role runs both.
  - Office open in a user's session blocks that user (Office would write the state again). Nothing left to remove is
    compliant; a host with nobody signed in is C(no user session). Shared computer activation is reported.
  - Users who are not signed in are left alone unless O(signed_out=true).
options:
  files:
    description: Move the license caches to the dated folder (V(move)), or remove them (V(delete)).
    type: str
    choices: [move, delete]
    default: move
  timeout_seconds:
    description: How long to wait for the task in each user's session (5 to 600).
    type: int
    default: 60
  signed_out:
    description:
      - Also reset users who are not signed in, that is every user profile Windows lists but the signed-in users',
        the account this run connects as, and accounts services log on as (those are named in C(profiles_left_out)).
        While a signed-in user cannot be identified, a loaded hive is left out too. A hive not loaded is loaded under
        HKEY_USERS for the reads (also in check mode) and for the changes, and unloaded again each time; a hive a
        lingering process of the user still holds is used as it is. Their cache folders are moved as the
        administrator, by their path in the profile. This costs one more read-only agent execution.
      - A profile whose C(NTUSER.DAT) is gone is never loaded (reg.exe would create an empty one); it is named in
        C(profiles_without_hive). A hive that cannot be loaded fails the task.
      - m365ops.activation.win_restore loads such a user's hive again to put their values back.
    type: bool
    default: false
extends_documentation_fragment:
  - m365ops.activation.concern
  - m365ops.activation.user_sessions
seealso:
  - module: m365ops.activation.win_office_credentials
author:
  - m365ops maintainers (@m365ops)
"""

EXAMPLES = r"""
- name: Reset the activation state of every signed-in user, keeping the caches in a dated folder
  m365ops.activation.win_office_license:
    backup_dir: "{{ playbook_dir }}/backups"

- name: Also the users who are not signed in (each hive loaded for the reset and unloaded after)
  m365ops.activation.win_office_license:
    signed_out: true
    backup_dir: "{{ playbook_dir }}/backups"

- name: Put back the registry values of that reset, also those of users who are not signed in
  m365ops.activation.win_restore:
    backups: "{{ playbook_dir }}/backups"
    modules: [m365ops.activation.win_office_license]
"""

RETURN = r"""
agent_executions:
  description:
    - How many times the agent ran on the host for this task - one to read, one more when something is changed, and one
      more where a read depends on what the first one found or an earlier run was interrupted.
  returned: always
  type: int
backup:
  description: The values removed, each with its content (restore puts them back), and the folders moved or removed.
  returned: changed and not check mode
  type: list
  elements: dict
backup_file:
  description: Path of the backup record written on the controller.
  returned: when O(backup_dir) is set and something changed
  type: str
blockers:
  description: C(no user session), or a user whose Office is open.
  returned: always
  type: list
  elements: str
changes:
  description: Registry values and keys removed, and per user the cache folders moved or removed with their files.
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
  description: Always empty for this module; present so every concern module returns the same keys.
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
office_license:
  description: What the module found.
  returned: always
  type: dict
  contains:
    shared_computer_activation:
      description: Whether Microsoft 365 Apps uses shared computer activation here.
      type: bool
    users:
      description:
        - Per user reached C(user), C(sid), C(reset) (false where Office open blocked it), C(registry_values) (found),
          C(caches) (files per cache folder, null when absent) and C(wam) (C(device) or C(workplace) where Windows
          reports an Entra ID join to the user, else null).
        - A user who is not signed in is named by their profile folder (C(profile dave)).
      type: list
      elements: dict
    token_folder:
      description: The folder C(SCLCacheOverride) gives shared computer activation's tokens, as written, or null.
      type: str
    not_cleared:
      description:
        - What Microsoft's C(OLicenseCleanup.vbs) and C(signoutofwamaccounts.ps1) clear that this reset does not.
      type: list
      elements: str
    profiles_without_hive:
      description: With O(signed_out=true), profiles Windows lists whose C(NTUSER.DAT) is gone (by profile folder).
      type: list
      elements: str
    profiles_left_out:
      description: With O(signed_out=true), profiles that are not a signed-out user's to reset, each with why.
      type: list
      elements: str
reboot_owed_by:
  description:
    - Concerns whose earlier changes still wait for a restart of this host (remembered on the host under
      C(HKLM\\SOFTWARE\\m365ops\\activation\\RebootRequired) with the boot time, until the host has restarted).
  returned: always
  type: list
  elements: str
reboot_required:
  description: False; the reset needs no restart.
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
