"""Every blocker and drift entry a concern writes carries a code (action.Reason), so findings match codes, never the words
of a sentence: a static read of every plugin, which fails on an entry added without one."""
from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
CODE = re.compile(r"[a-z0-9_]+\.[a-z0-9_]+")


def entries_written() -> list[tuple[str, int, ast.expr]]:
    found = []
    for path in sorted((ROOT / "plugins").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in ("append", "extend", "insert")
                    and isinstance(node.func.value, ast.Attribute) and node.func.value.attr in ("blockers", "drift")):
                found.append((str(path.relative_to(ROOT)), node.lineno, node.args[-1]))
    return found


def test_every_blocker_and_drift_entry_is_a_reason_with_a_code() -> None:
    written = entries_written()
    assert len(written) >= 20, "the scan found the concerns' blockers and drift"
    bad = [f"{path}:{line}" for path, line, value in written
           if not (isinstance(value, ast.Call) and getattr(value.func, "id", None) == "Reason" and value.args
                   and isinstance(value.args[0], ast.Constant) and CODE.fullmatch(str(value.args[0].value)))]
    assert bad == []
