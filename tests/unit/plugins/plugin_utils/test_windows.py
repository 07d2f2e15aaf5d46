from __future__ import annotations

import pytest

from ansible_collections.m365ops.activation.plugins.plugin_utils.windows import WindowsHost


@pytest.mark.parametrize(("version", "service_pack", "product_type", "name"), [
    ((6, 1, 7601), 1, 1, "Windows 7 SP1"),
    ((6, 1, 7601), 1, 3, "Windows Server 2008 R2 SP1"),
    ((6, 2, 9200), 0, 3, "Windows Server 2012"),
    ((6, 3, 9600), 0, 2, "Windows Server 2012 R2"),
    ((10, 0, 19045), 0, 1, "Windows 10"),
    ((10, 0, 22631), 0, 1, "Windows 11"),
    ((10, 0, 17763), 0, 3, "Windows Server 2019"),
    ((10, 0, 99999), 0, 3, "Windows Server (build 99999)"),
])
def test_release_names(version: tuple[int, int, int], service_pack: int, product_type: int, name: str) -> None:
    host = WindowsHost(*version, service_pack, product_type, "AMD64", frozenset())
    assert host.name == name


def test_from_system_info() -> None:
    host = WindowsHost.from_system_info({
        "os": {"major": 6, "minor": 1, "build": 7601, "service_pack": 1, "product_type": 1, "architecture": "x86"},
        "hotfixes": ["kb3140245"], "pending_reboot": ["windows_update"],
    })
    assert host.has_hotfix("KB3140245") and not host.has_wow64 and not host.is_server
    assert host.pending_reboot == ("windows_update",)
