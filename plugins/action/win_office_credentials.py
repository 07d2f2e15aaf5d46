# -*- coding: utf-8 -*-
# Copyright: m365ops.activation contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action of m365ops.activation.win_office_credentials: runs the office_credentials concern alone (plugin_utils/concerns/office_credentials.py)."""

from __future__ import annotations

from ansible_collections.m365ops.activation.plugins.plugin_utils.concerns.office_credentials import OfficeCredentials
from ansible_collections.m365ops.activation.plugins.plugin_utils.engine.actions import ConcernAction


class ActionModule(ConcernAction):
    CONCERN = OfficeCredentials()
