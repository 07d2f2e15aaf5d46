# -*- coding: utf-8 -*-
# Copyright: m365ops.activation contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
---
module: win_winhttp_proxy
short_description: Give WinHTTP the proxy Office sign-in and licensing need, never taking a configured one away
version_added: 0.1.0
description:
  - The "check whether you are behind a proxy" step of the Microsoft article on activation errors 0xCAA70007 and
    0xCAA80000, which runs C(netsh winhttp set proxy). Office's identity and licensing traffic goes through WinHTTP,
    which does not follow the browser's (WinINet) proxy; WinHTTP going direct while WinINet names a proxy is the
    classic cause of these errors at proxy sites.
  - "Default (no O(proxy), no O(direct)): a WinHTTP registry view that goes direct gets the static proxy WinINet names,
    when every WinINet source names the same one and it is not this machine. The sources are the machine's settings
    when the policy C(ProxySettingsPerUser) is 0, otherwise the settings of every user signed in interactively (or of
    O(wininet_user)), read through C(HKEY_USERS) from C(DefaultConnectionSettings) as C(netsh winhttp import proxy) does,
    never the connecting account's own. The proxy is imported only when it answers from the host, tested in one more
    read-only execution by a request to the sign-in endpoint through it (also in check mode); one that does not answer
    would turn a working direct route into a broken one. A PAC file, users who disagree, a proxy on this machine, a proxy
    that does not answer, or WinHTTP naming another proxy than WinINet are reported in RV(drift) with the evidence, and
    nothing is changed. A configured WinHTTP proxy is replaced by default only where it does not answer from the host
    while every other source (the other registry view, every WinINet source) agrees on one route, direct or a proxy,
    that carries a request to the sign-in endpoint; both are tested in that same extra read-only execution, and the
    evidence is in RV(winhttp.route_tests). O(dead_proxy=report) reports such a proxy instead. Otherwise a configured
    proxy is never removed or replaced by default."
  - "Explicit desired state: O(proxy) (C(host:port) or C(scheme=host:port;...), with O(bypass)) or O(direct=true)
    replaces what WinHTTP uses. A blank O(proxy) is an error, never direct access."
  - On 64-bit Windows the default proxy exists once per registry view; 32-bit Office reads the C(Wow6432Node) one.
    Both are read, compared and written - the 64-bit view through C(WinHttpSetDefaultProxyConfiguration), the 32-bit
    view through the 32-bit C(netsh) (C(%SystemRoot%\\SysWOW64\\netsh.exe), judged by its exit code) - and read back
    after writing; a read-back that differs from what was written fails the task.
  - Comparison is semantic; case, spacing, scheme order and bypass order do not cause a change.
  - "Validated before the host is contacted, whole strings only: host names (labels of letters, digits, C(-) and C(_),
    at most 63 characters each and 253 in all, not all digits), IPv4, C([IPv6]), ports 1 to 65535, schemes C(http),
    C(https), C(ftp), bypass entries. An C(http://) prefix is dropped; C(socks=) entries are refused (WinHTTP has no SOCKS
    support) and, when imported from WinINet, dropped with a warning."
options:
  proxy:
    description:
      - The proxy WinHTTP must use in every registry view, C(host:port) or C(scheme=host:port;...). Replaces what is there.
    type: str
  bypass:
    description: Hosts that bypass the proxy, for example C(<local>) and C(*.corp.example). Only with O(proxy).
    type: list
    elements: str
    default: []
  direct:
    description: Remove the WinHTTP proxy in every view (direct access), as C(netsh winhttp reset proxy) does.
    type: bool
    default: false
  source:
    description:
      - C(auto) - O(proxy) or O(direct) when given, else import from WinINet.
      - C(wininet) - import from WinINet, and fail when there are no WinINet settings to import (nobody signed in).
      - C(options) - require O(proxy) or O(direct=true).
    type: str
    choices: [auto, wininet, options]
    default: auto
  wininet_user:
    description:
      - Import from this signed-in user's WinINet settings only - C(DOMAIN\\user), C(user) or a SID. A user without an
        interactive session is an error (their profile hive is not loaded). Ignored when the machine-wide policy applies.
    type: str
  dead_proxy:
    description:
      - What the default does with a proxy a WinHTTP view names that does not answer from the host, where every other
        source agrees on one route that does (both tested first). V(replace) puts that route in; V(report) leaves the
        proxy and reports it as drift with the same evidence, for a site that would rather change a proxy by hand even
        then (a proxy down for maintenance looks the same as a retired one).
    type: str
    choices: [replace, report]
    default: replace
extends_documentation_fragment:
  - m365ops.activation.concern
author:
  - m365ops maintainers (@m365ops)
"""

EXAMPLES = r"""
- name: Give WinHTTP the proxy the signed-in users' WinINet names, where WinHTTP goes direct (the default)
  m365ops.activation.win_winhttp_proxy:

- name: Office goes through the site proxy, except for local and corporate names (replaces what is there)
  m365ops.activation.win_winhttp_proxy:
    proxy: proxy.corp.example:8080
    bypass:
      - <local>
      - "*.corp.example"

- name: Remove the WinHTTP proxy (netsh winhttp reset proxy), in both registry views
  m365ops.activation.win_winhttp_proxy:
    direct: true

- name: Import one signed-in user's proxy
  m365ops.activation.win_winhttp_proxy:
    source: wininet
    wininet_user: CORP\alice

- name: Report a WinHTTP proxy that does not answer from the host, and change it by hand
  m365ops.activation.win_winhttp_proxy:
    dead_proxy: report
"""

RETURN = r"""
agent_executions:
  description:
    - How many times the agent ran on the host for this task - one to read, one more when something is changed, and one
      more where a read depends on what the first one found or an earlier run was interrupted.
  returned: always
  type: int
backup:
  description: Restore records (C(kind=winhttp_proxy), one per view written) with the configuration found before the write.
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
changes:
  description: The proxy changes the task made (or, in check mode, would make), one per registry view (C(view) C(64) or C(32)),
    with C(before), C(after) and C(reason) (which names the WinINet source of an import).
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
  description: What differs from what the article needs and was left in place (PAC file, users who disagree, another proxy), with the evidence.
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
  description: Always false; WinHTTP uses a new default proxy for new sessions.
  returned: always
  type: bool
status:
  description:
    - C(compliant), C(remediated), C(drift), C(blocked) or C(failed), as the collection's compliance report explains each;
      C(busy) when the host restarted, or another run of the collection changed it, after this task read it (nothing was
      changed; run again); C(unknown) when the changes went out and their answer never came back (see RV(journal)).
  returned: always
  type: str
winhttp:
  description: What the module found and decided, WinHTTP and WinINet side by side.
  returned: always
  type: dict
  contains:
    views:
      description: The WinHTTP default proxy per registry view (C(64), and C(32) on 64-bit Windows) before this task.
      type: dict
    registry_blobs:
      description: The C(WinHttpSettings) blob of each view decoded (C(version), C(counter), C(direct), C(named_proxy), C(proxy), C(bypass)), or null.
      type: dict
    wininet:
      description:
        - C(scope) (C(machine), C(users) or C(user)) and C(sources), one per WinINet configuration compared - C(source)
          (whose), C(proxy), C(bypass), C(pac_url), C(auto_detect), C(problem), C(ignored).
      type: dict
    desired:
      description: The explicit desired state in canonical form, or null when WinINet decides.
      type: dict
    imported_from:
      description: Whose WinINet settings were imported in this task.
      type: list
      elements: str
    import_test:
      description: Where the default would import a proxy, whether it answered from the host (C(answered)) and the
        evidence (the HTTP status, or the ERROR_WINHTTP name).
      type: dict
      returned: when a proxy was to be imported
    route_tests:
      description:
        - Per registry view (C(64), C(32)) that names a proxy while every other source agrees on another route - the
          proxy (C(proxy)) and whether it answered (C(proxy_evidence)), the route (C(route)) and whether it carried the
          request (C(route_evidence)), whether that proves the proxy dead (C(proven_dead)), and whether the view is
          replaced (C(replaced); false with O(dead_proxy=report)).
      type: dict
      returned: when a view's proxy was tested against the route the other sources agree on
"""
