# -*- coding: utf-8 -*-
# Copyright: m365ops.activation contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action of m365ops.activation.win_restore: puts back what the records of one host say (plugin_utils/concerns/restore.py)."""

from __future__ import annotations

import typing as t

from ansible_collections.m365ops.activation.plugins.plugin_utils.concerns.restore import Restore
from ansible_collections.m365ops.activation.plugins.plugin_utils.engine.actions import ConcernAction
from ansible_collections.m365ops.activation.plugins.plugin_utils.engine.concern import Concern
from ansible_collections.m365ops.activation.plugins.plugin_utils.engine.integrity import BackupKey


class ActionModule(ConcernAction):
    def make_concern(self, task_vars: dict[str, t.Any], key: BackupKey | None) -> Concern:
        # The records restore trusts are those this key signed for this host.
        return Restore(str(task_vars.get("inventory_hostname", "")), key)
