# -*- coding: utf-8 -*-
# Copyright: m365ops.activation contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The agent's op manifest: every op of protocol 1 with its family, whether it writes and whether it is extended, and
every error class an op may answer with, with what a person can do about it.

The one place these are written. The controller (agent.py) and the simulator (winsim/agent.py) read it; the PowerShell
agent's handler table, write-op and extended-op lists, the error classes it raises, win_agent's documentation and the
op table of docs/design.md are held to it by tests (tests/unit/agent/test_op_vocabulary.py). Plain data, no imports:
the simulator loads this file on its own.
"""

from __future__ import annotations

# Families, as the agent is split: what an op works on.
REGISTRY = "registry"
SERVICES = "services and processes"
NETWORK = "network"
SYSTEM = "system and files"
USERS = "user sessions"

# name: (family, writes, extended). A write op is skipped after a failed write in the same batch (unless marked
# always) and runs only outside check mode; an extended op is shipped in the extended entry point only.
OPS = {
    "registry_read": (REGISTRY, False, False),
    "registry_enum": (REGISTRY, False, False),
    "registry_read_subkeys": (REGISTRY, False, False),
    "registry_read_user_hives": (REGISTRY, False, False),
    "registry_tree_stat": (REGISTRY, False, False),
    "registry_wait": (REGISTRY, False, False),
    "registry_write": (REGISTRY, True, False),
    "registry_delete_value": (REGISTRY, True, False),
    "registry_delete_key": (REGISTRY, True, False),
    "expect": (REGISTRY, True, False),
    "service_query": (SERVICES, False, False),
    "service_set_start_mode": (SERVICES, True, False),
    "service_start": (SERVICES, True, False),
    "service_stop": (SERVICES, True, False),
    "process_list": (SERVICES, False, False),
    "process_run": (SERVICES, True, False),
    "adapter_list": (NETWORK, False, False),
    "connection_profiles": (NETWORK, False, False),
    "management_addresses": (NETWORK, False, False),
    "adapter_binding_set": (NETWORK, True, False),
    "winhttp_proxy_read": (NETWORK, False, False),
    "winhttp_proxy_write": (NETWORK, True, False),
    "dns_resolve": (NETWORK, False, False),
    "tcp_connect": (NETWORK, False, False),
    "tls_handshake": (NETWORK, False, True),
    "http_request": (NETWORK, False, True),
    "system_info": (SYSTEM, False, False),
    "file_stat": (SYSTEM, False, False),
    "file_read": (SYSTEM, False, False),
    "wsman_config_read": (SYSTEM, False, False),
    "update_history": (SYSTEM, False, False),
    "user_sessions": (USERS, False, False),
    "profile_list": (USERS, False, False),
    "user_hive_load": (USERS, False, False),
    "user_hive_unload": (USERS, False, False),
    "user_hive_unload_recorded": (USERS, True, False),
    "user_session_read": (USERS, False, True),
    "user_session_write": (USERS, True, True),
    "directory_stat": (USERS, False, True),
    "directory_remove": (USERS, True, True),
}

WRITE_OPS = frozenset(name for name, (_family, writes, _extended) in OPS.items() if writes)
EXTENDED_OPS = frozenset(name for name, (_family, _writes, extended) in OPS.items() if extended)

# Every error class an op answers with (ok=false), and what a person can do about it.
ERROR_CLASSES = {
    "access_denied": "the connecting account was refused by the key's ACL; connect as a member of the local "
                     "Administrators group or use become (become_method runas, become_user SYSTEM)",
    "invalid_argument": "the agent rejected the op's arguments; this is a bug in m365ops.activation, please report it",
    "unknown_op": "the agent on the host does not know this op; the collection and its agent are out of step",
    "host_error": "Windows reported an error",
    "not_found": "it does not exist on this host",
    "unsupported": "this Windows release does not offer it",
    "too_large": "it is larger than the op allows; nothing this collection writes is that large",
    "process_failed": "the program reported failure through its exit code",
    "service_start_failed": "the Service Control Manager could not start it; the article's next step is 'sfc /scannow' "
                            "from an elevated prompt, then a restart",
    "service_disabled": "the service is Disabled (Win32 error 1058): a configuration problem, not damaged system files; "
                        "give it a start mode first",
    "dependency_failed": "a service it depends on is Disabled or would not start (Win32 error 1068/1075); fix that one first",
    "timeout": "it did not reach the state in time; look at the service's own event log entries, then try again",
    "skipped": "not run because an earlier change in the same batch failed",
    "precondition_failed": "the host is not as this run read it: it restarted, or another run changed it since; run again",
}
