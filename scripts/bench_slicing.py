"""AWX job slicing, reproduced against the simulated fleet: the inventory split into N slices the way AWX splits it (host
i goes to slice i mod N), each slice an audit job run the way AWX runs one (ansible-runner with a private data directory
of its own, all slices at once), then the slices' reports merged into one with the collection's merge_reports playbook.
Prints the wall time, the controller CPU per host (ansible-runner and ansible-playbook with their workers), the
simulator's CPU per host apart, and what the merged report holds. Asserts nothing; make bench does not run it.

The simulator runs in processes of its own (``python -m winsim serve``, a block of hosts each, their inventories merged),
so that ten thousand hosts neither share one Python process nor count as the controller's CPU.

    python scripts/bench_slicing.py --hosts 10000 --slices 8 --forks 25
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
from collections import Counter
from itertools import cycle, islice
from pathlib import Path

import ansible_runner
import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from scripts.awx_project import copy_project, sync_own_collection  # noqa: E402

PROFILES = ("win10-tls-hardened", "win10-nla-disabled", "win10-ncsi-off", "win11", "win10")
COLLECTIONS = ROOT / ".build" / "collections"


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


class Simulators:
    """Blocks of simulated hosts, each served by a ``python -m winsim serve`` process of its own."""

    def __init__(self, work: Path, hosts: int, per_process: int) -> None:
        self.processes: list[subprocess.Popen] = []
        self.blocks: list[Path] = []
        profiles = list(islice(cycle(PROFILES), hosts))
        for number, start in enumerate(range(0, hosts, per_process)):
            block = work / f"simulator-{number + 1}"
            counts = Counter(profiles[start:start + per_process])
            command = [sys.executable, "-m", "winsim", "serve", "--state-dir", str(block), "--inventory", str(block / "inventory.json"),
                       "--prefix", f"b{number + 1:02d}-", "--profiles", ",".join(f"{name}:{count}" for name, count in counts.items())]
            self.processes.append(subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True))
            self.blocks.append(block)

    def inventory(self, timeout: float = 1800) -> dict:
        """Every block's hosts in one inventory, each host with its own block's credentials, once all are serving."""
        deadline, merged = time.monotonic() + timeout, {}
        for process, block in zip(self.processes, self.blocks):
            while not (block / "winsim.ready").exists():
                if process.poll() is not None:
                    raise RuntimeError(f"a simulator stopped before serving: {process.stderr.read()[-2000:]}")
                if time.monotonic() > deadline:
                    raise RuntimeError("the simulators did not start in time")
                time.sleep(0.5)
            group = json.loads((block / "inventory.json").read_text(encoding="utf-8"))["all"]["children"]["windows"]
            merged.update({name: {**group["vars"], **values} for name, values in group["hosts"].items()})
        return {"all": {"children": {"windows": {"hosts": merged}}}}

    def cpu_seconds(self) -> float:
        """The simulators' CPU so far, from /proc (they are still running, so their own rusage is not yet ours)."""
        total = 0.0
        for process in self.processes:
            fields = Path(f"/proc/{process.pid}/stat").read_text(encoding="utf-8").rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        return total

    def stop(self) -> None:
        for process in self.processes:
            process.terminate()
        for process in self.processes:
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                process.kill()


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
    parser.add_argument("--hosts-per-simulator", type=int, default=1250)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="m365ops-slicing-") as temporary:
        work = Path(temporary)
        simulators = Simulators(work, args.hosts, args.hosts_per_simulator)
        try:
            start_wall = time.monotonic()
            inventory = simulators.inventory()
            start_wall = time.monotonic() - start_wall
            names = list(inventory["all"]["children"]["windows"]["hosts"])
            synced = project_copy(work)
            environment = {"ANSIBLE_COLLECTIONS_PATH": f"{synced}{os.pathsep}{COLLECTIONS}", "ANSIBLE_NOCOLOR": "1", "ANSIBLE_FORKS": str(args.forks),
                           "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
            runs = []
            started, cpu_before, simulator_before = time.monotonic(), cpu_seconds(), simulators.cpu_seconds()
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
            simulator_cpu = simulators.cpu_seconds() - simulator_before
            codes = [runner.rc for _thread, runner in runs]
            merge_started, merge_cpu = time.monotonic(), cpu_seconds()
            merged_file = work / "fleet.json"
            done = subprocess.run([str(Path(sys.executable).with_name("ansible-playbook")), str(ROOT / "playbooks" / "merge_reports.yml"),
                                   "-e", json.dumps({"m365ops_merge_reports": [str(work / f"slice-{number + 1}.json") for number in range(args.slices)],
                                                     "m365ops_report_file": str(merged_file)})],
                                  env={**os.environ, **environment}, capture_output=True, text=True, check=False)
            merge_wall, merge_cpu = time.monotonic() - merge_started, cpu_seconds() - merge_cpu
        finally:
            simulators.stop()
        merged = json.loads(merged_file.read_text(encoding="utf-8")) if merged_file.exists() else {"hosts": {}, "runs": []}
        print(f"{len(simulators.processes)} simulator processes served {args.hosts:,} hosts after {start_wall:.0f} s")
        print("| hosts | slices | forks per slice | slice exit codes | wall s | controller CPU ms/host | simulator CPU ms/host | merge s "
              "| merged hosts | runs |")
        print("|---:|---:|---:|---|---:|---:|---:|---:|---:|---:|")
        print(f"| {args.hosts:,} | {args.slices} | {args.forks} | {', '.join(map(str, codes))} | {sliced_wall:.1f} | "
              f"{sliced_cpu / args.hosts * 1000:.0f} | {simulator_cpu / args.hosts * 1000:.0f} | {merge_wall:.1f} | {len(merged['hosts']):,} "
              f"| {len(merged.get('runs') or [])} |")
        if done.returncode:
            print(done.stdout[-2000:] + done.stderr[-1000:])
        return 0 if done.returncode == 0 and len(merged["hosts"]) == args.hosts else 1


if __name__ == "__main__":
    sys.exit(main())
