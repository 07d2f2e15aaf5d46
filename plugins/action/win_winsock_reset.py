# -*- coding: utf-8 -*-
# Copyright: m365ops.activation contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action of m365ops.activation.win_winsock_reset: runs the winsock_reset concern alone (plugin_utils/concerns/winsock_reset.py)."""

from __future__ import annotations

from ansible_collections.m365ops.activation.plugins.plugin_utils.concerns.winsock_reset import WinsockReset
from ansible_collections.m365ops.activation.plugins.plugin_utils.engine.actions import ConcernAction


class ActionModule(ConcernAction):
    CONCERN = WinsockReset()
