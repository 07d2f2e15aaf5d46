# -*- coding: utf-8 -*-
# Copyright: m365ops.activation contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What every planned change offers the base action: its op, its result entry, its diff and its backup record."""

from __future__ import annotations

import typing as t
from dataclasses import dataclass


@dataclass(frozen=True)
class DiffEntry:
    """One line pair of the diff, inside a section (a registry key, a service) with a before and after header."""

    section: tuple[str, ...]
    headers: tuple[str, str]
    lines: tuple[str, str] | None = None
    order: str = ""


class Change(t.Protocol):
    """A change a concern plans; the base action applies it with one agent op."""

    reason: str
    reboot_required: bool

    @property
    def target(self) -> str:
        """What the change acts on, for messages: a registry value, a key, a service."""

    def to_op(self) -> dict[str, t.Any]:
        """The agent op that makes the change."""

    def as_result(self) -> dict[str, t.Any]:
        """The entry under the task's ``changes``."""

    def diff(self) -> DiffEntry:
        """How the change reads in ``--diff``."""

    def backup_record(self, applied: dict[str, t.Any]) -> dict[str, t.Any] | None:
        """The restore record, from the data the agent returned when it made the change."""


def planned_record(change: t.Any) -> dict[str, t.Any] | None:
    """The restore record of ``change`` before it is made, from what the probe saw: the write-ahead journal's record.

    A change whose record takes something from the agent's answer says what the probe knows of it in
    ``probed_answer()``; the others build their record from the change alone."""
    probed = getattr(change, "probed_answer", None)
    return change.backup_record(probed() if probed is not None else {})


def render_diff(changes: t.Sequence[Change]) -> dict[str, str]:
    """Before/after text, one section per key or service, sections and lines in a stable order."""
    before_lines: list[str] = []
    after_lines: list[str] = []
    current: tuple[str, ...] | None = None
    for entry in sorted((change.diff() for change in changes), key=lambda item: (item.section, item.order)):
        if entry.section != current:
            current = entry.section
            before_lines.append(entry.headers[0])
            after_lines.append(entry.headers[1])
        if entry.lines is not None:
            before_lines.append(entry.lines[0])
            after_lines.append(entry.lines[1])
    return {"before": "\n".join(before_lines) + "\n", "after": "\n".join(after_lines) + "\n"}
