"""Every module's DOCUMENTATION, EXAMPLES and RETURN, and every filter's documentation, are YAML that parses.

ansible-test sanity says so too, minutes later; this says it in the unit run, naming the block.
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[3]
BLOCKS = ("DOCUMENTATION", "EXAMPLES", "RETURN")


def module_blocks() -> list[tuple[str, str, str]]:
    found = []
    for path in sorted((ROOT / "plugins" / "modules").glob("*.py")):
        for node in ast.parse(path.read_text(encoding="utf-8")).body:
            if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name) and node.targets[0].id in BLOCKS:
                found.append((path.name, node.targets[0].id, node.value.value))
    return found


@pytest.mark.parametrize(("module", "block", "text"), module_blocks(), ids=[f"{item[0]}:{item[1]}" for item in module_blocks()])
def test_module_documentation_parses(module: str, block: str, text: str) -> None:
    assert yaml.safe_load(text) is not None


@pytest.mark.parametrize("path", sorted((ROOT / "plugins" / "filter").glob("*.yml")), ids=lambda path: path.name)
def test_filter_documentation_parses(path: Path) -> None:
    assert set(yaml.safe_load(path.read_text(encoding="utf-8"))) >= {"DOCUMENTATION", "EXAMPLES", "RETURN"}
