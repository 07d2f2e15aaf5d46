# -*- coding: utf-8 -*-
# Copyright: m365ops.activation contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action of m365ops.activation.win_ncsi: runs the ncsi concern alone (plugin_utils/concerns/ncsi.py)."""

from __future__ import annotations

from ansible_collections.m365ops.activation.plugins.plugin_utils.concerns.ncsi import Ncsi
from ansible_collections.m365ops.activation.plugins.plugin_utils.engine.actions import ConcernAction


class ActionModule(ConcernAction):
    CONCERN = Ncsi()
