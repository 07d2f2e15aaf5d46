"""The README demo: a simulated fleet of ten mixed Windows hosts, audited, remediated, audited again.

Starts winsim, runs playbooks/audit.yml (check mode), playbooks/remediate.yml and the audit
once more through real WinRM, prints a before/after table, and stops the fleet.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from winsim.profiles import DEMO_FLEET  # noqa: E402  (needs the path above)


def run_playbook(name: str, inventory: Path, *extra: str) -> None:
    command = ["ansible-playbook", "-i", str(inventory), str(ROOT / "playbooks" / name), *extra]
    print(f"\n$ {' '.join(command[:1] + ['-i', 'inventory.json', f'playbooks/{name}', *extra])}", flush=True)
    completed = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=False)
    recap = completed.stdout[completed.stdout.find("PLAY RECAP"):]
    print(recap.rstrip())
    if completed.returncode != 0:
        print(completed.stdout[-4000:], completed.stderr[-2000:], sep="\n", file=sys.stderr)
        raise SystemExit(f"{name} failed with exit code {completed.returncode}")


# What one change of each concern is called in the table: (singular, plural).
CHANGE_NOUNS = {"tls12": ("TLS 1.2 value", "TLS 1.2 values"), "ncsi": ("NCSI value", "NCSI values"),
                "required_services": ("service setting", "service settings"), "winsock_reset": ("reset", "resets"),
                "winhttp_proxy": ("proxy setting", "proxy settings")}


def describe(entry: dict) -> str:
    text = entry["status"]
    drifting = {name: len(concern["changes"]) for name, concern in entry["concerns"].items() if concern.get("changes")}
    if entry["status"] == "drift":
        nouns = [f"{count} {CHANGE_NOUNS.get(name, (name, name))[count != 1]}" for name, count in drifting.items()]
        text += ": " + ", ".join(nouns)
    blockers = [blocker for concern in entry["concerns"].values() for blocker in concern.get("blockers", [])]
    if any("KB3140245" in blocker for blocker in blockers):
        text += " (KB3140245 missing)"
    return text


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="m365ops-demo-") as work:
        work_dir = Path(work)
        inventory = work_dir / "inventory.json"
        fleet = subprocess.Popen(  # pylint: disable=consider-using-with  # stopped in finally
            [sys.executable, "-m", "winsim", "serve", "--profiles", ",".join(DEMO_FLEET),
             "--state-dir", str(work_dir / "fleet"), "--inventory", str(inventory)], cwd=ROOT)
        try:
            deadline = time.monotonic() + 30
            while not (work_dir / "fleet" / "winsim.ready").exists():
                if fleet.poll() is not None or time.monotonic() > deadline:
                    raise SystemExit("the simulated fleet did not start")
                time.sleep(0.1)
            run_playbook("audit.yml", inventory, "-e", f"m365ops_report_file={work_dir / 'before.json'}")
            run_playbook("remediate.yml", inventory, "-e", f"m365ops_backup_dir={work_dir / 'backups'}")
            run_playbook("audit.yml", inventory, "-e", f"m365ops_report_file={work_dir / 'after.json'}")
            before = json.loads((work_dir / "before.json").read_text(encoding="utf-8"))["hosts"]
            after = json.loads((work_dir / "after.json").read_text(encoding="utf-8"))["hosts"]
        finally:
            fleet.terminate()
            fleet.wait(timeout=30)
    print("\nMicrosoft 365 activation prerequisites (TLS 1.2, WinHTTP proxy, NCSI, services, Winsock), simulated fleet (winsim, not real Windows):\n")
    print(f"{'host':24} {'Windows':21} {'before remediation':46} {'after remediation':32} reboot")
    for host in sorted(before):
        print(f"{host:24} {before[host]['os']:21} {describe(before[host]):46} {describe(after[host]):32} "
              f"{'needed' if before[host]['reboot_required'] else '-'}")
    statuses = [entry["status"] for entry in after.values()]
    print(f"\n{statuses.count('compliant')} of {len(after)} hosts compliant after remediation; "
          f"{statuses.count('blocked')} blocked by something only an update or a person can fix (see the audit report).")
    unfixed = [host for host, entry in after.items() if entry["status"] not in ("compliant", "blocked")]
    if unfixed:
        print(f"Still drifting or failing: {', '.join(sorted(unfixed))}", file=sys.stderr)
    return 1 if unfixed else 0


if __name__ == "__main__":
    os.environ.setdefault("ANSIBLE_NOCOLOR", "1")
    sys.exit(main())
