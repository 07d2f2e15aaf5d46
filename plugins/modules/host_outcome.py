# -*- coding: utf-8 -*-
# Copyright: m365ops.activation contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
---
module: host_outcome
short_description: End a host's run as failed or as unreachable, as the report saw it
version_added: 0.4.0
description:
  - Ends the host's run with O(outcome) and O(msg), decided on the controller from the run's report, without contacting
    the host.
  - V(unreachable) makes the play recap, and AWX, count a host the run could not reach as unreachable, where
    M(ansible.builtin.fail) would count it failed. The fleet role ends each host that C(m365ops_fail_on) names this way,
    after the report is written.
options:
  outcome:
    description: How the host's run ends.
    type: str
    required: true
    choices: [failed, unreachable]
  msg:
    description: Why, said once for the host.
    type: str
    required: true
author:
  - m365ops maintainers (@m365ops)
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
  diff_mode:
    support: none
  platform:
    support: full
    platforms: all
"""

EXAMPLES = r"""
- name: End the hosts the run could not reach as unreachable, the others the report fails as failed
  m365ops.activation.host_outcome:
    outcome: "{{ 'unreachable' if entry.status == 'unreachable' else 'failed' }}"
    msg: "{{ entry.message | default(entry.headline) }}"
  vars:
    entry: "{{ report.hosts[inventory_hostname] }}"
  when: entry.status in ['failed', 'unreachable']
"""

RETURN = r"""
msg:
  description: O(msg).
  returned: always
  type: str
"""
