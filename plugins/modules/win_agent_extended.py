# -*- coding: utf-8 -*-
# Copyright: m365ops.activation contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
---
module: win_agent_extended
short_description: Internal host-side executor of m365ops.activation, with the network probes and user sessions
version_added: 0.3.0
description:
  - M(m365ops.activation.win_agent) with two more module_utils - the network probes (C(tls_handshake), C(http_request))
    and the user-session script (C(user_session_read), C(user_session_write)), and the directory ops that share it
    (C(directory_stat), C(directory_remove)). The op vocabulary, the protocol and the results are win_agent's; see its
    documentation.
  - Ansible sends every module_util a module requires with each execution. The collection's action plugins send a
    batch here only when it holds one of those ops (the endpoint check, the users' Office steps), so the everyday runs
    do not carry what they do not use; M(m365ops.activation.win_agent) answers C(unknown_op) for them.
  - Internal; playbooks should use the concern modules.
extends_documentation_fragment:
  - m365ops.activation.agent
author:
  - m365ops maintainers (@m365ops)
"""

EXAMPLES = r"""
- name: Resolve a name and open a TLS 1.2 connection from the host (internal use; shown for the contract suite)
  m365ops.activation.win_agent_extended:
    ops:
      - op: dns_resolve
        names: [login.microsoftonline.com]
      - op: tls_handshake
        targets:
          - {host: login.microsoftonline.com, port: 443}
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
      C(values) for C(registry_read)); C(ok=false) entries carry C(error) (C(invalid_argument),
      C(access_denied), C(not_found), C(unsupported), C(unknown_op), C(process_failed), C(service_start_failed),
      C(skipped), C(too_large), C(host_error)) and C(message).
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
