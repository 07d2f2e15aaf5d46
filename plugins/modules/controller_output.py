# -*- coding: utf-8 -*-
# Copyright: m365ops.activation contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
---
module: controller_output
short_description: Check, and write, what a run of m365ops.activation leaves on the controller
version_added: 0.4.0
description:
  - Resolves the report file and the backup directory against the current directory of the controller (as a shell
    would), and checks that both can be written, so a run finds a bad path before any host is contacted.
  - With O(report), writes the report atomically (a temporary file beside it, flushed to disk, then renamed) to a
    regular file. A directory, a device, a symbolic link or any other non-regular file at the path is refused, never
    replaced.
  - Runs on the controller only (with C(delegate_to) localhost and C(run_once)). The file is written in check mode too,
    since it is the run's report, not a change of any host.
options:
  report_file:
    description: Controller path of the JSON report; empty for none.
    type: str
    default: ""
  backup_dir:
    description: Controller directory of the backup records; empty for none. Created (mode 0700) when missing.
    type: str
    default: ""
  report:
    description: The report to write to O(report_file), as JSON. Without it, the paths are only checked.
    type: raw
author:
  - m365ops maintainers (@m365ops)
attributes:
  check_mode:
    description: Can run in check_mode and return changed status prediction without modifying target.
    support: none
    details: Controller files are written in check mode as well; no host is ever touched.
  diff_mode:
    description: Will return details on what has changed (or possibly needs changing in check_mode), when in diff mode.
    support: none
  platform:
    description: Target OS/families that can be operated against.
    support: full
    platforms: posix
"""

EXAMPLES = r"""
- name: Check the report file and the backup directory before any host is contacted
  m365ops.activation.controller_output:
    report_file: audit.json
    backup_dir: backups
  run_once: true
  delegate_to: localhost
  register: paths

- name: Write the report
  m365ops.activation.controller_output:
    report_file: "{{ paths.report_file }}"
    report: "{{ report }}"
  run_once: true
  delegate_to: localhost
"""

RETURN = r"""
report_file:
  description: The report file as an absolute path, or empty.
  returned: always
  type: str
  sample: /srv/runs/audit.json
backup_dir:
  description: The backup directory as an absolute path, or empty.
  returned: always
  type: str
  sample: /srv/runs/backups
written:
  description: Whether the report was written.
  returned: always
  type: bool
"""
