"""The repository as an AWX project: the collection requirements a project sync installs (``collections/requirements.yml``,
read with ``ansible-galaxy`` from the project's root, as AWX's project update runs it) give this collection from the
project itself and the collections it depends on, and the playbooks AWX lists are the collection's own."""
from __future__ import annotations

from pathlib import Path

import yaml

from scripts.awx_project import sync_own_collection

ROOT = Path(__file__).resolve().parents[3]
REQUIREMENTS = ROOT / "collections" / "requirements.yml"


def requirements() -> list[dict]:
    return yaml.safe_load(REQUIREMENTS.read_text(encoding="utf-8"))["collections"]


def test_every_collection_the_collection_depends_on_is_required_with_the_same_versions() -> None:
    galaxy = yaml.safe_load((ROOT / "galaxy.yml").read_text(encoding="utf-8"))
    listed = {entry["name"]: entry for entry in requirements()}
    assert listed[f"{galaxy['namespace']}.{galaxy['name']}"] == {"name": "m365ops.activation", "type": "dir", "source": "."}
    assert {name: entry["version"] for name, entry in listed.items() if name != "m365ops.activation"} == galaxy["dependencies"]


def test_a_project_sync_installs_this_collection_from_the_project(tmp_path: Path) -> None:
    # The project's own entry, installed as AWX's project update does (from the project's root, the collections path at
    # its target, so nothing installed elsewhere counts); the others come from a Galaxy server, which this machine does
    # not reach.
    target = tmp_path / "requirements_collections"
    installed = sync_own_collection(ROOT, target)
    assert installed.returncode == 0, installed.stdout + installed.stderr
    collection = target / "ansible_collections" / "m365ops" / "activation"
    for needed in ("roles/fleet/tasks/main.yml", "playbooks/audit.yml", "plugins/modules/win_agent.ps1", "meta/runtime.yml"):
        assert (collection / needed).is_file(), needed
    # What a checkout holds besides the collection stays out of the job's copy.
    assert not any((collection / left).exists() for left in ("tests", "winsim", "collections", ".build", "demo-output"))


def roles_of(node: object) -> list[str]:
    """Every role a play names: under ``roles`` (a name or ``role:``) and in ``include_role``/``import_role`` tasks."""
    found: list[str] = []
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "roles":
                found += [item if isinstance(item, str) else item.get("role") or item.get("name") for item in value]
            elif key in ("ansible.builtin.include_role", "ansible.builtin.import_role", "include_role", "import_role"):
                found.append(value["name"])
            else:
                found += roles_of(value)
    elif isinstance(node, list):
        for item in node:
            found += roles_of(item)
    return found


def test_the_playbooks_an_awx_project_lists_use_this_collection_by_its_name() -> None:
    named = []
    for playbook in sorted((ROOT / "playbooks").glob("*.yml")):
        plays = yaml.safe_load(playbook.read_text(encoding="utf-8"))
        assert isinstance(plays, list) and all("hosts" in play or "ansible.builtin.import_playbook" in play for play in plays), playbook.name
        named += roles_of(plays)
    # By full name: a job runs the playbook from the project, where no role sits beside it, and finds the role in the
    # collection the project sync installed.
    assert "m365ops.activation.fleet" in named
    assert all(name.startswith("m365ops.activation.") for name in named), named
