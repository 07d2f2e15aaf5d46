# -*- coding: utf-8 -*-
# Copyright: m365ops.activation contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What a host lacks before the collection's modules can run on it, from the read-only prerequisites probe."""

from __future__ import annotations

import json
import typing as t

# .NET Framework 4.5.2 is the Release value 379893 (Microsoft's table of .NET Framework release keys); WMF 5.1 needs it
# on Windows 7 SP1 / 2008 R2 SP1, and the agent uses nothing newer.
DOTNET_452 = 379893
TLS1_2 = 0x800


def _version(text: t.Any) -> tuple[int, ...]:
    try:
        return tuple(int(part) for part in str(text).split(".")[:2])
    except ValueError:
        return ()


def prerequisites_facts(stdout: str) -> dict[str, t.Any]:
    """The probe's answer, and ``lacks``: what to install or set, in the order to do it."""
    line = next((line for line in reversed(str(stdout).splitlines()) if line.strip().startswith("{")), "")
    try:
        probe = json.loads(line)
    except ValueError as error:
        raise ValueError(f"prerequisites_facts: the probe printed no JSON object ({error}): {str(stdout)[:200]!r}") from error
    lacks = []
    release = probe.get("dotnet4_release")
    if not isinstance(release, int) or release < DOTNET_452:
        lacks.append(".NET Framework 4.5.2 or later (4.6.1 or later recommended)")
    if _version(probe.get("powershell")) < (5, 1):
        lacks.append(f"Windows Management Framework 5.1 (PowerShell {probe.get('powershell')} runs no Ansible module)")
    legacy = _version(probe.get("os_version")) in ((6, 1), (6, 2))
    schannel_off = probe.get("schannel_tls12_client_enabled") in (None, 0) or probe.get("schannel_tls12_client_disabled_by_default") != 0
    if _version(probe.get("os_version")) == (6, 1) and schannel_off:
        lacks.append("SCHANNEL TLS 1.2 client values (Enabled=1, DisabledByDefault=0)")
    views = [("winhttp_default_secure_protocols", "64-bit")]
    if str(probe.get("architecture", "")).upper() != "X86":
        views.append(("winhttp_default_secure_protocols_32", "32-bit"))
    for name, label in views:
        bits = probe.get(name)
        if (legacy and bits is None) or (isinstance(bits, int) and not bits & TLS1_2):
            lacks.append(f"WinHTTP DefaultSecureProtocols with TLS 1.2 (0x800) in the {label} view, which Windows 7 / 2008 R2 / 2012 "
                         "honour only with update KB3140245")
    return {**probe, "lacks": lacks, "ready": not lacks}


class FilterModule:
    def filters(self) -> dict[str, t.Callable[..., t.Any]]:
        return {"prerequisites_facts": prerequisites_facts}
