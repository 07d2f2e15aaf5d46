# -*- coding: utf-8 -*-
# Copyright: m365ops.activation contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Network adapters as data, and the IPv6 (ms_tcpip6) binding change."""

from __future__ import annotations

import typing as t
from dataclasses import dataclass

from ansible_collections.m365ops.activation.plugins.plugin_utils.engine.changes import DiffEntry


def bare_address(address: str) -> str:
    """An address as adapters list it: lower case, without the zone id of a link-local one (fe80::1%12)."""
    return str(address).split("%", 1)[0].lower()


@dataclass(frozen=True)
class Adapter:
    name: str
    addresses: tuple[str, ...]
    ipv6_bound: bool | None
    management: bool
    if_index: int | None = None
    guid: str | None = None

    @classmethod
    def from_agent(cls, data: dict[str, t.Any], management_addresses: t.Collection[str]) -> "Adapter":
        addresses = tuple(str(address) for address in data.get("addresses") or ())
        wanted = {bare_address(address) for address in management_addresses}
        return cls(name=str(data["name"]), addresses=addresses, ipv6_bound=data.get("ipv6_bound"),
                   management=any(bare_address(address) in wanted for address in addresses),
                   if_index=data.get("if_index"), guid=data.get("guid"))


@dataclass(frozen=True)
class BindingChange:
    """Bind (True) or unbind (False) IPv6 on one adapter."""

    adapter: Adapter
    bound: bool
    reason: str
    reboot_required: bool = False

    @property
    def target(self) -> str:
        return f"the IPv6 binding of adapter '{self.adapter.name}'"

    def to_op(self) -> dict[str, t.Any]:
        op = {"op": "adapter_binding_set", "name": self.adapter.name, "component_id": "ms_tcpip6", "enabled": self.bound}
        # By interface index where known: names change and are matched as wildcards by the NetAdapter cmdlets.
        return op if self.adapter.if_index is None else {**op, "if_index": self.adapter.if_index}

    def as_result(self) -> dict[str, t.Any]:
        return {"adapter": self.adapter.name, "setting": "ms_tcpip6", "before": self.adapter.ipv6_bound, "after": self.bound,
                "reason": self.reason}

    def diff(self) -> DiffEntry:
        header = f"[adapter {self.adapter.name}]"
        return DiffEntry(("adapter", self.adapter.name.lower()), (header, header),
                         (f"ms_tcpip6={'bound' if self.adapter.ipv6_bound else 'unbound'}", f"ms_tcpip6={'bound' if self.bound else 'unbound'}"))

    def probed_answer(self) -> dict[str, t.Any]:
        return {"before": self.adapter.ipv6_bound, "guid": self.adapter.guid}

    def backup_record(self, applied: dict[str, t.Any]) -> dict[str, t.Any]:
        return {"kind": "adapter_binding", "adapter": self.adapter.name, "guid": applied.get("guid") or self.adapter.guid,
                "component_id": "ms_tcpip6", "before": applied.get("before"), "after": self.bound}
