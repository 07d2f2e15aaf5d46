# -*- coding: utf-8 -*-
# Copyright: m365ops.activation contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
---
module: win_office_credentials
short_description: Remove Office's cached credentials from every signed-in user's Credential Manager
version_added: 0.3.0
description:
  - The "remove Office credentials" step of the Microsoft article on activation errors 0xCAA70007 and 0xCAA80000, for
    every user signed in interactively, without their passwords.
  - Credential Manager belongs to each user's logon session, which a WinRM logon cannot see. The agent runs, in each
    interactive session, a short-lived scheduled task with that user's interactive token (Task Scheduler COM API, as
    Windows 7 has it), waits for it at most O(timeout_seconds), reads its answer and removes the task and its files.
  - Entries whose target matches O(patterns) are removed with CredDelete; nothing else is touched. Check mode lists,
    per user, exactly the targets a real run removes. The secrets themselves are never read, so no result, log or
    backup record can carry one; the backup record names what was removed (a secret cannot be put back).
  - A host with nobody signed in reports C(no user session) as a blocker, never success.
  - Users who are not signed in are not reached; their Office sign-in is cleared the next time this runs while they are.
options:
  patterns:
    description:
      - Shell-style patterns (C(*), C(?)), case-insensitive, matched against the whole target name.
      - The default covers the article's C(MicrosoftOffice16) family (and Office 2013's C(MicrosoftOffice15)); Microsoft
        does not document every prefix, so the matches are named in the result.
      - A pattern that matches every target is refused, and so is one that does not name C(MicrosoftOffice) before its first
        wildcard (such as C(*:*) or C(*a*), which select git, Remote Desktop and Microsoft account credentials) unless
        O(other_targets=true).
      - Removed credentials cannot be put back (their secrets are never read); RV(backup) names each one's target,
        type, user name and persistence so a person can re-create it, and a warning says so.
    type: list
    elements: str
    default: ["MicrosoftOffice16_Data:*", "MicrosoftOffice15_Data:*"]
  other_targets:
    description:
      - Allow O(patterns) that may select credentials other than Office's (not beginning with C(MicrosoftOffice)).
    type: bool
    default: false
  timeout_seconds:
    description: How long to wait for the task in each session (5 to 600).
    type: int
    default: 60
  work_accounts:
    description:
      - V(report) reads, in the same task, the Entra ID join Windows reports to each user (NetGetAadJoinInformation,
        Windows 10 and later). A work or school account the user added under Settings > Accounts > Access work or
        school (Workplace Join), which is not how Windows is signed in, is named in a warning and in
        C(office_credentials.users[].work_account), since Office may sign in and activate with it.
      - The account is never removed here; Windows documents no interface for that but the Settings page. Only the
        default account Windows reports is seen (a device joined to Entra ID hides accounts a user added beside it).
      - V(ignore) reads nothing of it.
    type: str
    choices: [report, ignore]
    default: report
extends_documentation_fragment:
  - m365ops.activation.concern
  - m365ops.activation.user_sessions
seealso:
  - module: m365ops.activation.win_agent
author:
  - m365ops maintainers (@m365ops)
"""

EXAMPLES = r"""
- name: Also a site's own Office add-in credentials, which do not begin with MicrosoftOffice (checked in check mode first)
  m365ops.activation.win_office_credentials:
    patterns: ["MicrosoftOffice16_Data:*", "ContosoOfficeAddin:*"]
    other_targets: true
  check_mode: true

- name: Office credentials of one named user, logged on through runas (the user need not be signed in)
  m365ops.activation.win_office_credentials:
    users: become
  become: true
  become_method: ansible.builtin.runas
  become_user: CORP\alice

- name: Office credentials out of every signed-in user's Credential Manager
  m365ops.activation.win_office_credentials:

- name: See first what would go
  m365ops.activation.win_office_credentials:
  check_mode: true
  register: office_credentials

- name: Name it
  ansible.builtin.debug:
    msg: "{{ office_credentials.changes | map(attribute='remove') | list }}"

- name: Name the work or school accounts users added beside their Windows sign-in (Workplace Join)
  ansible.builtin.debug:
    msg: "{{ office_credentials.office_credentials.users | selectattr('work_account') | map(attribute='work_account') | list }}"

- name: Credentials only, without reading the users' work accounts
  m365ops.activation.win_office_credentials:
    work_accounts: ignore
"""

RETURN = r"""
agent_executions:
  description:
    - How many times the agent ran on the host for this task - one to read, one more when something is changed, and one
      more where a read depends on what the first one found or an earlier run was interrupted.
  returned: always
  type: int
backup:
  description: What was removed, per user (targets only; a secret is never read and cannot be put back).
  returned: changed and not check mode
  type: list
  elements: dict
backup_file:
  description: Path of the backup record written on the controller.
  returned: when O(backup_dir) is set and something changed
  type: str
blockers:
  description: C(no user session) when nobody is signed in interactively.
  returned: always
  type: list
  elements: str
changes:
  description: Per user, C(user), C(sid), C(remove) (the targets removed, or in check mode to be removed) and C(reason).
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
office_credentials:
  description: What the module found.
  returned: always
  type: dict
  contains:
    users:
      description:
        - Per signed-in user C(user), C(sid), C(read), C(office_credentials) (the matching targets found) and
          C(other_credentials) (how many other entries were left alone).
        - With O(work_accounts=report), C(work_account) too, null when Windows reports none (or is older than Windows 10),
          else C(join_type) (C(device) or C(workplace)), C(tenant_name), C(tenant_id), C(idp_domain), C(user_email) and
          C(join_user_email), with C(checked), which is C(default join only) since Windows reports one join per user, and on a joined
          device, C(not_seen) (work or school accounts the user added are not reported there).
      type: list
      elements: dict
    patterns:
      description: O(patterns).
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
  description: False; removing a credential needs no restart.
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
