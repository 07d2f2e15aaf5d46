"""Build the HostState a concern's plan() sees, from a release and a few registry values."""
from __future__ import annotations

from typing import Iterable

from ansible_collections.m365ops.activation.plugins.plugin_utils.engine.concern import HostState
from ansible_collections.m365ops.activation.plugins.plugin_utils.registry import RegistryKey, RegistryRef, RegistrySnapshot, RegistryValue
from ansible_collections.m365ops.activation.plugins.plugin_utils.windows import WindowsHost

# name: (major, minor, build, service pack, product type)
RELEASES = {
    "vista": (6, 0, 6002, 2, 1), "win7rtm": (6, 1, 7600, 0, 1), "win7": (6, 1, 7601, 1, 1),
    "2008r2": (6, 1, 7601, 1, 3), "2012": (6, 2, 9200, 0, 3), "win81": (6, 3, 9600, 0, 1),
    "win10-1511": (10, 0, 10586, 0, 1), "win10": (10, 0, 19045, 0, 1), "win11": (10, 0, 22631, 0, 1),
    "2022": (10, 0, 20348, 0, 3),
}


def dword(value: int) -> RegistryValue:
    return RegistryValue("dword", value)


def make_state(release: str, refs: Iterable[RegistryRef], values: dict[tuple[str, str, str], RegistryValue] | None = None,
               hotfixes: tuple[str, ...] = ("KB3140245",), architecture: str = "AMD64",
               existing_keys: tuple[tuple[str, str], ...] = (), probes: dict | None = None) -> HostState:
    """``values`` maps (key path, view, name) to the value the probe found; every other probed ref is absent; ``probes`` are
    the answers to the concern's probe_ops by its names."""
    major, minor, build, service_pack, product_type = RELEASES[release]
    windows = WindowsHost(major, minor, build, service_pack, product_type, architecture, frozenset(hotfixes))
    probed = {ref: (values or {}).get((ref.key.path, ref.key.view, ref.name)) for ref in refs}
    return HostState(windows, RegistrySnapshot(probed, {RegistryKey(path, view) for path, view in existing_keys}), dict(probes or {}))


def changes_of(plan) -> dict[tuple[str, str, str], object]:
    """(key, view, name) -> new value, or None for a removal; key removals are left out."""
    return {(change.ref.key.path, change.ref.key.view, change.ref.name): None if change.after is None else change.after.value
            for change in plan.changes if hasattr(change, "ref")}
