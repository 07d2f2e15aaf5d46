"""The fleet smoke under each ansible-core the collection claims (meta/runtime.yml): an audit, a remediation, a second
audit and a restore against one simulated fleet, with the ansible-playbook of that core's own virtual environment
(`make cores` creates them under .build/cores/<minor>). Every core must give the same statuses and the same host state;
the first core's run is what the others are held to. Prints a line per core and step; exits 1 on any difference.

    python scripts/cores_smoke.py .build/cores/2.16 .build/cores/2.19
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from winsim.fleet import Fleet  # noqa: E402  (the simulator is beside this script, not installed)

COLLECTIONS = ROOT / ".build" / "collections"
# Drift the remediation fixes, a host it leaves as it is, one that needs a person, and one Ansible runs no module on.
PROFILES = ("win11", "win10-tls-hardened", "win10-nla-disabled", "win10-stale-proxy", "win10-ncsi-off", "win81-ps4")
STEPS = (("audit", "audit.yml"), ("remediate", "remediate.yml"), ("audit again", "audit.yml"), ("restore", "restore.yml"))


def comparable(state: dict) -> dict:
    """A simulated host's registry and services, with the collection's journal on the host counted rather than copied
    (its entries are named after each run's own id and time)."""
    registry = json.loads(json.dumps(state["registry"]))
    software = registry["HKLM"]["keys"].get("SOFTWARE", {}).get("keys", {})
    journal = software.pop("m365ops", None)
    history = ((((journal or {}).get("keys") or {}).get("activation") or {}).get("keys") or {}).get("History") or {}
    return {"registry": registry, "services": state["services"], "journal_entries": len(history.get("keys") or {})}


def run_core(venv: Path, work: Path) -> list[dict]:
    """The four steps under one core: per step its exit code, the ansible-core version the report names, the per host
    status and headline, and the simulated hosts' registries and services afterwards."""
    fleet = Fleet(work / "fleet")
    try:
        for profile in PROFILES:
            fleet.add(profile, profile)
        inventory = work / "inventory.json"
        fleet.write_inventory(inventory)
        environment = {**os.environ, "ANSIBLE_COLLECTIONS_PATH": str(COLLECTIONS), "ANSIBLE_NOCOLOR": "1", "ANSIBLE_HOST_KEY_CHECKING": "False",
                       "ANSIBLE_RETRY_FILES_ENABLED": "False", "PATH": f"{venv / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}"}
        steps = []
        for index, (step, playbook) in enumerate(STEPS):
            report = work / f"{index}.json"
            extra = {"m365ops_report_file": str(report), "m365ops_backup_dir": str(work / "backups"), "m365ops_report_formats": ["json"]}
            done = subprocess.run([str(venv / "bin" / "ansible-playbook"), "-i", str(inventory), str(ROOT / "playbooks" / playbook),
                                   "-e", json.dumps(extra)], cwd=ROOT, env=environment, capture_output=True, text=True, timeout=900, check=False)
            written = json.loads(report.read_text(encoding="utf-8")) if report.exists() else {"hosts": {}, "run": {}}
            hosts = {name: entry.get("headline") or entry.get("result") for name, entry in sorted(written["hosts"].items())}
            state = {name: comparable(entry.host.state) for name, entry in fleet.hosts.items()}
            steps.append({"step": step, "rc": done.returncode, "core": written["run"].get("ansible_core"), "hosts": hosts,
                          "state": json.dumps(state, sort_keys=True), "tail": done.stdout[-2000:] + done.stderr[-1000:]})
        return steps
    finally:
        fleet.stop()


def main(venvs: list[Path]) -> int:
    if not venvs:
        print("name the virtual environments of the cores to run (make cores creates them)")
        return 2
    reference: list[dict] | None = None
    problems = 0
    for venv in venvs:
        with tempfile.TemporaryDirectory(prefix="m365ops-cores-") as work:
            steps = run_core(venv, Path(work))
        for index, step in enumerate(steps):
            expected = reference[index] if reference else None
            differs = []
            if step["rc"] not in (0, 2) or step["core"] is None:
                differs.append(f"exit code {step['rc']}, no report")
            if expected and step["hosts"] != expected["hosts"]:
                differs.append(f"hosts {step['hosts']} != {expected['hosts']}")
            if expected and step["state"] != expected["state"]:
                differs.append("the hosts' registries or services differ from the first core's")
            if expected and step["rc"] != expected["rc"]:
                differs.append(f"exit code {step['rc']} != {expected['rc']}")
            problems += bool(differs)
            said = "; ".join(differs) or ", ".join(f"{host}={headline}" for host, headline in step["hosts"].items())
            print(f"ansible-core {step['core']}  {step['step']:<12} rc={step['rc']}  {'DIFFERS: ' if differs else ''}{said}")
            if differs:
                print(step["tail"])
        reference = reference or steps
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main([Path(argument) for argument in sys.argv[1:]]))
