# -*- coding: utf-8 -*-
# Copyright: m365ops.activation contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Windows services as data: what the probe saw, and the changes to start mode and status."""

from __future__ import annotations

import typing as t
import re
from dataclasses import dataclass

from ansible_collections.m365ops.activation.plugins.plugin_utils.engine.changes import DiffEntry


# Service names are registry key names under HKLM\SYSTEM\CurrentControlSet\Services: no slashes, no control characters.
SERVICE_NAME = re.compile(r"[^\\/\s\x00-\x1f][^\\/\x00-\x1f]{0,255}")
START_MODES = ("auto", "delayed", "manual", "disabled")
STATUSES = ("running", "stopped")


@dataclass(frozen=True)
class ServiceState:
    name: str
    exists: bool
    start_mode: str | None = None
    status: str | None = None
    dependencies: tuple[str, ...] = ()
    dependents_running: tuple[str, ...] = ()
    trigger_start: bool = False

    @classmethod
    def from_agent(cls, name: str, data: dict[str, t.Any]) -> "ServiceState":
        return cls(name=name, exists=bool(data.get("exists")), start_mode=data.get("start_mode"), status=data.get("status"),
                   dependencies=tuple(data.get("dependencies") or ()), dependents_running=tuple(data.get("dependents_running") or ()),
                   trigger_start=bool(data.get("trigger_start")))


@dataclass(frozen=True)
class StartModeChange:
    service: ServiceState
    after: str
    reason: str
    reboot_required: bool = False

    @property
    def target(self) -> str:
        return f"service {self.service.name} start mode"

    def to_op(self) -> dict[str, t.Any]:
        return {"op": "service_set_start_mode", "name": self.service.name, "start_mode": self.after}

    def as_result(self) -> dict[str, t.Any]:
        return {"service": self.service.name, "setting": "start_mode", "before": self.service.start_mode, "after": self.after,
                "reason": self.reason}

    def diff(self) -> DiffEntry:
        header = f"[service {self.service.name}]"
        return DiffEntry(("service", self.service.name.lower()), (header, header),
                         (f"start_mode={self.service.start_mode}", f"start_mode={self.after}"), "1")

    def probed_answer(self) -> dict[str, t.Any]:
        return {"before": self.service.start_mode}

    def backup_record(self, applied: dict[str, t.Any]) -> dict[str, t.Any]:
        return {"kind": "service_start_mode", "service": self.service.name, "before": applied.get("before"), "after": self.after}


@dataclass(frozen=True)
class ServiceStart:
    service: ServiceState
    reason: str
    timeout_seconds: int = 60
    reboot_required: bool = False

    @property
    def target(self) -> str:
        return f"service {self.service.name}"

    def to_op(self) -> dict[str, t.Any]:
        return {"op": "service_start", "name": self.service.name, "timeout_seconds": self.timeout_seconds}

    def as_result(self) -> dict[str, t.Any]:
        return {"service": self.service.name, "setting": "status", "before": self.service.status, "after": "running",
                "reason": self.reason}

    def diff(self) -> DiffEntry:
        header = f"[service {self.service.name}]"
        return DiffEntry(("service", self.service.name.lower()), (header, header), (f"status={self.service.status}", "status=running"), "2")

    def backup_record(self, applied: dict[str, t.Any]) -> dict[str, t.Any]:
        return {"kind": "service_status", "service": self.service.name, "before": self.service.status, "after": "running"}


@dataclass(frozen=True)
class ServiceStop:
    service: ServiceState
    reason: str
    reboot_required: bool = False

    @property
    def target(self) -> str:
        return f"service {self.service.name}"

    def to_op(self) -> dict[str, t.Any]:
        return {"op": "service_stop", "name": self.service.name}

    def as_result(self) -> dict[str, t.Any]:
        return {"service": self.service.name, "setting": "status", "before": self.service.status, "after": "stopped",
                "reason": self.reason}

    def diff(self) -> DiffEntry:
        header = f"[service {self.service.name}]"
        return DiffEntry(("service", self.service.name.lower()), (header, header), (f"status={self.service.status}", "status=stopped"), "2")

    def backup_record(self, applied: dict[str, t.Any]) -> dict[str, t.Any]:
        return {"kind": "service_status", "service": self.service.name, "before": self.service.status, "after": "stopped"}


def dependency_order(services: t.Sequence[ServiceState]) -> list[ServiceState]:
    """The given services, each after those of them it depends on (stable otherwise, cycles tolerated)."""
    by_name = {service.name.lower(): service for service in services}
    ordered: list[ServiceState] = []
    visiting: set[str] = set()

    def visit(service: ServiceState) -> None:
        key = service.name.lower()
        if service in ordered or key in visiting:
            return
        visiting.add(key)
        for dependency in service.dependencies:
            if dependency.lower() in by_name:
                visit(by_name[dependency.lower()])
        ordered.append(service)

    for service in services:
        visit(service)
    return ordered
