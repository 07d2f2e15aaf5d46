"""AWX job slicing, reproduced against the simulated fleet: the inventory split into N slices the way AWX splits it (host
i goes to slice i mod N), each slice an audit job run the way AWX runs one (ansible-runner with a private data directory
of its own, all slices at once), then the slices' reports merged into one with the collection's merge_reports playbook.
Prints the wall time, the controller CPU per host (ansible-runner and ansible-playbook with their workers; the simulator
runs in this process and is not counted), and what the merged report holds. Asserts nothing; make bench does not run it.

    python scripts/bench_slicing.py --hosts 1000 --slices 4
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from itertools import cycle, islice
from pathlib import Path

import ansible_runner
import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from scripts.awx_project import copy_project, sync_own_collection  # noqa: E402
from winsim.fleet import Fleet  # noqa: E402  (the simulator is beside this script, not installed)

PROFILES = ("win10-tls-hardened", "win10-nla-disabled", "win10-ncsi-off", "win11", "win10")
COLLECTIONS = ROOT / ".build" / "collections"


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def project_copy(work: Path) -> Path:
    """The project as AWX checks it out, and the collections its sync installs (shared by every slice here)."""
    project = copy_project(work / "project")
    synced = sync_own_collection(project, work / "requirements_collections")
    if synced.returncode:
        raise RuntimeError(synced.stdout + synced.stderr)
    return work / "requirements_collections"


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--hosts", type=int, default=1000)
    parser.add_argument("--slices", type=int, default=4)
    parser.add_argument("--forks", type=int, default=25)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="m365ops-slicing-") as temporary:
        work = Path(temporary)
        fleet = Fleet(work / "fleet")
        try:
            names = [f"pc{index:05d}" for index in range(args.hosts)]
            for name, profile in zip(names, islice(cycle(PROFILES), args.hosts)):
                fleet.add(name, profile)
            inventory = fleet.inventory()
            synced = project_copy(work)
            environment = {"ANSIBLE_COLLECTIONS_PATH": f"{synced}{os.pathsep}{COLLECTIONS}", "ANSIBLE_NOCOLOR": "1", "ANSIBLE_FORKS": str(args.forks),
                           "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
            runs = []
            started, cpu_before = time.monotonic(), cpu_seconds()
            for number in range(args.slices):
                data = work / f"slice-{number + 1}"
                (data / "inventory").mkdir(parents=True)
                (data / "env").mkdir()
                (data / "project").symlink_to(work / "project")
                hosts = inventory["all"]["children"]["windows"]["hosts"]
                mine = {name: hosts[name] for index, name in enumerate(names) if index % args.slices == number}
                part = json.loads(json.dumps(inventory))
                part["all"]["children"]["windows"]["hosts"] = mine
                (data / "inventory" / "hosts.json").write_text(json.dumps(part), encoding="utf-8")
                extra = {"m365ops_report_file": str(work / f"slice-{number + 1}.json"), "m365ops_report_formats": ["json"], "awx_job_id": number + 1}
                (data / "env" / "extravars").write_text(yaml.safe_dump(extra), encoding="utf-8")
                thread, runner = ansible_runner.run_async(private_data_dir=str(data), playbook="playbooks/audit.yml", envvars=environment,
                                                          quiet=True, cmdline="--check")
                runs.append((thread, runner))
            for thread, _runner in runs:
                thread.join()
            sliced_wall, sliced_cpu = time.monotonic() - started, cpu_seconds() - cpu_before
            codes = [runner.rc for _thread, runner in runs]
            merge_started, merge_cpu = time.monotonic(), cpu_seconds()
            merged_file = work / "fleet.json"
            done = subprocess.run([str(Path(sys.executable).with_name("ansible-playbook")), str(ROOT / "playbooks" / "merge_reports.yml"),
                                   "-e", json.dumps({"m365ops_merge_reports": [str(work / f"slice-{number + 1}.json") for number in range(args.slices)],
                                                     "m365ops_report_file": str(merged_file)})],
                                  env={**os.environ, **environment}, capture_output=True, text=True, check=False)
            merge_wall, merge_cpu = time.monotonic() - merge_started, cpu_seconds() - merge_cpu
        finally:
            fleet.stop()
        merged = json.loads(merged_file.read_text(encoding="utf-8")) if merged_file.exists() else {"hosts": {}, "runs": []}
        print("| hosts | slices | forks per slice | slice exit codes | wall s | controller CPU ms/host | merge s | merged hosts | runs |")
        print("|---:|---:|---:|---|---:|---:|---:|---:|---:|")
        print(f"| {args.hosts:,} | {args.slices} | {args.forks} | {', '.join(map(str, codes))} | {sliced_wall:.1f} | "
              f"{sliced_cpu / args.hosts * 1000:.0f} | {merge_wall:.1f} | {len(merged['hosts']):,} | {len(merged.get('runs') or [])} |")
        if done.returncode:
            print(done.stdout[-2000:] + done.stderr[-1000:])
        return 0 if done.returncode == 0 and len(merged["hosts"]) == args.hosts else 1


if __name__ == "__main__":
    sys.exit(main())
