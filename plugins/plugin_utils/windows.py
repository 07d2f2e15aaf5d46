# -*- coding: utf-8 -*-
# Copyright: m365ops.activation contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the controller knows about a host's Windows release, from the agent's system_info op."""

from __future__ import annotations

import typing as t
from dataclasses import dataclass

_SERVER_BUILDS = {14393: "2016", 17763: "2019", 20348: "2022", 26100: "2025"}
_NT6_NAMES = {
    (6, 0): ("Windows Vista", "Windows Server 2008"),
    (6, 1): ("Windows 7", "Windows Server 2008 R2"),
    (6, 2): ("Windows 8", "Windows Server 2012"),
    (6, 3): ("Windows 8.1", "Windows Server 2012 R2"),
}


@dataclass(frozen=True)
class WindowsHost:
    major: int
    minor: int
    build: int
    service_pack: int
    product_type: int
    architecture: str
    hotfixes: frozenset[str]
    pending_reboot: tuple[str, ...] = ()
    boot_time: str | None = None

    @classmethod
    def from_system_info(cls, data: dict[str, t.Any]) -> "WindowsHost":
        os_info = data["os"]
        return cls(
            major=int(os_info["major"]), minor=int(os_info["minor"]), build=int(os_info["build"]),
            service_pack=int(os_info.get("service_pack") or 0), product_type=int(os_info["product_type"]),
            architecture=str(os_info.get("architecture") or "AMD64"),
            hotfixes=frozenset(str(kb).upper() for kb in data.get("hotfixes", [])),
            pending_reboot=tuple(data.get("pending_reboot", [])),
            boot_time=str(data["boot_time"]) if data.get("boot_time") else None,
        )

    @property
    def version(self) -> tuple[int, int]:
        return self.major, self.minor

    @property
    def is_server(self) -> bool:
        # Win32_OperatingSystem.ProductType: 1 workstation, 2 domain controller, 3 server.
        return self.product_type != 1

    @property
    def has_wow64(self) -> bool:
        """64-bit Windows keeps a separate 32-bit registry view (Wow6432Node)."""
        return self.architecture.upper() != "X86"

    def has_hotfix(self, kb: str) -> bool:
        return kb.upper() in self.hotfixes

    @property
    def name(self) -> str:
        if self.version in _NT6_NAMES:
            base = _NT6_NAMES[self.version][1 if self.is_server else 0]
        elif self.major == 10 and self.is_server:
            base = f"Windows Server {_SERVER_BUILDS.get(self.build, f'(build {self.build})')}"
        elif self.major == 10:
            base = "Windows 11" if self.build >= 22000 else "Windows 10"
        else:
            base = f"Windows NT {self.major}.{self.minor}"
        return f"{base} SP{self.service_pack}" if self.service_pack else base
