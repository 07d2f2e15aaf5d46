"""Every PowerShell file of the collection parses without an error node."""
from __future__ import annotations

from pathlib import Path

import pytest
import tree_sitter
import tree_sitter_powershell

ROOT = Path(__file__).resolve().parents[3]
POWERSHELL_FILES = sorted(
    path for pattern in ("*.ps1", "*.psm1")
    for folder in ("plugins", "roles")
    for path in (ROOT / folder).rglob(pattern)
)


def _parser() -> tree_sitter.Parser:
    return tree_sitter.Parser(tree_sitter.Language(tree_sitter_powershell.language()))


def syntax_errors(source: bytes) -> list[str]:
    """Describe each ERROR or MISSING node as 'line:column text'."""
    found: list[str] = []
    cursor = [_parser().parse(source).root_node]
    while cursor:
        node = cursor.pop()
        if node.is_error or node.is_missing:
            row, column = node.start_point
            snippet = source[node.start_byte:node.end_byte][:60].decode("utf-8", "replace")
            found.append(f"{row + 1}:{column + 1} {'missing' if node.is_missing else 'error'} {snippet!r}")
        cursor.extend(node.children)
    return found


def test_the_collection_has_powershell_to_check() -> None:
    assert any(path.name == "win_agent.ps1" for path in POWERSHELL_FILES)


@pytest.mark.parametrize("path", POWERSHELL_FILES, ids=lambda path: path.name)
def test_parses_clean(path: Path) -> None:
    assert syntax_errors(path.read_bytes()) == []


def test_the_checker_catches_a_real_syntax_error() -> None:
    assert syntax_errors(b"Function Broken {\n    if ($true) {\n        'unclosed'\n}\n")
