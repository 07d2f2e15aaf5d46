"""A job run the way AWX runs one, against winsim: ansible-runner with a private data directory that holds the project
(this repository), the inventory, the job's extra vars and the collections the project sync installed
(requirements_collections, from collections/requirements.yml). The compliance summary reaches the job's artifacts
(set_stats), where a workflow's next node and AWX's API read it."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import ansible_runner
import yaml

from conftest import COLLECTIONS, ROOT
from winsim.fleet import Fleet


def private_data_dir(tmp_path: Path, inventory: Path, extra_vars: dict) -> Path:
    """The directory AWX prepares for a job: project, inventory, env/extravars, and the synced collections."""
    data = tmp_path / "awx-job"
    (data / "inventory").mkdir(parents=True)
    (data / "env").mkdir()
    shutil.copytree(ROOT, data / "project", ignore=shutil.ignore_patterns(".venv", ".build", ".git", "tests", "demo-output", "__pycache__"))
    shutil.copy(inventory, data / "inventory" / "hosts.json")
    (data / "env" / "extravars").write_text(yaml.safe_dump(extra_vars), encoding="utf-8")
    synced = data / "requirements_collections"
    own = [entry for entry in yaml.safe_load((ROOT / "collections" / "requirements.yml").read_text(encoding="utf-8"))["collections"]
           if entry.get("type") == "dir"]
    (tmp_path / "own.yml").write_text(yaml.safe_dump({"collections": own}), encoding="utf-8")
    subprocess.run([str(Path(sys.executable).with_name("ansible-galaxy")), "collection", "install", "-r", str(tmp_path / "own.yml"),
                    "--collections-path", str(synced), "--offline", "--no-deps"],
                   cwd=data / "project", env={**os.environ, "ANSIBLE_COLLECTIONS_PATH": str(synced)}, check=True, capture_output=True)
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
