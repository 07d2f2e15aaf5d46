"""Every regular expression of the controller code matches whole strings: none ends in ``$``, which also matches before
a final newline, so a value ending in a newline would pass a check and reach the host. Validation uses ``fullmatch``
(or ``\\Z``); this test reads every ``re`` call and compiled pattern in ``plugins/`` and holds them to that."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

PLUGINS = Path(__file__).resolve().parents[3] / "plugins"
RE_CALLS = {"compile", "match", "fullmatch", "search", "sub", "split", "findall", "finditer"}


def patterns() -> list[tuple[str, int, str]]:
    found = []
    for path in sorted(PLUGINS.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in RE_CALLS
                    and isinstance(node.func.value, ast.Name) and node.func.value.id == "re" and node.args
                    and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str)):
                found.append((str(path.relative_to(PLUGINS)), node.lineno, node.args[0].value))
    return found


def test_the_scan_finds_the_collections_patterns() -> None:
    assert len(patterns()) >= 10


@pytest.mark.parametrize("where, line, pattern", patterns(), ids=lambda value: str(value)[:40])
def test_no_pattern_ends_a_match_with_dollar(where: str, line: int, pattern: str) -> None:
    unescaped = [index for index, char in enumerate(pattern) if char == "$" and (index == 0 or pattern[index - 1] != "\\")]
    assert not unescaped, f"{where}:{line}: {pattern!r} uses '$'; use fullmatch or \\Z"


def test_match_is_never_used_to_validate_a_whole_value() -> None:
    """``pattern.match(value)`` checks a prefix only; the collection's validations use fullmatch."""
    offenders = []
    for path in sorted(PLUGINS.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not) and isinstance(node.operand, ast.Call):
                call = node.operand.func
                if isinstance(call, ast.Attribute) and call.attr == "match":
                    offenders.append(f"{path.relative_to(PLUGINS)}:{node.lineno}")
    assert offenders == []
