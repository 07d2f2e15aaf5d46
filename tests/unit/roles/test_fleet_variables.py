"""The playbook-level variables: every m365ops_ variable the collection reads is documented, and any other is refused."""
from __future__ import annotations

import re
from pathlib import Path

import yaml

from ansible_collections.m365ops.activation.plugins.filter.report import collection_variables, unknown_variables

ROOT = Path(__file__).resolve().parents[3]
ROLES = ROOT / "roles"


def fleet_vars() -> dict:
    return yaml.safe_load((ROLES / "fleet" / "vars" / "main.yml").read_text(encoding="utf-8"))


def documented(path: Path) -> set[str]:
    return {name for entry in yaml.safe_load(path.read_text(encoding="utf-8"))["argument_specs"].values() for name in entry.get("options", {})}


def test_every_variable_a_role_reads_is_in_its_argument_spec_or_the_fleets() -> None:
    fleet = documented(ROLES / "fleet" / "meta" / "argument_specs.yml")
    for role in ROLES.iterdir():
        read = {name for path in role.glob("*/*.yml") if path.parent.name in ("tasks", "vars", "defaults")
                for name in re.findall(r"\bm365ops_[a-z0-9_]+\b", path.read_text(encoding="utf-8"))}
        read.discard("m365ops_activation")  # the facts win_activation_facts returns, not a variable anyone sets
        missing = read - documented(role / "meta" / "argument_specs.yml") - fleet
        assert not missing, f"document in roles/{role.name}/meta/argument_specs.yml: {sorted(missing)}"


def test_every_variable_a_playbook_reads_is_documented_in_its_header_or_the_fleets_spec() -> None:
    fleet = documented(ROLES / "fleet" / "meta" / "argument_specs.yml")
    for playbook in (ROOT / "playbooks").glob("*.yml"):
        text = playbook.read_text(encoding="utf-8")
        header = "".join(line for line in text.splitlines(keepends=True)[:20] if line.startswith("#"))
        read = set(re.findall(r"\bm365ops_[a-z0-9_]+\b", text)) - {"m365ops_activation"}
        missing = {name for name in read - fleet if name not in header}
        assert not missing, f"{playbook.name} reads {sorted(missing)} without saying so in its header"


def test_the_known_variables_are_those_the_collection_reads() -> None:
    known = collection_variables()
    assert {"m365ops_tls12", "m365ops_ipv6", "m365ops_backup_dir", "m365ops_restore_source", "m365ops_restore_trust_unsigned"} <= known
    assert not {name for name in known if not name.startswith("m365ops_")}
    # Nothing of the deprecated per-option variables, nor the roles' own: only m365ops_ names are checked.
    assert unknown_variables(["m365ops_tls12", "m365ops_restore_run"]) == []
    message, = unknown_variables(["m365ops_tsl12", "m365ops_tls12"])
    assert message.startswith("m365ops_tsl12 is not a variable of m365ops.activation; did you mean m365ops_tls12?")


def test_the_default_concerns_are_the_documented_ones() -> None:
    spec = yaml.safe_load((ROLES / "fleet" / "meta" / "argument_specs.yml").read_text(encoding="utf-8"))
    documented_default = spec["argument_specs"]["fleet"]["options"]["m365ops_concerns"]["default"]
    assert fleet_vars()["fleet_concerns"] == "{{ m365ops_concerns | default(" + repr(documented_default) + ") }}"
    assert "ipv6" not in documented_default, "IPv6 off-retry-on is opt-in"


def test_the_fleet_passes_every_concern_its_one_variable() -> None:
    from ansible_collections.m365ops.activation.plugins.plugin_utils.concerns.catalog import ORDER

    passed = fleet_vars()["fleet_concern_options"]
    assert passed == {concern.NAME: f"{{{{ lookup('m365ops.activation.concern_options', '{concern.NAME}') }}}}"
                      for concern in ORDER if concern.NAME != "ipv6"}
