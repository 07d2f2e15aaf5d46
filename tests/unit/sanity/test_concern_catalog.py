"""One catalog of the concerns (plugin_utils/concerns/catalog.py): every list of concern names elsewhere, in the fleet
role's argument spec and tags, the playbooks, the modules' documented choices and the filters' docs, is held to it."""
from __future__ import annotations

import re
import typing as t
from pathlib import Path

import yaml

from ansible_collections.m365ops.activation.plugins.filter.report import CONCERNS, OFFICE_CONCERNS
from ansible_collections.m365ops.activation.plugins.plugin_utils.concerns.catalog import DEFAULT_CONCERNS, OFFICE_STEPS, ORDER

ROOT = Path(__file__).resolve().parents[3]
NAMES = [concern.NAME for concern in ORDER]


def load(relative: str) -> t.Any:
    return yaml.safe_load((ROOT / relative).read_text(encoding="utf-8"))


def module_doc(name: str) -> dict[str, t.Any]:
    text = (ROOT / "plugins" / "modules" / f"{name}.py").read_text(encoding="utf-8")
    return yaml.safe_load(re.search(r'DOCUMENTATION = r"""\n(.*?)"""', text, re.S).group(1))


def test_the_defaults_and_the_office_steps_are_concerns_of_the_catalog() -> None:
    assert set(DEFAULT_CONCERNS) < set(NAMES) and set(OFFICE_STEPS) < set(NAMES)
    assert not set(DEFAULT_CONCERNS) & set(OFFICE_STEPS) and "ipv6" not in DEFAULT_CONCERNS
    assert sorted(CONCERNS + OFFICE_CONCERNS) == sorted(NAMES)


def test_the_fleet_roles_argument_spec_offers_the_catalog() -> None:
    spec = load("roles/fleet/meta/argument_specs.yml")["argument_specs"]["fleet"]["options"]
    assert spec["m365ops_concerns"]["choices"] == NAMES
    assert spec["m365ops_concerns"]["default"] == DEFAULT_CONCERNS
    assert {f"m365ops_{name}" for name in NAMES} <= set(spec), "every concern's options variable is documented"


def test_no_task_of_the_fleet_carries_several_concerns_names_as_tags() -> None:
    # --skip-tags naming one of them would skip such a task whole. The tasks that run several concerns together are
    # tagged always and run what selected_concerns leaves of --tags and --skip-tags.
    tasks = load("roles/fleet/tasks/main.yml")
    assert not [task["name"] for task in tasks if len(set(task.get("tags", [])) & set(NAMES)) > 1]
    combined = [task for task in tasks if task.get("ansible.builtin.include_tasks") == "diagnose.yml"
                or any("m365ops.activation.win_activation" in inner for inner in task.get("block", []))]
    assert len(combined) == 2 and all(task["tags"] == ["always"] for task in combined)


def test_the_combined_modules_document_the_catalog() -> None:
    for module in ("win_activation", "win_activation_facts"):
        option = module_doc(module)["options"]["concerns"]
        assert option["choices"] == NAMES and option["default"] == DEFAULT_CONCERNS, module
    assert all(name in module_doc("win_activation")["options"] for name in NAMES)


def test_the_report_filter_documents_its_default_concerns() -> None:
    doc = load("plugins/filter/compliance_report.yml")["DOCUMENTATION"]
    assert doc["options"]["concerns"]["default"] == list(CONCERNS + OFFICE_CONCERNS)


def test_restore_offers_the_concerns_whose_changes_it_can_put_back() -> None:
    play = load("playbooks/restore.yml")[0]
    task = next(task for task in play["tasks"] if "m365ops.activation.win_restore" in task)
    # Credentials are removed without their secrets ever being read, and an Office version cannot be put back.
    assert play["vars"]["restore_cannot"] == ["office_credentials", "office_update"]
    assert task["tags"] == ["always"] and "reject('in', restore_cannot)" in play["vars"]["restore_concerns"]
