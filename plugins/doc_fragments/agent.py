# -*- coding: utf-8 -*-
# Copyright: m365ops.activation contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)


class ModuleDocFragment:
    """The options, attributes and notes both entry points of the agent share (win_agent, win_agent_extended)."""

    DOCUMENTATION = r"""
options:
  ops:
    description:
      - The operations to execute, in order. Each is a mapping with an C(op) name and its arguments.
    type: list
    elements: dict
    required: true
  strict:
    description:
      - Fail the task when any op fails (the results are still returned). The collection's modules pass C(false) and
        judge each op's result themselves; a direct caller gets a failed task for a failed op.
    type: bool
    default: true
attributes:
  check_mode:
    description: Can run in check_mode and return changed status prediction without modifying target.
    support: full
    details: Write ops report what they would change and change nothing.
  diff_mode:
    description: Will return details on what has changed (or possibly needs changing in check_mode), when in diff mode.
    support: none
    details: The concern modules render diffs from the before values this module returns.
  platform:
    description: Target OS/families that can be operated against.
    support: full
    platforms: windows
notes:
  - Registry, CIM and Win32 APIs only; no localized command output is parsed.
  - This module has been exercised against the collection's simulated Windows fleet only, not yet
    against a real Windows host. See the collection's docs for the contract suite to run on one.
"""
