# -*- coding: utf-8 -*-
# Copyright: m365ops.activation contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
---
module: controller_output
short_description: Check, and write, the report files and backup directory of a run of m365ops.activation
version_added: 0.4.0
description:
  - Resolves the report file and the backup directory against the current directory of the controller (as a shell
    would), and checks that both can be written, so a run finds a bad path before any host is contacted.
  - With O(report), writes the report atomically (a temporary file beside it, flushed to disk, then renamed) to a
    regular file. A directory, a device, a symbolic link or any other non-regular file at the path is refused, never
    replaced.
  - O(formats) adds, beside the JSON report, JUnit XML (one test suite per host, one test case per host and concern)
    and one self-contained HTML page (no network; counts, charts, the fleet's causes, every host with its evidence,
    changes, diff and backup record), named after the JSON file with its C(.json) replaced by C(.xml) and C(.html).
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
  formats:
    description:
      - The files to write. V(json) is the report itself and must be among them; V(junit) is O(report_file) with
        C(.json) replaced by C(.xml) (or C(.xml) added), V(html) the same with C(.html).
      - Every path is checked before any host is contacted, and every format is rendered before any file is written.
    type: list
    elements: str
    choices: [json, junit, html]
    default: [json]
  previous_report:
    description:
      - Controller path of an earlier compliance report a run compares itself with; checked before any host is
        contacted (a readable JSON file in the layout audit.yml and remediate.yml write). Empty for none.
    type: str
    default: ""
author:
  - m365ops maintainers (@m365ops)
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: none
    details: Controller files are written in check mode as well; no host is ever touched.
  diff_mode:
    support: none
  platform:
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

- name: Write the report, its JUnit XML and its HTML page
  m365ops.activation.controller_output:
    report_file: "{{ paths.report_file }}"
    formats: [json, junit, html]
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
files:
  description: The file of each format, as absolute paths (empty without O(report_file)).
  returned: always
  type: dict
  sample: {"json": "/srv/runs/audit.json", "junit": "/srv/runs/audit.xml", "html": "/srv/runs/audit.html"}
previous_report:
  description: O(previous_report) as an absolute path, or empty.
  returned: always
  type: str
written:
  description: Whether the report files were written.
  returned: always
  type: bool
"""
