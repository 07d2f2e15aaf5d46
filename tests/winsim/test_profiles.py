"""The simulated fleet is consistent with the Windows facts it models."""
from __future__ import annotations

import pytest

from winsim.effects import at_boot
from winsim.profiles import DOTNET_SETUP, PROFILES
from winsim.registry import Registry

# .NET Framework 4.5.2: WMF 5.1 does not install on less.
DOTNET_452 = 379893


@pytest.mark.parametrize("name", sorted(PROFILES))
def test_a_profile_is_a_host_that_can_exist(name: str) -> None:
    state = PROFILES[name].build("host")
    registry = Registry(state["registry"], PROFILES[name].release.architecture)
    release = registry.read(DOTNET_SETUP, "64", ["Release"])["values"]["Release"]["value"]
    if state.get("powershell_version", "5.1") == "5.1":
        assert release >= DOTNET_452, "WMF 5.1 needs .NET Framework 4.5.2"
    assert all(path == path.lower() for path in state["files"]), "file paths are looked up lower-cased"
    # A host starts running with what its registry says.
    assert state["in_effect"] == at_boot(registry, state["files"])


def test_every_profile_is_in_the_documentation_table() -> None:
    from pathlib import Path
    table = (Path(__file__).resolve().parents[2] / "docs" / "winsim.md").read_text(encoding="utf-8")
    assert [name for name in PROFILES if f"`{name}`" not in table] == []


def test_windows_reads_at_boot_what_the_winrm_account_is_denied() -> None:
    state = PROFILES["win10-tls-hardened"].build("host")
    state["registry"]["HKLM"]["keys"]["SYSTEM"]["deny"] = ["read"]
    registry = Registry(state["registry"], "AMD64")
    with pytest.raises(Exception, match="access is denied"):
        registry.read("HKLM\\SYSTEM\\CurrentControlSet\\Control", "64", None)
    assert at_boot(registry, state["files"])["schannel_tls12_client"] is False
