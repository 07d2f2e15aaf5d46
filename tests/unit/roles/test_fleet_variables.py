"""The fleet role's list of known variables is the union of what the roles document and register."""
from __future__ import annotations

import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[3]
ROLES = ROOT / "roles"


def fleet_vars() -> dict:
    return yaml.safe_load((ROLES / "fleet" / "vars" / "main.yml").read_text(encoding="utf-8"))


def documented_options() -> set[str]:
    names = set()
    for spec in ROLES.glob("*/meta/argument_specs.yml"):
        for entry in yaml.safe_load(spec.read_text(encoding="utf-8"))["argument_specs"].values():
            names |= set(entry.get("options", {}))
    return names


def registered_and_set() -> set[str]:
    """Names the roles register or set_fact, read from their tasks."""
    names: set[str] = set()
    for tasks in ROLES.glob("*/tasks/*.yml"):
        text = tasks.read_text(encoding="utf-8")
        names |= set(re.findall(r"register: (\w+)", text)) | set(re.findall(r"set_fact:\n\s+(\w+):", text))
    return names


def test_known_variables_cover_every_documented_option_and_registered_result() -> None:
    known = set(fleet_vars()["fleet_known_variables"])
    missing = (documented_options() | registered_and_set() | set(fleet_vars())) - known
    assert not missing, f"add to roles/fleet/vars/main.yml fleet_known_variables: {sorted(missing)}"
    prefix = re.compile(fleet_vars()["fleet_variable_prefixes"])
    assert all(prefix.match(name) for name in known), "every known name carries one of the checked prefixes"


def test_the_default_concerns_are_the_documented_ones() -> None:
    spec = yaml.safe_load((ROLES / "fleet" / "meta" / "argument_specs.yml").read_text(encoding="utf-8"))
    documented = spec["argument_specs"]["main"]["options"]["m365ops_concerns"]["default"]
    assert fleet_vars()["fleet_concerns"] == "{{ m365ops_concerns | default(" + repr(documented) + ") }}"
    assert "ipv6" not in documented, "IPv6 off-retry-on is opt-in"
