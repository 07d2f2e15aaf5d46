"""Each concern's module documents exactly the options its concern's argument spec validates: the spec is the one
definition (plugin_utils/concerns/<name>.py), and the documentation is held to it here."""
from __future__ import annotations

import re
import typing as t
from pathlib import Path

import pytest
import yaml

from ansible_collections.m365ops.activation.plugins.plugin_utils.concerns.catalog import ORDER
from ansible_collections.m365ops.activation.plugins.plugin_utils.engine.concern import COMMON_ARGUMENT_SPEC

ROOT = Path(__file__).resolve().parents[3]
KEYS = ("type", "elements", "choices", "default", "required")


def documentation(path: Path, name: str = "DOCUMENTATION") -> dict[str, t.Any]:
    namespace: dict[str, t.Any] = {}
    exec(compile(path.read_text(encoding="utf-8"), str(path.name), "exec"), namespace)  # pylint: disable=exec-used
    holder = namespace.get("ModuleDocFragment", None)
    return yaml.safe_load(getattr(holder, name) if holder is not None else namespace[name])


def documented_options(module: str) -> dict[str, dict[str, t.Any]]:
    """The module's options with those of the collection's documentation fragments it extends."""
    doc = documentation(ROOT / "plugins" / "modules" / f"{module}.py")
    options = dict(doc["options"])
    for fragment in doc.get("extends_documentation_fragment", []):
        collection, _dot, name = fragment.rpartition(".")
        if collection == "m365ops.activation":
            options.update(documentation(ROOT / "plugins" / "doc_fragments" / f"{name}.py").get("options", {}))
    return options


def normalized(entry: dict[str, t.Any]) -> dict[str, t.Any]:
    """What a documented option and a spec entry must agree on; unset and null, str and the doc's default type, are one."""
    out = {key: entry.get(key) for key in KEYS}
    out["type"] = out["type"] or "str"
    out["required"] = bool(out["required"])
    sub = entry.get("suboptions", entry.get("options"))
    if sub:
        out["suboptions"] = {name: normalized(value) for name, value in sub.items()}
    return {key: value for key, value in out.items() if value is not None}


@pytest.mark.parametrize("concern", ORDER, ids=[concern.NAME for concern in ORDER])
def test_the_module_documents_the_concerns_spec(concern: t.Any) -> None:
    documented = documented_options(f"win_{concern.NAME}")
    spec = {**COMMON_ARGUMENT_SPEC, **concern.ARGUMENT_SPEC}
    assert sorted(documented) == sorted(spec), "options documented but not validated, or validated but not documented"
    differ = {name: (normalized(documented[name]), normalized(spec[name])) for name in spec
              if normalized(documented[name]) != normalized(spec[name])}
    assert not differ, differ


def test_the_module_pages_leave_options_and_return_values_to_the_modules_documentation() -> None:
    for page in sorted((ROOT / "docs" / "modules").glob("*.md")):
        text = page.read_text(encoding="utf-8")
        assert not re.search(r"^## (Options|Returns)$", text, re.MULTILINE), f"{page.name} restates what ansible-doc says"
        assert f"ansible-doc m365ops.activation.{page.stem}`" in text, f"{page.name} does not point to the module's documentation"
