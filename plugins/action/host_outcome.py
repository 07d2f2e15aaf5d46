# -*- coding: utf-8 -*-
# Copyright: m365ops.activation contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action of m365ops.activation.host_outcome: a host's end of run as the report saw it, failed or unreachable.

ansible.builtin.fail can only fail a host; a host the run could not reach would then be counted failed in the recap,
and AWX would show it failed, not unreachable. This action returns the outcome itself, on the controller, without
contacting the host: ``unreachable`` is counted unreachable by the strategy, ``failed`` failed.
"""

from __future__ import annotations

import typing as t

from ansible.plugins.action import ActionBase


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _requires_connection = False
    ARGUMENT_SPEC = {
        "outcome": {"type": "str", "required": True, "choices": ["failed", "unreachable"]},
        "msg": {"type": "str", "required": True},
    }

    def run(self, tmp: t.Any = None, task_vars: dict[str, t.Any] | None = None) -> dict[str, t.Any]:
        self._supports_check_mode = True
        result = super().run(tmp, task_vars)
        _validation, args = self.validate_argument_spec(argument_spec=self.ARGUMENT_SPEC)
        result.update(changed=False, msg=args["msg"])
        result[args["outcome"]] = True
        return result
