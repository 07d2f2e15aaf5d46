# -*- coding: utf-8 -*-
# Copyright: m365ops.activation contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
---
module: win_activation_facts
short_description: What a Windows host's Microsoft 365 activation depends on, read in one agent execution
version_added: 0.3.0
description:
  - Reads, in one execution of the collection's agent, what every selected concern of the collection looks at, plus how
    Microsoft 365 Apps is installed (Click-to-Run version, update channel and where it comes from, shared computer
    activation), and returns it under C(ansible_facts.m365ops_activation). Nothing on the host is changed.
  - Each concern is planned as in check mode, so the facts say what it sees (its own facts, as its module returns them),
    what it would change and why, and what blocks it. A host whose Winsock catalog names DLLs of products other than
    Windows takes one more read-only execution to look at those files.
  - The concerns and their options are those of M(m365ops.activation.win_activation); options change what a concern
    would change (for example an explicit O(winhttp_proxy) C(proxy)), never the host.
options:
  concerns:
    description: The concerns to read. C(ipv6) only when named, with C(ipv6.state).
    type: list
    elements: str
    choices: [tls12, winhttp_proxy, ncsi, required_services, winsock_reset, office_credentials, office_license, office_update, ipv6]
    default: [tls12, winhttp_proxy, ncsi, required_services, winsock_reset]
  tls12:
    description: Options of M(m365ops.activation.win_tls12) (except O(m365ops.activation.win_tls12#module:backup_dir)).
    type: dict
  winhttp_proxy:
    description: Options of M(m365ops.activation.win_winhttp_proxy) (except its C(backup_dir)).
    type: dict
  ncsi:
    description: Options of M(m365ops.activation.win_ncsi) (except its C(backup_dir)).
    type: dict
  required_services:
    description: Options of M(m365ops.activation.win_required_services) (except its C(backup_dir)).
    type: dict
  winsock_reset:
    description: Options of M(m365ops.activation.win_winsock_reset) (except its C(backup_dir)).
    type: dict
  office_credentials:
    description: Options of M(m365ops.activation.win_office_credentials) (except its C(backup_dir)).
    type: dict
  office_license:
    description: Options of M(m365ops.activation.win_office_license) (except its C(backup_dir)).
    type: dict
  office_update:
    description:
      - Options of M(m365ops.activation.win_office_update) (except its C(backup_dir)).
      - C(office_update.minimum_version) is required when C(office_update) is selected.
    type: dict
  ipv6:
    description: Options of M(m365ops.activation.win_ipv6) (except its C(backup_dir)).
    type: dict
  endpoints:
    description:
      - Given (C({}) for the defaults), also check the article's endpoints, and the web probe NCSI uses, from the host in
        the same execution, every stage of every endpoint at once, each bounded by C(timeout_ms) (default 5000, 100 to
        60000). Stages, each C(pass), C(fail) or C(not_tested) (a stage that was not run never reads C(pass))
        - C(dns), the host's resolver; C(tcp), a direct connection; C(tls), a TLS 1.2 handshake through SChannel on the
        direct connection, the chain judged against C(trusted_roots); C(http), a GET through WinHTTP as the host is
        configured (its default proxy, or direct) with the C(MSOIDCRL) user agent sign-in uses, where a proxy's 407 and
        a 403 that another user agent does not get fail it; C(wininet), the same GET through each proxy the users'
        WinINet names when it is not WinHTTP's.
      - C(trusted_roots), the common names or SHA-1 thumbprints of the roots a chain may end at (default the public roots
        Microsoft's services use, by name); a chain to any other root is interception, and the CA is named in
        C(intercepted_by). A site that trusts its own inspection CA on purpose adds it here.
      - One more read-only execution runs only where the host's settings point at something the first could not know
        (a WinINet proxy that is not WinHTTP's, an NCSI probe host Windows does not ship, the CA of a proxy whose TLS
        WinHTTP refused). C(follow_ups=false) keeps the check to the one execution (as the audit playbook does); those
        stages then read C(not_tested), and C(follow_ups) in the result says so.
      - C(extra), a list of at most 64 C(host), C(port), optional C(scheme) and C(path), adds endpoints; C(replace=true) checks
        only those (and the imported ones).
      - C(microsoft_json), a controller path to a saved copy of Microsoft's 365 URL/IP web service answer, adds the
        names of the sets in C(microsoft_sets) (default 46, 56, 59, 83, 84, 86, 92, 125, 147, which cover sign-in and
        activation) on their TCP ports 80 and 443; names with wildcards cannot be resolved and are listed in
        C(wildcards_left_out) instead. The file is read and checked before the host is contacted.
    type: dict
attributes:
  check_mode:
    description: Can run in check_mode and return changed status prediction without modifying target.
    support: full
    details: It never changes anything, in check mode or not.
  diff_mode:
    description: Will return details on what has changed (or possibly needs changing in check_mode), when in diff mode.
    support: none
  facts:
    description: Action returns an C(ansible_facts) dictionary that will update existing host facts.
    support: full
  platform:
    description: Target OS/families that can be operated against.
    support: full
    platforms: windows
notes:
  - Tested against the collection's simulated Windows fleet only; it has not yet been run on a real Windows host.
seealso:
  - module: m365ops.activation.win_activation
author:
  - m365ops maintainers (@m365ops)
"""

EXAMPLES = r"""
- name: What activation depends on, per host
  m365ops.activation.win_activation_facts:

- name: The same, and the article's endpoints checked from the host, with the site's proxy added
  m365ops.activation.win_activation_facts:
    endpoints:
      timeout_ms: 3000
      extra:
        - {host: proxy.corp.example, port: 8080, scheme: http}

- name: A site that inspects TLS on purpose with its own CA, trusted beside Microsoft's public roots
  m365ops.activation.win_activation_facts:
    endpoints:
      trusted_roots: [DigiCert Global Root G2, DigiCert Global Root CA, Microsoft RSA Root Certificate Authority 2017, Contoso TLS Inspection CA]

- name: Hosts on a channel other than Monthly Enterprise
  ansible.builtin.debug:
    msg: "{{ ansible_facts.m365ops_activation.click_to_run.channel }}"
  when: ansible_facts.m365ops_activation.click_to_run.channel != 'Monthly Enterprise'
"""

RETURN = r"""
ansible_facts:
  description: The facts, under C(m365ops_activation).
  returned: always
  type: dict
  contains:
    m365ops_activation:
      description:
        - C(os) (C(name), C(version), C(service_pack), C(server), C(architecture)), C(hotfixes), C(pending_reboot),
          C(boot_time), C(reboot_owed_by) (concerns whose change still waits for a restart), C(interrupted) (per batch of an
          earlier run still open in the host's journal, its C(run_id), C(module), C(created), C(planned) and how many
          changes are C(in_effect), C(not_made), C(changed_since) or C(unknown); see docs/restore.md).
        - C(concerns), per concern C(status) (as an audit would say it), C(would_change) (the reasons), C(blockers),
          C(drift), C(codes) (C(blockers) and C(drift), the code of each entry in the same order, such as
          C(tls12.group_policy); the findings match these, never the sentences), C(warnings), C(failure) and C(facts)
          (what its own module returns under its facts key).
        - C(click_to_run), C(installed) and, when installed, C(version), C(platform), C(products), C(channel) (C(Current),
          C(Monthly Enterprise), ... or null for an update path this collection does not know), C(channel_source)
          (C(policy UpdatePath), C(policy UpdateBranch), C(UpdateChannel) or C(CDNBaseUrl)), C(update_url),
          C(shared_computer_activation), C(token_folder) (where shared computer activation keeps its tokens when
          C(SCLCacheOverride) moves them, as written, with its source, or null), C(update_target) (a pinned version and
          its source, or null), C(updates_off) (what turns updates off) and C(updates_managed_by_configmgr).
        - C(network_adapters), C(adapters) (per adapter C(name), C(if_index), C(status), C(addresses), C(manual_addresses),
          C(ipv6_bound)) and C(bindings_known) (false on Windows 7 / 2008 R2, where the IPv6 binding cannot be read).
        - C(endpoints) when O(endpoints) is given, C(checked) (per endpoint C(url), C(host), C(port), C(purpose)
          (C(activation), C(crl) or C(ncsi)), C(dns), C(addresses), C(canonical_name) (where its CNAME chain ends),
          C(tcp), C(tls), C(http), C(wininet) (per WinINet proxy tried), C(intercepted_by), C(error) (the first failed
          stage and why) and C(stages) (per stage its result, error, time, and for C(http) the route, the HTTP status or the ERROR_WINHTTP name, and
          C(code) C(proxy_auth_required), C(msoidcrl_refused) or C(client_cert_requested) for a proxy's 407, its refusal of
          MSOIDCRL or its request for a client certificate), C(root_missing) per endpoint), C(routes) (C(winhttp),
          C(wininet), C(blocks_msoidcrl)), C(ncsi_probe), C(dns_failed), C(tcp_failed), C(http_failed), C(intercepted_by),
          C(roots_missing), C(wildcards_left_out), C(timeout_ms), and C(users_sign_in) - null, or where a proxy answered
          the management logon 407, the sign-in request made again from each signed-in user's session (per user
          C(user), C(sid), C(status), C(access_type) (C(automatic) on Windows 8.1 and later, C(default) before),
          C(credentials_offered), C(error)).
        - C(winrm_quotas), C(values) (MaxEnvelopeSizekb, the shell's and the PowerShell endpoint's MaxMemoryPerShellMB,
          MaxConcurrentOperationsPerUser, MaxShellsPerUser, as read from the WSMan drive), C(low) (each below the
          collection's minimum, with why it matters for a large run) and C(unread) (each the drive would not give, with
          the exception type and HRESULT).
        - C(windows_update), C(history_available), C(last_installed) and C(days_since_last_install) (the newest successful
          installation in the Windows Update Agent's history, Defender definitions left out; an upper bound, since
          packages installed with wusa are not in it), or the C(hresult) when the agent cannot be asked.
        - C(signed_in_users), C(users) (per user signed in interactively C(user), C(sid), C(session_ids)) and C(count).
        - C(status), the worst of the concerns' statuses; C(agent_unavailable) on a host below PowerShell 5.1.
      type: dict
agent_executions:
  description:
    - Agent executions on the host for this task. 1, or 2 where a setting names something the first could not know (the
      Winsock catalog names other products' DLLs; with O(endpoints), see there) or an earlier run's batch is still open
      in the host's journal (what it left is read back).
  returned: always
  type: int
"""
