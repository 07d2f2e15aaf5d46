# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Test-only callback: writes every task result and the recap to $M365OPS_RECORD_FILE as JSON."""

from __future__ import annotations

import json
import os

from ansible.module_utils.common.json import get_encoder
from ansible.plugins.callback import CallbackBase

DOCUMENTATION = r"""
name: record_results
type: aggregate
short_description: Record task results to a JSON file for the collection's tests
description:
  - Writes every task result and the play recap to the file named by the E(M365OPS_RECORD_FILE) environment variable.
requirements:
  - enable in configuration
"""


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "record_results"
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self) -> None:
        super().__init__()
        self._events: list[dict] = []

    def _record(self, result, status: str) -> None:
        self._events.append({
            "host": result._host.get_name(),  # pylint: disable=protected-access
            "task": result._task.get_name(),  # pylint: disable=protected-access
            "status": status,
            "result": json.loads(json.dumps(result._result, cls=get_encoder("tagless"))),  # pylint: disable=protected-access
        })

    def v2_runner_on_ok(self, result) -> None:
        self._record(result, "ok")

    def v2_runner_on_failed(self, result, ignore_errors=False) -> None:
        self._record(result, "failed")

    def v2_runner_on_unreachable(self, result) -> None:
        self._record(result, "unreachable")

    def v2_runner_on_skipped(self, result) -> None:
        self._record(result, "skipped")

    def v2_playbook_on_stats(self, stats) -> None:
        path = os.environ.get("M365OPS_RECORD_FILE")
        if not path:
            return
        summary = {host: stats.summarize(host) for host in sorted(stats.processed)}
        with open(path, "w", encoding="utf-8") as stream:
            json.dump({"events": self._events, "stats": summary}, stream)
