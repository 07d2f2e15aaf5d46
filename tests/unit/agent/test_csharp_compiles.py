"""Every C# module_util of the collection compiles (Mono's mcs; P/Invoke needs no Windows to compile)."""
from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
CSHARP_FILES = sorted((ROOT / "plugins").rglob("*.cs"))
MCS = shutil.which("mcs")


def test_the_collection_has_csharp_to_check() -> None:
    assert any(path.name == "WinHttpProxy.cs" for path in CSHARP_FILES)


@pytest.mark.skipif(MCS is None, reason="mcs (Debian package mono-mcs) is not installed; `make tools` installs it")
@pytest.mark.parametrize("path", CSHARP_FILES, ids=lambda path: path.name)
def test_compiles_without_warnings(path: Path, tmp_path: Path) -> None:
    completed = subprocess.run([MCS, "-target:library", "-warnaserror", f"-out:{tmp_path / 'util.dll'}", str(path)],
                               capture_output=True, text=True, check=False)
    assert completed.returncode == 0, completed.stdout + completed.stderr


@pytest.mark.skipif(MCS is None, reason="mcs (Debian package mono-mcs) is not installed")
def test_the_compiler_catches_an_error(tmp_path: Path) -> None:
    broken = tmp_path / "broken.cs"
    broken.write_text("public class Broken { public int Value() { return \"text\"; } }\n", encoding="utf-8")
    completed = subprocess.run([MCS, "-target:library", f"-out:{tmp_path / 'b.dll'}", str(broken)], capture_output=True, check=False)
    assert completed.returncode != 0


# C# that a PowerShell module_util compiles with Add-Type where no Ansible C# util can go (a user's session task).
EMBEDDED = sorted((path, match.group(1)) for path in (ROOT / "plugins").rglob("*.psm1")
                  for match in re.finditer(r"@'\n(.*?namespace .*?)\n'@", path.read_text(encoding="utf-8"), re.S))


def test_the_session_script_carries_csharp_to_check() -> None:
    assert any(path.name == "UserSession.psm1" for path, _source in EMBEDDED)


@pytest.mark.skipif(MCS is None, reason="mcs (Debian package mono-mcs) is not installed; `make tools` installs it")
@pytest.mark.parametrize(("path", "source"), EMBEDDED, ids=lambda item: item.name if isinstance(item, Path) else "source")
def test_embedded_csharp_compiles_without_warnings(path: Path, source: str, tmp_path: Path) -> None:
    file = tmp_path / "embedded.cs"
    file.write_text(source, encoding="utf-8")
    completed = subprocess.run([MCS, "-target:library", "-warnaserror", f"-out:{tmp_path / 'embedded.dll'}", str(file)],
                               capture_output=True, text=True, check=False)
    assert completed.returncode == 0, completed.stdout + completed.stderr
