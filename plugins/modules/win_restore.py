# -*- coding: utf-8 -*-
# Copyright: m365ops.activation contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
---
module: win_restore
short_description: Put back the registry values that m365ops.activation modules changed
version_added: 0.1.0
description:
  - Reads the backup records that the collection's modules write with their C(backup_dir) option and puts back what
    each recorded change found, three-way, newest run first. Where the host still holds what a run wrote, that run is
    undone and the run before it is looked at; where it holds what the run found, the run is already undone. A value
    whose host value is neither what the newest run wrote nor what it found was changed by someone since (a conflict),
    named under C(restore.conflicts) and as drift, and left as it is unless O(on_conflict=restore). A value that did
    not exist before is removed again.
  - Keys that a recorded change had to create are removed once no value is left anywhere below them.
  - A value in the hive of a user who is not signed in (a per-user change made with C(signed_out) or
    C(wininet_signed_out)) is put back through that hive, loaded under C(HKEY_USERS) for the read and around the change
    and unloaded again in the same execution (one more read-only agent execution). Values of a user whose profile is
    gone from the host are not restored, and a warning names the SID.
  - So remediate, restore, a person's own change, remediate and restore again brings back the person's value, not the
    one from before the first run. Records written by this module itself are not changes to undo, and a second restore
    changes nothing.
  - A host with no records for the selected concerns is C(nothing_to_restore), never compliant.
  - Records are restored only when signed with the controller's backup key for this host (O(trust_unsigned)), and only
    when the forward rules allow them (values some concern of the collection manages, of the types and lengths it
    writes; no record stops or disables what Windows and the management connection need).
  - The records come from the controller's backup files or from the host's own journal (O(source)). Files are read
    before the host is contacted, and a missing or malformed record fails the task without touching the host; the
    host's journal is read in the probe and its records checked by the same rules before anything is planned (one more
    read-only agent execution reads what they name).
options:
  backups:
    description:
      - A backup directory (the C(backup_dir) the modules wrote to; the records of the host are read from
        C(<backups>/<inventory_hostname>/*.json)), or one backup record file.
      - Required with O(source=controller); not taken with O(source=host).
    type: path
  source:
    description:
      - Where the records come from.
      - V(controller) reads the files under O(backups); a directory with no records for the host restores nothing.
      - V(host) reads the host's own journal, C(HKLM\\SOFTWARE\\m365ops\\activation\\History) (and any entry still under
        C(Journal) of a batch whose answer never came back), which every apply batch writes whether or not a
        C(backup_dir) was given. Use it when the controller's files are gone, as after an AWX job whose container
        was removed. The host keeps the records of its newest 50 runs that changed something; the files are never pruned.
      - V(auto) reads the files when O(backups) holds records of the host, and otherwise the host's journal, saying so in
        a warning. A O(backups) path that does not exist is an error, not a reason to fall back.
    type: str
    choices: [auto, controller, host]
    default: auto
  modules:
    description:
      - Only restore records written by these modules, for example C(m365ops.activation.win_tls12). Default is all.
    type: list
    elements: str
  on_conflict:
    description:
      - V(keep) leaves a value someone changed since the newest recorded run as it is, and names it.
      - V(restore) puts back what that run found anyway.
    type: str
    choices: [keep, restore]
    default: keep
  run:
    description:
      - Undo only this run (its C(run_id), or the name of its backup file), three-way as well. Default is every recorded run.
    type: str
  trust_unsigned:
    description:
      - Every record the collection writes carries an HMAC-SHA256 signature made with the controller's backup key for
        its host (the variable C(m365ops_backup_key), or the key file named by C(m365ops_backup_key_file), the
        environment variable C(M365OPS_BACKUP_KEY_FILE), or C(~/.ansible/m365ops/backup.key), created owner-only on
        first use). A record that is not signed, was edited, belongs to another host or was signed with another key is
        refused, naming the file or journal entry and the record, and nothing is restored.
      - V(true) accepts records that carry no signature at all (written by a version of the collection before records
        were signed); they still pass every other check. A record whose signature does not verify is refused either way.
    type: bool
    default: false
extends_documentation_fragment:
  - m365ops.activation.concern
seealso:
  - module: m365ops.activation.win_tls12
  - module: m365ops.activation.win_ncsi
author:
  - m365ops maintainers (@m365ops)
"""

EXAMPLES = r"""
- name: Undo everything the remediation changed on these hosts
  m365ops.activation.win_restore:
    backups: "{{ playbook_dir }}/backups"

- name: Undo only the TLS changes, showing each value
  m365ops.activation.win_restore:
    backups: "{{ playbook_dir }}/backups"
    modules:
      - m365ops.activation.win_tls12
  diff: true

- name: Undo what an AWX job changed, from the host's own journal (the job's backup files went with its container)
  m365ops.activation.win_restore:
    source: host

- name: Undo one run only, and put back even the values someone changed since (named as conflicts otherwise)
  m365ops.activation.win_restore:
    backups: "{{ playbook_dir }}/backups"
    run: 20261204T070000Z-1a2b3c4d
    on_conflict: restore
"""

RETURN = r"""
status:
  description:
    - C(remediated) (put back), C(drift) (a conflict left alone, or check mode), C(compliant) (nothing left to restore),
      C(nothing_to_restore) (no record of this host), C(busy), C(unknown), C(blocked) or C(failed); the collection's
      compliance report explains each.
  returned: always
  type: str
drift:
  description: What differs from what the article needs and was left in place with the options given, with the evidence.
  returned: always
  type: list
  elements: str
reboot_owed_by:
  description:
    - Concerns whose earlier changes still wait for a restart of this host (remembered on the host under
      C(HKLM\\SOFTWARE\\m365ops\\activation\\RebootRequired) with the boot time, until the host has restarted).
  returned: always
  type: list
  elements: str
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
  description: Conditions that keep the host non-compliant and that this module cannot fix. Also raised as warnings.
  returned: always
  type: list
  elements: str
check_mode:
  description: Whether the task ran in check mode (the reported changes were predicted, not made).
  returned: always
  type: bool
reboot_required:
  description:
    - Whether a restored value was one whose change needed a restart (SCHANNEL, WinHTTP), in this task or an earlier
      restore the host has not restarted since. The module never reboots.
  returned: always
  type: bool
agent_executions:
  description:
    - How many times the agent ran on the host for this task (1 when compliant, 2 when changed; one more with records
      from the host's journal, or with values in the hives of users who are not signed in).
  returned: always
  type: int
restore:
  description: What was read.
  returned: always
  type: dict
  contains:
    source:
      description: Where the records came from, C(controller) (files) or C(host) (the host's journal).
      type: str
    documents:
      description:
        - The backup record files used, oldest first; with records from the host, the journal entries
          (C(HKLM\\SOFTWARE\\m365ops\\activation\\History\\<run id>)).
      type: list
      elements: str
    values:
      description: How many distinct registry values the records cover.
      type: int
    conflicts:
      description:
        - Per value the host holds neither as the newest run wrote it nor as it found it, the C(target), the C(run), the
          C(current) value, what the run C(written) and C(found), and whether it was C(restored) (O(on_conflict=restore)).
      type: list
      elements: dict
"""
