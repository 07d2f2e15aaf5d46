"""What the running system uses, as opposed to what its registry says.

Windows reads some values only at certain moments: NlaSvc reads the NCSI values when it starts, and TCP/IP
reads ``DisabledComponents`` at boot. A simulated host keeps what it read (``state["in_effect"]``) from those
moments, so a change written since is visible in the registry but not in what the host does.
"""
from __future__ import annotations

from typing import Any

from winsim.registry import Registry

NCSI_POLICY = "HKLM\\SOFTWARE\\Policies\\Microsoft\\Windows\\NetworkConnectivityStatusIndicator"
NLA_INTERNET = "HKLM\\SYSTEM\\CurrentControlSet\\Services\\NlaSvc\\Parameters\\Internet"
TCPIP6_PARAMETERS = "HKLM\\SYSTEM\\CurrentControlSet\\Services\\Tcpip6\\Parameters"


def ncsi_probing(registry: Registry) -> bool:
    """Whether NCSI's active tests are on by the registry as it is now: the policy value wins over the service value."""
    policy = registry.read(NCSI_POLICY, "64", ["NoActiveProbe"])["values"].get("NoActiveProbe")
    if policy is not None:
        return policy["value"] == 0
    service = registry.read(NLA_INTERNET, "64", ["EnableActiveProbing"])["values"].get("EnableActiveProbing")
    return service is not None and service["value"] == 1


def disabled_components(registry: Registry) -> int:
    found = registry.read(TCPIP6_PARAMETERS, "64", ["DisabledComponents"])["values"].get("DisabledComponents")
    return int(found["value"]) if found and isinstance(found["value"], int) else 0


def at_boot(registry: Registry) -> dict[str, Any]:
    """What a host reads when it starts."""
    return {"ncsi_active_probing": ncsi_probing(registry), "ipv6_disabled_components": disabled_components(registry)}
