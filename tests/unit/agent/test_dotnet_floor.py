"""The agent uses no .NET member that came after .NET Framework 4.5.2 (the floor under WMF 5.1 on Windows 7 / 2008 R2).

A member newer than the host's framework reads as $null in Windows PowerShell (no StrictMode in Ansible's wrapper), so
using one fails silently: ServiceController.StartType (4.6.1) made every start mode '' on 8.1 / 2012 R2 hosts with 4.5.x.
"""
from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
SCRIPTS = sorted((ROOT / "plugins").rglob("*.ps1")) + sorted((ROOT / "plugins").rglob("*.psm1"))

# Member -> the .NET Framework release that brought it.
NEWER_THAN_452 = {
    r"\.StartType\b": "4.6.1 (ServiceController.StartType)",
    r"(To|From)UnixTime(Seconds|Milliseconds)": "4.6 (DateTimeOffset)",
    r"\[(System\.)?Array\]::Empty": "4.6",
    r"RuntimeInformation": "4.7.1",
    r"ValueTuple": "4.7",
    r"SecurityProtocolType\]::Tls13": "4.8",
    r"\.Append\(|\.Prepend\(": "4.7.1 (Enumerable.Append/Prepend)",
    r"\[(System\.)?HashCode\]": "Core only",
}


def code_without_comments(path: Path) -> str:
    return "\n".join(re.sub(r"(^|\s)#.*$", "", line) for line in path.read_text(encoding="utf-8").splitlines())


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda path: path.name)
def test_no_member_newer_than_dotnet_452(script: Path) -> None:
    code = code_without_comments(script)
    found = {pattern: release for pattern, release in NEWER_THAN_452.items() if re.search(pattern, code)}
    assert not found, f"{script.name} uses members newer than .NET Framework 4.5.2: {found}"


def test_the_deny_list_catches_the_member_that_broke_start_modes() -> None:
    assert re.search(next(iter(NEWER_THAN_452)), "$mode = ([string]$Service.StartType).ToLowerInvariant()")
