"""The workflow that would run the agent's contract suite on a hosted Windows runner: valid for GitHub Actions (the
workflow JSON Schema check-jsonschema carries), started by hand only, with a Windows PowerShell 5.1 and a PowerShell 7
leg, and running the same contract runner docs/real-windows.md describes. It has not been run (the docs say so)."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[3]
WORKFLOW = ROOT / ".github" / "workflows" / "windows-contract.yml"


def test_the_workflow_is_valid_for_github_actions() -> None:
    checked = subprocess.run([sys.executable, "-m", "check_jsonschema", "--builtin-schema", "vendor.github-workflows", str(WORKFLOW)],
                             capture_output=True, text=True, check=False)
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_the_workflow_runs_the_contract_by_hand_on_both_powershells() -> None:
    workflow = yaml.safe_load(WORKFLOW.read_text(encoding="utf-8"))
    # PyYAML reads the key "on" as True.
    assert workflow[True] == {"workflow_dispatch": None} and "not yet run" in workflow["name"]
    job = workflow["jobs"]["contract"]
    assert job["runs-on"].startswith("windows-")
    assert {leg["connection"] for leg in job["strategy"]["matrix"]["include"]} == {"winrm", "psrp"}
    runs = "\n".join(step.get("run", "") for step in job["steps"])
    assert "tests/contract/run.py -i contract-inventory.yml --limit windows-runner" in runs
    assert "ansible_psrp_configuration_name: PowerShell.7" in runs and "::add-mask::" in runs
    assert "not yet run" in (ROOT / "docs" / "real-windows.md").read_text(encoding="utf-8").lower()
