# -*- coding: utf-8 -*-
# Copyright: m365ops.activation contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action of m365ops.activation.win_tls12: runs the tls12 concern alone (plugin_utils/concerns/tls12.py)."""

from __future__ import annotations

from ansible_collections.m365ops.activation.plugins.plugin_utils.concerns.tls12 import Tls12
from ansible_collections.m365ops.activation.plugins.plugin_utils.engine.actions import ConcernAction


class ActionModule(ConcernAction):
    CONCERN = Tls12()
