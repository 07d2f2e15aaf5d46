"""What a host lacks, from the read-only prerequisites probe."""
from __future__ import annotations

import json

import pytest

from ansible_collections.m365ops.activation.plugins.filter.prerequisites import prerequisites_facts

READY = {"probe": 1, "powershell": "5.1.14409.1005", "architecture": "AMD64", "dotnet4_release": 394802, "os_version": "6.1",
         "os_build": "7601", "schannel_tls12_client_enabled": 1, "schannel_tls12_client_disabled_by_default": 0,
         "winhttp_default_secure_protocols": 0xA80, "winhttp_default_secure_protocols_32": 0xA80}


@pytest.mark.parametrize(("changes", "lacks"), [
    ({}, []),
    ({"powershell": "2.0", "dotnet4_release": None}, [".NET Framework", "Windows Management Framework 5.1 (PowerShell 2.0"]),
    ({"dotnet4_release": 378675}, [".NET Framework"]),
    ({"schannel_tls12_client_enabled": None}, ["SCHANNEL"]),
    ({"schannel_tls12_client_disabled_by_default": 1}, ["SCHANNEL"]),
    ({"winhttp_default_secure_protocols_32": None}, ["32-bit view"]),
    ({"winhttp_default_secure_protocols": 0xA0}, ["64-bit view"]),
    ({"architecture": "x86", "winhttp_default_secure_protocols_32": None}, []),
    ({"os_version": "6.3", "schannel_tls12_client_enabled": None, "winhttp_default_secure_protocols": None,
      "winhttp_default_secure_protocols_32": None}, []),
])
def test_lacks(changes: dict, lacks: list[str]) -> None:
    facts = prerequisites_facts("#< CLIXML noise\r\n" + json.dumps({**READY, **changes}) + "\r\n")
    assert len(facts["lacks"]) == len(lacks) and all(found.startswith(want) or want in found for found, want in zip(facts["lacks"], lacks))
    assert facts["ready"] is (not lacks)


def test_no_json_is_an_error() -> None:
    with pytest.raises(ValueError, match="no JSON"):
        prerequisites_facts("Access is denied.")
