# -*- coding: utf-8 -*-
# Copyright: m365ops.activation contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)


class ModuleDocFragment:
    """Options and return values every concern module of m365ops.activation shares."""

    DOCUMENTATION = r"""
options:
  backup_dir:
    description:
      - Directory on the controller where a backup record of every value this task overwrote,
        deleted or created is written, as C(<backup_dir>/<inventory_hostname>/<time>_<module>.json).
      - The same records are always returned as RV(backup); C(playbooks/restore.yml) reapplies them.
      - Nothing is written in check mode or when nothing changed.
    type: path
attributes:
  check_mode:
    support: full
    details: The probe runs; the result reports exactly the changes a real run would make.
  diff_mode:
    support: full
    details: Before and after of every changed registry value, in .reg notation.
  platform:
    platforms: windows
notes:
  - Decisions are made on the controller; the host runs the collection's agent
    (M(m365ops.activation.win_agent)) at most twice per task, once to read and once to change.
  - Tested against the collection's simulated Windows fleet only; it has not yet been run on a real Windows host.
"""

    RETURN = r"""
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
  description:
    - Conditions that keep the host non-compliant and that this module cannot fix, such as a missing Windows update
      or a Group Policy value. Also raised as warnings. The fleet report marks such hosts C(blocked).
  returned: always
  type: list
  elements: str
check_mode:
  description: Whether the task ran in check mode (the reported changes were predicted, not made).
  returned: always
  type: bool
reboot_required:
  description: Whether Windows must restart before a changed value takes effect. The module never reboots.
  returned: always
  type: bool
agent_executions:
  description: How many times the agent ran on the host for this task (1 when compliant, 2 when changed).
  returned: always
  type: int
"""
