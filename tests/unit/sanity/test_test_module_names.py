"""pytest imports test files by their base name (rootdir-relative, no packages): two files of the same name in different
folders stop the whole run with "import file mismatch", so each name is held to be used once."""
from __future__ import annotations

from collections import Counter
from pathlib import Path

TESTS = Path(__file__).resolve().parents[2]


def test_every_test_file_name_is_used_once() -> None:
    names = Counter(path.name for path in TESTS.rglob("test_*.py") if "output" not in path.parts)
    assert [name for name, count in names.items() if count > 1] == []
