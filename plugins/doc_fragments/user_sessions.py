# -*- coding: utf-8 -*-
# Copyright: m365ops.activation contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)


class ModuleDocFragment:
    """The option of the collection's per-user modules that says whose session they act in."""

    DOCUMENTATION = r"""
options:
  users:
    description:
      - V(signed_in) acts for every user signed in interactively, each in their own session (no password needed).
      - V(become) acts for the account the task runs as - the become user of C(become_method=runas), whose profile
        become loads - in the agent's own process; the signed-in users are not touched.
    type: str
    choices: [signed_in, become]
    default: signed_in
"""
