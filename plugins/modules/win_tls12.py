# -*- coding: utf-8 -*-
# Copyright: m365ops.activation contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
---
module: win_tls12
short_description: Make TLS 1.2 available to Microsoft 365 activation on Windows
version_added: 0.1.0
description:
  - Fixes the "Windows 8.1 and earlier" step of the Microsoft article on activation errors 0xCAA70007 and 0xCAA80000
    (the Easy Fix and the Internet Options "Use TLS 1.2" checkbox), on any supported Windows release.
  - "On Windows 8.1 / Server 2012 R2 and later TLS 1.2 is on by default: the module only repairs values that turn it off
    (SCHANNEL C(Enabled=0) or C(DisabledByDefault=1), a C(DefaultSecureProtocols) or C(SecureProtocols) bitmap without
    the TLS 1.2 bit C(0x800)). Values that are absent stay absent."
  - "On Windows 7 SP1 / Server 2008 R2 SP1 / Server 2012 it writes the enabling values: SCHANNEL TLS 1.2 client
    C(Enabled=1) and C(DisabledByDefault=0) on Windows 7 / 2008 R2 only (SCHANNEL offers TLS 1.2 from Windows 8 / 2012),
    and C(DefaultSecureProtocols) in both registry views. An absent WinHTTP bitmap becomes C(0x880) (TLS 1.0 as the
    release already used, plus TLS 1.2; SSL 3.0 off), an absent WinINet one C(0xA80) as the Easy Fix writes (IE11 has
    TLS 1.1 on); an existing one gets the C(0x800) bit added and keeps its other bits."
  - It never turns on SSL 2.0/3.0 and never re-enables TLS 1.0/1.1 that were turned off.
  - "WinHTTP honours C(DefaultSecureProtocols) on Windows 7 SP1 / 2008 R2 SP1 / 2012 only when update KB3140245 is
    installed. When it is missing the host is C(blocked) (the values are still written), or the module fails before
    changing anything with O(require_kb3140245=true)."
  - "What proves the update is C(winhttp.dll) (in C(System32) and C(SysWOW64)), not the hotfix list: a language pack
    installed after the update replaces the file while the list still shows the update, and a later rollup can carry
    the file without listing it. With O(kb3140245_file_versions) both copies decide; without it the hotfix list
    decides and the result says so (C(tls12.kb3140245_evidence)), with a warning on hosts with more than one display
    language."
  - Windows Vista / Server 2008 and Windows 7 without Service Pack 1 fail with a message that names the prerequisite.
options:
  server:
    description:
      - Also repair the SCHANNEL TLS 1.2 C(Server) key. Office needs only the client side.
    type: bool
    default: false
  winhttp:
    description:
      - Manage WinHTTP C(DefaultSecureProtocols) under C(HKLM\SOFTWARE\Microsoft\Windows\CurrentVersion\Internet Settings\WinHttp),
        in the 64-bit and, on 64-bit Windows, the 32-bit (Wow6432Node) registry view.
    type: bool
    default: true
  wininet:
    description:
      - Manage the machine-wide WinINet C(SecureProtocols) value (the Internet Options "Use TLS 1.2" checkbox).
      - Also reports a Group Policy C(SecureProtocols) that leaves TLS 1.2 out; policy values are never changed.
    type: bool
    default: true
  wininet_users:
    description:
      - The checkbox is per user. Each user signed in interactively has their own C(SecureProtocols)
        in their hive, read through C(HKEY_USERS) (no logon or password of theirs is needed).
      - V(report) says which users' value leaves TLS 1.2 out (drift); V(set) adds the TLS 1.2 bit to those values (each
        change is a backup record, and restore puts it back); V(ignore) reads nothing of the users.
      - A user who never set the box has no value of their own; the machine-wide value or Windows' default applies,
        and it is never reported as that user's. A user policy value without TLS 1.2 is a blocker.
      - Users who are not signed in are read only with O(wininet_signed_out=true).
    type: str
    choices: [report, set, ignore]
    default: report
  wininet_signed_out:
    description:
      - With O(wininet_users=report) or O(wininet_users=set), also the users who are not signed in. Each such profile's
        hive is loaded under C(HKEY_USERS) for the read (in check mode too) and unloaded again in the same execution, and
        with V(set) loaded again around the change. This takes one more read-only agent execution per host.
      - A profile Windows still lists whose C(NTUSER.DAT) is gone is never loaded; it is named in
        C(profiles_without_hive). A hive that cannot be loaded fails the task.
      - The account this run connects as and accounts services log on as are not signed-out users (their own logons
        hold their hives) and are left alone, named in C(profiles_left_out); so is any loaded hive while a signed-in
        user cannot be identified.
    type: bool
    default: false
  dotnet:
    description:
      - Set C(SchUseStrongCrypto=1) and C(SystemDefaultTlsVersions=1) for .NET Framework 2.0/3.5 and 4.x, in both
        registry views, for each framework that is installed. Office does not need this; .NET applications do.
    type: bool
    default: false
  require_kb3140245:
    description:
      - Fail, before changing anything, on Windows 7 SP1 / 2008 R2 SP1 / 2012 when update KB3140245 is not installed.
    type: bool
    default: false
  kb3140245_file_versions:
    description:
      - The C(winhttp.dll) file version that carries KB3140245, per release it applies to (C(6.1) for Windows 7 SP1 /
        2008 R2 SP1, C(6.2) for Server 2012), as the KB's file information table lists it for your update channel,
        for example C(6.1) mapped to C(6.1.7601.NNNNN). Both copies of the file (C(System32), C(SysWOW64)) must be that
        version or later.
      - The collection ships no numbers of its own; copy them from the KB article.
      - Empty (the default) or a release not listed, the hotfix list decides for that release.
    type: dict
    default: {}
extends_documentation_fragment:
  - m365ops.activation.concern
seealso:
  - module: m365ops.activation.win_agent
author:
  - m365ops maintainers (@m365ops)
"""

EXAMPLES = r"""
- name: Make TLS 1.2 available to Office activation
  m365ops.activation.win_tls12:
  register: tls12

- name: Reboot when SCHANNEL or WinHTTP values changed
  ansible.windows.win_reboot:
  when: tls12.reboot_required

- name: Audit only (no changes), showing before/after per value
  m365ops.activation.win_tls12:
  check_mode: true
  diff: true

- name: Also tick "Use TLS 1.2" for every signed-in user whose own Internet Options leave it out
  m365ops.activation.win_tls12:
    wininet_users: set
    backup_dir: "{{ playbook_dir }}/backups"

- name: The same for the users who are not signed in too (each hive loaded around the change, unloaded after)
  m365ops.activation.win_tls12:
    wininet_users: set
    wininet_signed_out: true
    backup_dir: "{{ playbook_dir }}/backups"

- name: Also .NET and the SCHANNEL server side, refuse Windows 7 hosts without KB3140245, keep backups
  m365ops.activation.win_tls12:
    server: true
    dotnet: true
    require_kb3140245: true
    backup_dir: "{{ playbook_dir }}/backups"
"""

RETURN = r"""
agent_executions:
  description:
    - How many times the agent ran on the host for this task - one to read, one more when something is changed, and one
      more where a read depends on what the first one found or an earlier run was interrupted.
  returned: always
  type: int
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
check_mode:
  description: Whether the task ran in check mode (the reported changes were predicted, not made).
  returned: always
  type: bool
diff:
  description: What the task changed (or, in check mode, would change), as C(before) and C(after) text.
  returned: with C(--diff), when something changed or would change
  type: dict
drift:
  description: What differs from what the article needs and was left in place with the options given, with the evidence.
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
reboot_owed_by:
  description:
    - Concerns whose earlier changes still wait for a restart of this host (remembered on the host under
      C(HKLM\\SOFTWARE\\m365ops\\activation\\RebootRequired) with the boot time, until the host has restarted).
  returned: always
  type: list
  elements: str
reboot_required:
  description: Whether Windows must restart before a value this task or an earlier one changed takes effect (see RV(reboot_owed_by)). The module never reboots.
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
