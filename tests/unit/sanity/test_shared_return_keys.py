"""Every concern module returns the same keys (ConcernAction builds them all): each is documented in every module, the
keys whose meaning is the engine's word for word alike, the others with the same type and the same 'returned'."""
from __future__ import annotations

import re
import typing as t
from pathlib import Path

import pytest
import yaml

from ansible_collections.m365ops.activation.plugins.plugin_utils.concerns.catalog import ORDER

ROOT = Path(__file__).resolve().parents[3]
MODULES = [f"win_{concern.NAME}" for concern in ORDER]
# What the engine means the same way for every concern (plugin_utils/engine/run.py, journal.py).
ENGINE_KEYS = ("status", "check_mode", "reboot_owed_by", "agent_executions", "backup_file", "diff", "interrupted", "journal")
# What every concern returns, in its own words.
CONCERN_KEYS = ("changes", "blockers", "drift", "reboot_required", "backup")


def returned(module: str) -> dict[str, t.Any]:
    text = (ROOT / "plugins" / "modules" / f"{module}.py").read_text(encoding="utf-8")
    return yaml.safe_load(re.search(r'RETURN = r"""\n(.*?)"""', text, re.S).group(1))


@pytest.mark.parametrize("module", MODULES)
def test_the_engines_keys_are_documented_alike_in_every_concern_module(module: str) -> None:
    reference, mine = returned(MODULES[0]), returned(module)
    for key in ENGINE_KEYS:
        assert mine.get(key) == reference[key], f"{module} documents {key} differently from {MODULES[0]}"
    for key in CONCERN_KEYS:
        assert key in mine, f"{module} does not document {key}"
        assert {field: mine[key].get(field) for field in ("type", "elements", "returned")} == \
            {field: reference[key].get(field) for field in ("type", "elements", "returned")}, key
