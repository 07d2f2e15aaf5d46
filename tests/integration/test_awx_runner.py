"""A job run the way AWX runs one, against winsim: ansible-runner with a private data directory that holds the project
(this repository), the inventory, the job's extra vars and the collections the project sync installed
(requirements_collections, from collections/requirements.yml). The compliance summary reaches the job's artifacts
(set_stats), where a workflow's next node and AWX's API read it."""
from __future__ import annotations

import json
import os
import shutil
import sys
from pathlib import Path

import ansible_runner
import yaml

from conftest import COLLECTIONS, ROOT
from scripts.awx_project import copy_project, sync_own_collection
from winsim.fleet import Fleet


def private_data_dir(tmp_path: Path, inventory: Path, extra_vars: dict) -> Path:
    """The directory AWX prepares for a job: project, inventory, env/extravars, and the synced collections."""
    data = tmp_path / "awx-job"
    (data / "inventory").mkdir(parents=True)
    (data / "env").mkdir()
    copy_project(data / "project")
    shutil.copy(inventory, data / "inventory" / "hosts.json")
    (data / "env" / "extravars").write_text(yaml.safe_dump(extra_vars), encoding="utf-8")
    synced = sync_own_collection(data / "project", data / "requirements_collections")
    assert synced.returncode == 0, synced.stdout + synced.stderr
    return data


def test_an_audit_job_puts_the_compliance_summary_in_its_artifacts(fleet: Fleet, inventory: Path, tmp_path: Path) -> None:
    fleet.add("healthy", "win11")
    fleet.add("hardened", "win10-tls-hardened")
    fleet.add("gone", "win10")
    fleet.take_offline("gone")
    fleet.write_inventory(inventory)
    report = tmp_path / "audit.json"
    data = private_data_dir(tmp_path, inventory, {"m365ops_report_file": str(report)})
    # The synced collections first, then where this machine keeps ansible.windows (AWX's image has it).
    environment = {"ANSIBLE_COLLECTIONS_PATH": f"{data / 'requirements_collections'}{os.pathsep}{COLLECTIONS}", "ANSIBLE_NOCOLOR": "1",
                   "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    run = ansible_runner.run(private_data_dir=str(data), playbook="playbooks/audit.yml", envvars=environment, quiet=True)
    # An unreachable host makes the job fail, as AWX shows it; the report and the artifacts are written first.
    assert run.rc == 4 and run.status == "failed", run.stdout.read()[-3000:]
    stats = next(event for event in run.events if event["event"] == "playbook_on_stats")
    artifacts = stats["event_data"]["artifact_data"]
    summary, unsettled = artifacts["m365ops_summary"], artifacts["m365ops_unsettled_hosts"]
    written = json.loads(report.read_text(encoding="utf-8"))
    assert summary["run_id"] == written["run"]["id"] and summary["check_mode"] is True and summary["hosts"] == 3
    assert (summary["totals"], summary["activation"], summary["headlines"]) == (written["totals"], written["activation"], written["headlines"])
    assert summary["headlines"]["compliant"] == 1 and summary["headlines"]["unreachable"] == 1
    assert unsettled == ["gone", "hardened"]
    # The causes are counted, not listed by host: the artifacts stay small at any fleet size.
    assert all(set(cause) == {"id", "severity", "summary", "hosts"} for cause in summary["causes"])
    assert {cause["id"] for cause in summary["causes"]} == {cause["id"] for cause in written["causes"]}


TEMPLATES = json.loads((ROOT / "awx" / "m365ops-activation.json").read_text(encoding="utf-8"))
# Where the job templates keep reports and backups: a volume the execution environment mounts. Here, the test's own.
VOLUME = "/var/lib/m365ops"


class Controller:
    """What AWX does for a job of one of the repository's templates: the template's extra vars, the survey's defaults,
    what the workflow passes (the artifacts of earlier jobs, the node's extra data) and AWX's own variables, as the
    job's extra vars; a check job runs with --check; then ansible-runner over a fresh private data directory."""

    def __init__(self, tmp_path: Path, inventory: Path) -> None:
        self.tmp_path, self.inventory, self.jobs = tmp_path, inventory, 0
        # The volume, with the folder the reports go to (docs/awx.md: made once when the volume is set up).
        self.volume = tmp_path / "volume"
        (self.volume / "reports").mkdir(parents=True)

    def launch(self, name: str, passed: dict | None = None) -> ansible_runner.Runner:
        template = next(item for item in TEMPLATES["job_templates"] if item["name"] == name)
        self.jobs += 1
        survey = {}
        for question in template["related"]["survey_spec"]["spec"]:
            survey[question["variable"]] = question["default"].split("\n") if question["type"] == "multiselect" else question["default"]
        variables = {**json.loads(template["extra_vars"]), **survey, **(passed or {}), "awx_job_id": self.jobs,
                     # A custom credential type gives every job of the site the same backup key.
                     "m365ops_backup_key": "k" * 40}
        variables = json.loads(json.dumps(variables).replace(VOLUME, str(self.volume)))
        data = private_data_dir(self.tmp_path / f"job-{self.jobs}", self.inventory, variables)
        environment = {"ANSIBLE_COLLECTIONS_PATH": f"{data / 'requirements_collections'}{os.pathsep}{COLLECTIONS}", "ANSIBLE_NOCOLOR": "1",
                       "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
        return ansible_runner.run(private_data_dir=str(data), playbook=template["playbook"], envvars=environment, quiet=True,
                                  cmdline="--check" if template["job_type"] == "check" else None)


def artifacts(run: ansible_runner.Runner) -> dict:
    return next(event for event in run.events if event["event"] == "playbook_on_stats")["event_data"]["artifact_data"]


def test_the_nightly_workflow_remediates_only_the_hosts_the_audit_found_unsettled(fleet: Fleet, inventory: Path, tmp_path: Path) -> None:
    fleet.add("healthy", "win11")
    fleet.add("hardened", "win10-nla-disabled")
    fleet.add("stale", "win10-stale-proxy")
    fleet.write_inventory(inventory)
    controller = Controller(tmp_path, inventory)
    nodes = {node["identifier"]: node for node in TEMPLATES["workflow_job_templates"][0]["related"]["workflow_nodes"]}
    audit = controller.launch("m365ops.activation audit")
    assert audit.rc == 0, audit.stdout.read()[-3000:]
    found = artifacts(audit)
    assert found["m365ops_unsettled_hosts"] == ["hardened", "stale"] and found["m365ops_summary"]["check_mode"] is True
    before = {name: entry.host.counters["executions"].get("ansible_collections.m365ops.activation.plugins.modules.win_agent", 0)
              for name, entry in fleet.hosts.items()}
    # The approval node passes on; the remediation gets the audit's artifacts and its node's extra data.
    remediate = controller.launch("m365ops.activation remediate", {**found, **nodes["remediate"]["extra_data"]})
    assert remediate.rc == 0, remediate.stdout.read()[-3000:]
    after = {name: entry.host.counters["executions"].get("ansible_collections.m365ops.activation.plugins.modules.win_agent", 0)
             for name, entry in fleet.hosts.items()}
    assert after["healthy"] == before["healthy"] and after["hardened"] > before["hardened"] and after["stale"] > before["stale"]
    fixed = artifacts(remediate)
    assert fixed["m365ops_summary"]["hosts"] == 2 and fixed["m365ops_unsettled_hosts"] == []
    # The report and the backups are on the volume, not in the job's directory.
    assert sorted(path.name for path in (controller.volume / "reports").glob("*.json")) == ["audit-1.json", "remediation-2.json"]
    assert any((controller.volume / "backups").rglob("*.json"))
    again = controller.launch("m365ops.activation audit", {**found, **fixed})
    assert again.rc == 0 and artifacts(again)["m365ops_unsettled_hosts"] == []
    # A night with nothing unsettled: the remediation matches no host and ends well, as the workflow asks.
    nothing = controller.launch("m365ops.activation remediate", {**artifacts(again), **nodes["remediate"]["extra_data"]})
    assert nothing.rc == 0 and nothing.status == "successful", nothing.stdout.read()[-3000:]
    # The same template launched alone (no artifacts) targets every Windows host.
    alone = controller.launch("m365ops.activation remediate")
    assert alone.rc == 0 and artifacts(alone)["m365ops_summary"]["hosts"] == 3
