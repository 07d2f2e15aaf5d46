# -*- coding: utf-8 -*-
# Copyright: m365ops.activation contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action of m365ops.activation.win_office_update: runs the office_update concern alone (plugin_utils/concerns/office_update.py)."""

from __future__ import annotations

from ansible_collections.m365ops.activation.plugins.plugin_utils.concerns.office_update import OfficeUpdate
from ansible_collections.m365ops.activation.plugins.plugin_utils.engine.actions import ConcernAction


class ActionModule(ConcernAction):
    CONCERN = OfficeUpdate()
