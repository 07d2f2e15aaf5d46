# -*- coding: utf-8 -*-
# Copyright: m365ops.activation contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
---
module: win_agent
short_description: Internal host-side executor of m365ops.activation (do not call directly)
version_added: 0.1.0
description:
  - The PowerShell half of every module in this collection. The action plugins on the controller
    decide what to read and what to change; this module only executes a list of primitive
    operations (ops) on the Windows host and returns one result per op.
  - Internal. Its op vocabulary is versioned by O(ops) protocol number and may change between
    releases; playbooks should use the concern modules such as M(m365ops.activation.win_tls12).
  - Ops that change the host are not carried out in check mode; they report what they would change.
  - "Batch rules: a failed read op does not stop later ops; the first failed write op skips the
    write ops after it (their result has C(error=skipped)), except those marked C(always=true). Outside check mode a batch
    that writes holds the host-wide mutex C(Global\\m365ops-activation-agent) while it runs."
  - "Op vocabulary of protocol 1, registry: C(registry_read) (C(key), C(view), optional C(names); a missing key answers
    C(first_missing), the topmost key of its path that does not exist),
    C(registry_enum) (C(key), C(view)), C(registry_read_subkeys) (C(key), C(view), C(names): the values of every direct subkey),
    C(registry_read_user_hives) (C(subkey), C(names), or C(tree) for every value below the subkey: that subkey of every
    loaded user profile hive under C(HKEY_USERS)),
    C(registry_tree_stat) (C(key), C(view): values and subkeys counted below a key),
    C(registry_write) (C(key), C(view), C(name), C(type), C(value)), C(registry_delete_value) (C(key), C(view), C(name)),
    C(registry_delete_key) (C(key), C(view), optional C(only_if_no_values)), C(registry_wait) (C(key), C(view), C(name),
    C(not_equal), C(timeout_seconds), optional C(interval_ms): reads the value until it differs from C(not_equal), or the
    time is up)."
  - "Guards: C(expect) (optional C(boot_time), optional C(key), C(view), C(name) and C(value): changes nothing, and fails
    with C(precondition_failed) unless each stated fact holds now; it counts as a write, so the writes after it are
    skipped when it fails, also those marked C(always))."
  - "Services: C(service_query) (C(names)), C(service_set_start_mode) (C(name), C(start_mode)),
    C(service_start) and C(service_stop) (C(name), optional C(timeout_seconds))."
  - "Programs: C(process_run) (C(path), C(arguments), optional C(success_exit_codes), C(timeout_seconds)); the exit code
    and the raw output (base64) are returned, the output is never interpreted. C(process_list) (optional C(names):
    running processes by image name, with id and session id)."
  - "Network: C(adapter_list), C(connection_profiles) (the connectivity Windows reports per network, as numbers),
    C(management_addresses), C(adapter_binding_set) (C(name), C(component_id) C(ms_tcpip6),
    C(enabled)), C(winhttp_proxy_read), C(winhttp_proxy_write) (C(access_type), C(proxy), C(bypass); read back after writing)."
  - "User sessions: C(user_session_read) and C(user_session_write) (C(ops), C(timeout_seconds) 5 to 600, optional
    C(users) as SIDs, or C(self)): the user ops run in each interactive session through a short-lived scheduled task
    with that user's interactive token, no password needed, or, with the self option, in the agent's own process (the become
    user); one entry per session with the JSON answer as text. User ops:
    credential_list (targets, types, user names and dates of the user's Credential Manager entries, never a secret),
    work_account (the Entra ID join Windows reports to the user, from NetGetAadJoinInformation; supported is false before
    Windows 10) and directory_stat (paths, environment variables expanded in the user's session) in the read op; credential_delete
    (target, type) and directory_remove (path, optional move_to) in the write op."
  - "User profiles: C(profile_list) (each user profile's SID, directory, whether its hive is loaded and whether its NTUSER.DAT exists),
    C(user_hive_load) and C(user_hive_unload) (C(sid): a signed-out user's hive under HKEY_USERS through reg.exe,
    judged by its exit code; a profile without NTUSER.DAT is not loaded; neither is a write op, and unload releases only a
    hive the same execution loaded; with C(marker_key) the load is remembered there, in a value named by the SID that
    holds its UTC time, before it happens, and forgotten after the unload), C(user_hive_unload_recorded) (a write op; C(marker_key),
    C(older_than_seconds): each hive so remembered that is still loaded and older is unloaded, the marker of one no
    longer loaded removed; C(unloaded), C(cleared), C(still_loaded), C(recent)),
    C(directory_stat) (C(paths)) and C(directory_remove) (C(path), optional C(move_to)) as the
    agent's own account."
  - "System: C(system_info) (release, hotfixes, pending-reboot sources, boot time), C(user_sessions) (users signed in
    interactively, by SID), C(wsman_config_read) (C(paths) below WSMan:\\localhost, such as MaxEnvelopeSizekb;
    each value as WinRM stores it, null when absent), C(update_history) (C(count): the newest entries of the Windows Update
    Agent's history, dates in UTC, operation, result code, update and category ids; available false with the HRESULT when
    the agent cannot be asked)."
  - "Network probes: C(dns_resolve) (C(names), optional C(timeout_ms); addresses and the canonical name),
    C(tcp_connect) (C(targets), each C(host) and C(port), optional C(timeout_ms)): all at once, bounded together;
    failures as the SocketError name (C(HostNotFound), C(TimedOut), C(ConnectionRefused)), never a localized message.
    C(tls_handshake) (C(targets), optional C(proxy) C(direct) or a proxy server as host:port reached with HTTP CONNECT,
    C(timeout_ms)): a TLS 1.2 handshake through
    SChannel that accepts any certificate and returns the chain the host builds (subject, issuer, thumbprint of each) with
    its status flags. C(http_request) (C(urls), C(user_agent), optional C(proxy) C(default) for the WinHTTP default proxy,
    C(direct) or host:port, C(timeout_ms)): a GET through WinHTTP, redirects not followed, returning the HTTP status,
    or the ERROR_WINHTTP number of the failure, and for HTTPS the server's certificate chain."
  - "Files: C(file_stat) (C(paths): exists, size and numeric file version of each, environment variables expanded on the
    host), C(file_read) (C(path), optional C(max_bytes), default 1 MiB: the content as base64; larger files fail
    with C(too_large))."
  - "Registry value types: C(string), C(expand_string), C(multi_string) (list), C(dword), C(qword)
    (integers), C(binary) (base64 text), C(none); read only, C(unknown) (other kinds, raw bytes as base64).
    C(view) is C(64) (default) or C(32) (WOW64)."
extends_documentation_fragment:
  - m365ops.activation.agent
author:
  - m365ops maintainers (@m365ops)
"""

EXAMPLES = r"""
- name: Read the SCHANNEL TLS 1.2 client values (internal use; shown for the contract suite)
  m365ops.activation.win_agent:
    ops:
      - op: system_info
      - op: registry_read
        key: HKLM\SYSTEM\CurrentControlSet\Control\SecurityProviders\SCHANNEL\Protocols\TLS 1.2\Client
        names: [Enabled, DisabledByDefault]
"""

RETURN = r"""
protocol:
  description: The agent protocol version; the controller refuses an agent with another version.
  returned: always
  type: int
  sample: 1
results:
  description:
    - One entry per op, in order. C(ok=true) entries carry the op's data (for example C(exists) and
      C(values) for C(registry_read)); C(ok=false) entries carry a C(message) and C(error), one of the error classes
      (C(invalid_argument), C(access_denied), C(not_found), C(unsupported), C(unknown_op), C(process_failed),
      C(service_start_failed), C(service_disabled), C(dependency_failed), C(timeout), C(skipped), C(precondition_failed),
      C(too_large), C(host_error)).
  returned: always
  type: list
  elements: dict
  sample:
    - ok: true
      op: registry_read
      exists: true
      values:
        Enabled:
          type: dword
          value: 1
"""
