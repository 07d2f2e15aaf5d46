"""make bench: the collection's audit and remediation against the stock-module peer playbook, on the same simulated fleet.

Each scenario gets a fresh simulated fleet (the same profiles, in the same order), one run of ansible-playbook with the
same forks, and reads the simulated hosts' own counters: agent or module executions, WinRM requests, bytes to and from
each host. Controller CPU is the CPU time of ansible-playbook and its workers (the simulator runs in this process and is
not counted). Start-up latency is what the simulator waits before each module execution, as a PowerShell process
start and Ansible.Basic compile would cost on Windows. It prints a table and the ratios; it asserts nothing.

The peer playbook (bench/peer_remediate.yml, the repository's own) runs the stock ansible.windows 3.3.0 modules, taken
from the `ansible` 12.3.0 package on PyPI, installed beside the collection by scripts/dependencies.py (make venv).
``--peer`` names another one (the shared peer playbook beside the checkout, to compare); tests/integration/
test_bench_peer.py holds both to the same end state.
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
from dataclasses import dataclass
from itertools import cycle, islice
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from scripts import dependencies  # noqa: E402  (needs the path above)
from winsim.fleet import Fleet  # noqa: E402

PEER_PLAYBOOK = ROOT / "bench" / "peer_remediate.yml"
# Hosts both playbooks can bring to the article's state: no proxy site (the peer would set direct access) and no
# Winsock damage (the peer resets only when told to).
PROFILES = ("win10-tls-hardened", "win10-nla-disabled", "win10-ncsi-off", "win11", "win10")


@dataclass
class Row:
    scenario: str
    latency: float
    hosts: int
    forks: int
    rc: int
    wall: float
    cpu: float
    executions: float
    requests: float
    kib_to: float
    kib_from: float

    def line(self) -> str:
        return (f"| {self.scenario:<26} | {self.latency:>5.1f} | {self.hosts:>5} | {self.executions:>9.1f} | {self.requests:>9.1f} | "
                f"{self.kib_to:>9.1f} | {self.kib_from:>8.1f} | {self.cpu / self.hosts * 1000:>9.0f} | {self.wall:>7.1f} | {self.rc:>2} |")


HEADER = ("| scenario                   | lat s | hosts | execs/host | reqs/host | KiB to/host | KiB from | CPU ms/host | wall s | rc |\n"
          "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")


def peer_collections() -> Path:
    """Where ansible.windows is: beside the collection (scripts/dependencies.py, run by make venv)."""
    return dependencies.install()


def environment(collections: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update({"ANSIBLE_COLLECTIONS_PATH": f"{ROOT / '.build' / 'collections'}{os.pathsep}{collections}",
                "ANSIBLE_HOST_KEY_CHECKING": "False", "ANSIBLE_NOCOLOR": "1", "ANSIBLE_RETRY_FILES_ENABLED": "False",
                "PATH": f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"})
    return env


def run(scenario: str, playbook: Path, hosts: int, latency: float, forks: int, env: dict[str, str], *args: str) -> Row:
    with tempfile.TemporaryDirectory(prefix="m365ops-bench-") as temp:
        fleet = Fleet(Path(temp))
        try:
            for index, profile in enumerate(islice(cycle(PROFILES), hosts)):
                fleet.add(f"{profile}-{index:04d}", profile, latency)
            inventory = Path(temp) / "inventory.json"
            fleet.write_inventory(inventory)
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            start = time.perf_counter()
            completed = subprocess.run([str(Path(sys.executable).parent / "ansible-playbook"), "-i", str(inventory), "-f", str(forks),
                                        str(playbook), *args], cwd=ROOT, env=env, capture_output=True, text=True, check=False)
            wall = time.perf_counter() - start
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            if completed.returncode not in (0, 2):
                print(completed.stdout[-3000:], completed.stderr[-2000:], sep="\n", file=sys.stderr)
            counters = [entry.host.counters for entry in fleet.hosts.values()]
        finally:
            fleet.stop()
    cpu = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    return Row(scenario, latency, hosts, forks, completed.returncode, wall, cpu,
               sum(sum(c["executions"].values()) for c in counters) / hosts, sum(c["requests"] for c in counters) / hosts,
               sum(c["bytes_received"] for c in counters) / hosts / 1024, sum(c["bytes_sent"] for c in counters) / hosts / 1024)


def ratio(peer: Row, ours: Row, field: str) -> str:
    mine = getattr(ours, field)
    return f"{getattr(peer, field) / mine:.1f}x" if mine else "n/a"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hosts", type=int, default=100)
    parser.add_argument("--forks", type=int, default=20)
    parser.add_argument("--latency", type=float, nargs="+", default=[0.0, 1.5])
    parser.add_argument("--big", type=int, default=1000, help="hosts of the large audit (0 to skip it)")
    parser.add_argument("--big-forks", type=int, default=50)
    parser.add_argument("--json", type=Path, help="also write the rows here")
    parser.add_argument("--peer", type=Path, default=PEER_PLAYBOOK, help="the stock-module playbook to compare with")
    options = parser.parse_args()
    env = environment(peer_collections())
    playbooks = ROOT / "playbooks"
    rows: list[Row] = []
    print(HEADER, flush=True)
    for latency in options.latency:
        for scenario, playbook in (("m365ops audit", playbooks / "audit.yml"), ("m365ops remediate", playbooks / "remediate.yml"),
                                   ("peer remediate (stock)", options.peer)):
            rows.append(run(scenario, playbook, options.hosts, latency, options.forks, env))
            print(rows[-1].line(), flush=True)
    print()
    for latency in options.latency:
        audit, remediate, peer = (row for row in rows if row.latency == latency)
        print(f"latency {latency:.1f} s, peer remediate / m365ops remediate: executions {ratio(peer, remediate, 'executions')}, "
              f"wall {ratio(peer, remediate, 'wall')}, KiB to host {ratio(peer, remediate, 'kib_to')}, requests {ratio(peer, remediate, 'requests')}; "
              f"peer remediate / m365ops audit: executions {ratio(peer, audit, 'executions')}, wall {ratio(peer, audit, 'wall')}, "
              f"KiB to host {ratio(peer, audit, 'kib_to')}")
    if options.big:
        print(f"\nLarge audit: {options.big} hosts, forks {options.big_forks}, no start-up latency\n{HEADER}", flush=True)
        big = run("m365ops audit", playbooks / "audit.yml", options.big, 0.0, options.big_forks, env)
        rows.append(big)
        print(big.line())
        print(f"{options.big} hosts audited in {big.wall:.0f} s ({big.wall / 60:.1f} min), {big.cpu / big.hosts * 1000:.0f} ms controller CPU per host")
    if options.json:
        options.json.write_text(json.dumps([row.__dict__ for row in rows], indent=1) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
