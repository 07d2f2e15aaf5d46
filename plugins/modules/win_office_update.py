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
status:
  description: C(compliant), C(remediated), C(drift), C(blocked) or C(failed); the collection's compliance report explains each.
  returned: always
  type: str
changes:
  description: The update run (or, in check mode, the run that would start), with the reason.
  returned: always
  type: list
  elements: dict
backup:
  description: The update run, recorded as an action (an update is not undone by restore). Returned when it ran.
  returned: changed and not check mode
  type: list
  elements: dict
backup_file:
  description: Path of the backup record written on the controller.
  returned: when O(backup_dir) is set and something changed
  type: str
drift:
  description: Always empty for this module; present so every concern module returns the same keys.
  returned: always
  type: list
  elements: str
reboot_owed_by:
  description: Concerns whose earlier changes still wait for a restart of this host.
  returned: always
  type: list
  elements: str
blockers:
  description: Conditions that keep the host below the minimum and that this module does not override (Office open).
  returned: always
  type: list
  elements: str
check_mode:
  description: Whether the task ran in check mode (nothing was run).
  returned: always
  type: bool
reboot_required:
  description: False; an update does not need a restart of Windows.
  returned: always
  type: bool
agent_executions:
  description: How many times the agent ran on the host for this task (1 when at the minimum, 2 when updated).
  returned: always
  type: int
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
"""
