# -*- coding: utf-8 -*-
# Copyright: m365ops.activation contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
---
module: win_office_update
short_description: Bring Microsoft 365 Apps (Click-to-Run) to a minimum version, and wait until it is there
version_added: 0.3.0
description:
  - The "Update Office" step of the Microsoft article on activation errors 0xCAA70007 and 0xCAA80000 (File > Account >
    Update Options > Update Now), for a fleet.
  - Reads the installed version from Click-to-Run (C(VersionToReport) under
    C(HKLM\SOFTWARE\Microsoft\Office\ClickToRun\Configuration)). At or above O(minimum_version) nothing runs.
  - Below it, runs C(OfficeC2RClient.exe /update user updatepromptuser=false forceappshutdown=... displaylevel=false)
    (the switches in common use; Microsoft documents no list). The client returns before the update is done, so the same
    agent execution then reads C(VersionToReport) every 10 seconds until it changes, for at most O(timeout_seconds), and
    the version read decides. An update that does not reach the minimum in time fails, saying what version was reached.
  - A host without Click-to-Run (an MSI Office, or no Office) fails clearly; nothing is run there.
  - Office open in a user session makes the update wait, so it is a blocker unless O(close_apps=true) lets the updater
    close the apps (unsaved work in them is lost).
  - The update channel is reported (a Group Policy C(UpdatePath) or C(UpdateBranch) wins over what Click-to-Run
    recorded); changing it is not done here.
options:
  minimum_version:
    description: The lowest acceptable version, such as C(16.0.17928.20156).
    type: str
    required: true
  close_apps:
    description: Let the updater close open Office applications (C(forceappshutdown=true)). Unsaved work in them is lost.
    type: bool
    default: false
  timeout_seconds:
    description: How long to wait for the new version after starting the update (60 to 14400).
    type: int
    default: 1800
extends_documentation_fragment:
  - m365ops.activation.concern
seealso:
  - module: m365ops.activation.win_activation_facts
author:
  - m365ops maintainers (@m365ops)
"""

EXAMPLES = r"""
- name: Microsoft 365 Apps at least at a build that activates, closing Office where it is open
  m365ops.activation.win_office_update:
    minimum_version: 16.0.17928.20156
    close_apps: true
    timeout_seconds: 3600
"""

RETURN = r"""
agent_executions:
  description:
    - How many times the agent ran on the host for this task - one to read, one more when something is changed, and one
      more where a read depends on what the first one found or an earlier run was interrupted.
  returned: always
  type: int
backup:
  description: The update run, recorded as an action (an update is not undone by restore). Returned when it ran.
  returned: changed and not check mode
  type: list
  elements: dict
backup_file:
  description: Path of the backup record written on the controller.
  returned: when O(backup_dir) is set and something changed
  type: str
blockers:
  description: Conditions that keep the host below the minimum and that this module does not override (Office open).
  returned: always
  type: list
  elements: str
changes:
  description: The update run (or, in check mode, the run that would start), with the reason.
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
office_update:
  description: What the module found.
  returned: always
  type: dict
  contains:
    installed:
      description: Whether Microsoft 365 Apps is installed as Click-to-Run.
      type: bool
    version:
      description: C(VersionToReport) before the task.
      type: str
    minimum_version:
      description: O(minimum_version).
      type: str
    channel:
      description: The update channel (C(Current), C(Monthly Enterprise), ...), or null for one this collection does not know.
      type: str
    open_apps:
      description: Office applications open, with their session, when the version was below the minimum.
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
  description: False; an update does not need a restart of Windows.
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
