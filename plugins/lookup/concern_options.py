# -*- coding: utf-8 -*-
# Copyright: m365ops.activation contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
---
name: concern_options
short_description: A concern's options as the collection's roles pass them, from the one variable m365ops_<concern>
version_added: 0.4.0
description:
  - Returns the value of C(m365ops_<concern>), the mapping of the concern's module options (for example
    C(m365ops_tls12) with C(server) true), as the collection's roles and playbooks pass it to
    M(m365ops.activation.win_activation) and M(m365ops.activation.win_activation_facts). An unset variable is an
    empty mapping (every option at its module default).
  - Until 0.5.0 the separate per-option role variables of earlier releases (C(tls12_server), C(winhttp_proxy_proxy),
    C(required_services_list), ...) are read as well, with a deprecation warning naming the ones that are set; where
    both give an option, C(m365ops_<concern>) wins. An empty string in C(winhttp_proxy_proxy),
    C(winhttp_proxy_wininet_user) or C(winsock_reset_force_token) means not set, as those roles' defaults did.
  - The options are not validated here. The module validates them by the concern's own argument spec before any
    host is contacted, and names a misspelt option with the nearest real one.
options:
  _terms:
    description: One concern name, for example C(tls12).
    type: list
    elements: str
    required: true
"""

EXAMPLES = r"""
- name: TLS 1.2 with the SCHANNEL server side too, as the tls12 role runs it
  m365ops.activation.win_activation:
    concerns: [tls12]
    tls12: "{{ lookup('m365ops.activation.concern_options', 'tls12') }}"
  vars:
    m365ops_tls12:
      server: true
"""

RETURN = r"""
_raw:
  description: The concern's options, one mapping (a one-element list, as every lookup returns).
  type: list
  elements: dict
"""

import typing as t

from ansible.errors import AnsibleLookupError
from ansible.plugins.lookup import LookupBase
from ansible.utils.display import Display

from ansible_collections.m365ops.activation.plugins.plugin_utils.concerns.catalog import BY_NAME
from ansible_collections.m365ops.activation.plugins.plugin_utils.concerns.role_variables import legacy_variables

# An empty string in these was those roles' "not given", never a value.
EMPTY_IS_UNSET = {("winhttp_proxy", "proxy"), ("winhttp_proxy", "wininet_user"), ("winsock_reset", "force_token")}
OMIT_PREFIX = "__omit_place_holder__"


def is_set(concern: str, option: str, value: t.Any) -> bool:
    if value is None or (isinstance(value, str) and value.startswith(OMIT_PREFIX)):
        return False
    return not ((concern, option) in EMPTY_IS_UNSET and value == "")


class LookupModule(LookupBase):
    def run(self, terms: list[t.Any], variables: dict[str, t.Any] | None = None, **kwargs: t.Any) -> list[dict[str, t.Any]]:
        self.set_options(var_options=variables, direct=kwargs)
        variables = variables or {}
        if len(terms) != 1 or not isinstance(terms[0], str) or terms[0] not in BY_NAME:
            raise AnsibleLookupError(f"concern_options: name one concern ({', '.join(BY_NAME)}), not {terms!r}")
        concern = terms[0]
        given = self._value(variables, f"m365ops_{concern}")
        if given is None:
            given = {}
        if not isinstance(given, t.Mapping):
            raise AnsibleLookupError(f"m365ops_{concern} must be a mapping of {concern}'s options (for example "
                                     f"m365ops_{concern}: {{option: value}}), not {type(given).__name__}")
        old = {}
        for option, name in legacy_variables(concern).items():
            value = self._value(variables, name)
            if is_set(concern, option, value):
                old[option] = value
        if old:
            Display().deprecated(
                f"{concern}'s options as separate role variables ({', '.join(legacy_variables(concern)[name] for name in sorted(old))}) "
                f"are deprecated: give them as one variable, m365ops_{concern}: {{{', '.join(f'{name}: ...' for name in sorted(old))}}}",
                version="0.5.0", collection_name="m365ops.activation")
        return [{**old, **given}]

    def _value(self, variables: dict[str, t.Any], name: str) -> t.Any:
        if name not in variables:
            return None
        return self._templar.template(variables[name])
