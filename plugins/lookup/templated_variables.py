# -*- coding: utf-8 -*-
# Copyright: m365ops.activation contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
---
name: templated_variables
short_description: The variables, of those named, whose value is a template or holds one
version_added: 0.4.0
description:
  - Of the variables named, returns those whose value, as the task's host has it before it is rendered, is a template or
    holds one at any depth (a mapping's key or value, a list's item). Such a value may render differently on each host;
    any other is the same wherever it is read. Variables that are not defined are left out.
  - C(hostvars) shows each host's own variables (inventory, facts, extra vars) rendered for that host, but not the
    play's variables, its C(vars_files) or role parameters. The fleet role renders what
    M(m365ops.activation.win_activation) is given once for the play only where the hosts give the same values in
    C(hostvars) and none of those variables is a template.
options:
  _terms:
    description: Variable names (lists of names are taken apart).
    type: list
    elements: str
    required: true
"""

EXAMPLES = r"""
- name: Say whether a host-dependent template gives the TLS 1.2 options
  ansible.builtin.debug:
    msg: "{{ query('m365ops.activation.templated_variables', 'm365ops_tls12', 'tls12_server') | length > 0 }}"
  vars:
    m365ops_tls12:
      server: "{{ inventory_hostname in groups['servers'] }}"
"""

RETURN = r"""
_raw:
  description: The names whose values are or hold a template, in the order given.
  type: list
  elements: str
"""

import typing as t

from ansible.errors import AnsibleLookupError
from ansible.plugins.lookup import LookupBase


class LookupModule(LookupBase):
    def run(self, terms: list[t.Any], variables: dict[str, t.Any] | None = None, **kwargs: t.Any) -> list[str]:
        self.set_options(var_options=variables, direct=kwargs)
        variables = variables or {}
        names = [name for term in terms for name in (term if isinstance(term, (list, tuple)) else [term])]
        wrong = [name for name in names if not isinstance(name, str)]
        if wrong:
            raise AnsibleLookupError(f"templated_variables: give variable names, not {wrong!r}")
        return [name for name in names if name in variables and self._holds_template(variables[name])]

    def _holds_template(self, value: t.Any) -> bool:
        if isinstance(value, str):
            return self._templar.is_template(value)
        if isinstance(value, t.Mapping):
            return any(self._holds_template(key) or self._holds_template(item) for key, item in value.items())
        if isinstance(value, (list, tuple, set, frozenset)):
            return any(self._holds_template(item) for item in value)
        return False
