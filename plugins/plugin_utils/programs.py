# -*- coding: utf-8 -*-
# Copyright: m365ops.activation contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Running a Windows program as a change: judged by its exit code, never by its (localized) output."""

from __future__ import annotations

import typing as t
from dataclasses import dataclass

from ansible_collections.m365ops.activation.plugins.plugin_utils.engine.changes import DiffEntry


@dataclass(frozen=True)
class ProgramRun:
    path: str
    arguments: tuple[str, ...]
    reason: str
    reboot_required: bool = False
    success_exit_codes: tuple[int, ...] = (0,)
    timeout_seconds: int = 600
    # Exit codes that mean "did part of its work": accepted, and said in the result.
    partial_exit_codes: tuple[int, ...] = ()

    @property
    def command(self) -> str:
        return " ".join((self.path.rsplit("\\", 1)[-1], *self.arguments))

    @property
    def target(self) -> str:
        return f"'{self.command}'"

    def to_op(self) -> dict[str, t.Any]:
        return {"op": "process_run", "path": self.path, "arguments": list(self.arguments),
                "success_exit_codes": list(self.success_exit_codes), "timeout_seconds": self.timeout_seconds}

    def as_result(self) -> dict[str, t.Any]:
        return {"run": self.command, "reason": self.reason}

    def diff(self) -> DiffEntry:
        return DiffEntry(("run", self.command), ("[run]", "[run]"), ("", self.command), self.command)

    def applied_note(self, applied: dict[str, t.Any]) -> str | None:
        """What the result must say about this run beyond "done": a partial exit code."""
        code = applied.get("exit_code")
        if code in self.partial_exit_codes:
            return (f"'{self.command}' exited {code}: it did part of its work and could not finish the rest (on Windows 10/11 "
                    "commonly an NSI key it may not reset); restart the host, and finish by hand if the problem remains")
        return None

    def backup_record(self, applied: dict[str, t.Any]) -> dict[str, t.Any]:
        # An action, not a value: recorded so the history is complete; restore cannot undo it.
        return {"kind": "action", "run": self.command, "exit_code": applied.get("exit_code")}
