# -*- coding: utf-8 -*-
# Copyright: m365ops.activation contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
---
module: win_winhttp_proxy
short_description: Set the WinHTTP default proxy that Office sign-in and licensing use
version_added: 0.1.0
description:
  - The "check whether you are behind a proxy" step of the Microsoft article on activation errors 0xCAA70007 and
    0xCAA80000, which runs C(netsh winhttp set proxy). Office's identity and licensing traffic goes through WinHTTP,
    which does not follow the browser's proxy.
  - Direct access (no O(proxy)), a named proxy (C(host:port)), or one per scheme (C(http=host:port;https=host:port)),
    with a bypass list that may include C(<local>).
  - O(source=ie) imports the static proxy of the connecting user's Internet Explorer / WinINet settings
    (C(ProxyEnable), C(ProxyServer), C(ProxyOverride) under C(HKCU)), as C(netsh winhttp import proxy source=ie) does;
    use become to import another user's. A PAC file (C(AutoConfigURL)) cannot be held by WinHTTP's default
    configuration and is reported, not imported.
  - Reads and writes through C(WinHttpGetDefaultProxyConfiguration) / C(WinHttpSetDefaultProxyConfiguration) only,
    and reads the result back. The undocumented C(WinHttpSettings) registry blob is decoded in RV(winhttp.registry_blob)
    to explain state, never written.
  - Comparison is semantic; case, spacing, scheme order and bypass order do not cause a change.
  - Host names, ports (1 to 65535), schemes (C(http), C(https), C(ftp), C(socks)) and bypass entries are validated
    before the host is contacted.
options:
  proxy:
    description:
      - C(host:port) or C(scheme=host:port;...). Empty or omitted means direct access.
    type: str
  bypass:
    description: Hosts that bypass the proxy, for example C(<local>) and C(*.corp.example). Only with O(proxy).
    type: list
    elements: str
    default: []
  source:
    description: C(options) uses O(proxy) and O(bypass); C(ie) imports the connecting user's Internet settings.
    type: str
    choices: [options, ie]
    default: options
extends_documentation_fragment:
  - m365ops.activation.concern
author:
  - m365ops maintainers (@m365ops)
"""

EXAMPLES = r"""
- name: Office goes through the site proxy, except for local and corporate names
  m365ops.activation.win_winhttp_proxy:
    proxy: proxy.corp.example:8080
    bypass:
      - <local>
      - "*.corp.example"

- name: Direct access (netsh winhttp reset proxy)
  m365ops.activation.win_winhttp_proxy:

- name: Take the proxy the signed-in user's browser uses
  m365ops.activation.win_winhttp_proxy:
    source: ie
  become: true
  become_method: runas
  become_user: "{{ office_user }}"
"""

RETURN = r"""
changes:
  description: The proxy change the task made (or, in check mode, would make), with C(before), C(after) and C(reason).
  returned: always
  type: list
  elements: dict
backup:
  description: Restore records (C(kind=winhttp_proxy)) with the configuration found before the write.
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
  description: Always false; WinHTTP uses a new default proxy for new sessions.
  returned: always
  type: bool
agent_executions:
  description: How many times the agent ran on the host for this task (1 when compliant, 2 when changed).
  returned: always
  type: int
winhttp:
  description: What the module found and decided.
  returned: always
  type: dict
  contains:
    current:
      description: The configuration found (C(access_type) C(direct) or C(named), C(proxy), C(bypass)).
      type: dict
    desired:
      description: The configuration asked for, in canonical form.
      type: dict
    registry_blob:
      description: The C(WinHttpSettings) blob decoded (C(version), C(counter), C(direct), C(named_proxy), C(proxy), C(bypass)), or null.
      type: dict
"""
