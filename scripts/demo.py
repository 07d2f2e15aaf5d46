"""The README demo: a simulated fleet of mixed Windows hosts, audited, remediated, audited again.

Starts winsim, runs playbooks/audit.yml (check mode), playbooks/remediate.yml and the audit once more
through real WinRM, prints a before/after table, and stops the fleet. The last audit is the report
(``demo-output/report.json``, ``report.xml`` and ``report.html``); every run's reports, backup records and
the fleet's state stay in ``demo-output/`` under the checkout. A host that fails makes its playbook exit
non-zero, as it should; the demo goes on as long as each run wrote its report.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUTPUT = ROOT / "demo-output"
sys.path.insert(0, str(ROOT))

from winsim.profiles import DEMO_FLEET, PROFILES  # noqa: E402  (needs the path above)

# ansible-playbook's exit codes: 0 all fine, 2 some host failed, 4 some host unreachable (the report says which).
EXPECTED_EXIT_CODES = (0, 2, 4)


def run_playbook(name: str, inventory: Path, report: Path, *extra: str) -> dict:
    command = ["ansible-playbook", "-i", str(inventory), str(ROOT / "playbooks" / name), "-e", f"m365ops_report_file={report}", *extra]
    shown = ["ansible-playbook", "-i", "demo-output/inventory.json", f"playbooks/{name}", "-e",
             f"m365ops_report_file=demo-output/{report.name}", *(item.replace(str(OUTPUT), "demo-output") for item in extra)]
    print(f"\n$ {' '.join(shown)}", flush=True)
    completed = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=False)
    print(completed.stdout[completed.stdout.find("PLAY RECAP"):].split("\n\n")[0].rstrip())
    if completed.returncode not in EXPECTED_EXIT_CODES or not report.exists():
        print(completed.stdout[-4000:], completed.stderr[-2000:], sep="\n", file=sys.stderr)
        raise SystemExit(f"{name} failed with exit code {completed.returncode} and no report")
    print(f"(exit code {completed.returncode}; report in demo-output/{report.name}, with {report.stem}.xml and {report.stem}.html)")
    return json.loads(report.read_text(encoding="utf-8"))["hosts"]


def describe(entry: dict) -> str:
    """The host's status and the concerns that give it that status."""
    if (entry.get("prerequisites") or {}).get("lacks"):
        count = len(entry["prerequisites"]["lacks"])
        return f"{entry['status']}: lacks {count} prerequisite{'s' if count != 1 else ''}"
    concerns = sorted(name for name, concern in entry["concerns"].items() if concern.get("status") == entry["status"])
    return entry["status"] + (": " + ", ".join(concerns) if entry["status"] != "compliant" and concerns else "")


def verdict(entry: dict) -> str:
    """Whether the host can activate, as the audit's findings say, with the first causes."""
    activation = entry.get("activation") or {}
    causes = [cause["id"] for cause in activation.get("causes") or []]
    return activation.get("verdict", "not_checked") + (f": {', '.join(causes[:2])}" if causes else "")


def main() -> int:
    shutil.rmtree(OUTPUT, ignore_errors=True)
    OUTPUT.mkdir()
    inventory = OUTPUT / "inventory.json"
    fleet = subprocess.Popen(  # pylint: disable=consider-using-with  # stopped in finally
        [sys.executable, "-m", "winsim", "serve", "--profiles", ",".join(DEMO_FLEET),
         "--state-dir", str(OUTPUT / "fleet"), "--inventory", str(inventory)], cwd=ROOT)
    try:
        deadline = time.monotonic() + 30
        while not (OUTPUT / "fleet" / "winsim.ready").exists():
            if fleet.poll() is not None or time.monotonic() > deadline:
                raise SystemExit("the simulated fleet did not start")
            time.sleep(0.1)
        before = run_playbook("audit.yml", inventory, OUTPUT / "audit-before.json")
        remediation = run_playbook("remediate.yml", inventory, OUTPUT / "remediation.json", "-e", f"m365ops_backup_dir={OUTPUT / 'backups'}")
        # The fleet as it stands after the remediation: the report to read (JSON, JUnit XML, one HTML page).
        after = run_playbook("audit.yml", inventory, OUTPUT / "report.json")
    finally:
        fleet.terminate()
        fleet.wait(timeout=30)
    print("\nMicrosoft 365 activation prerequisites, simulated fleet (winsim, not real Windows):\n")
    print(f"{'host':26} {'Windows':21} {'audit before':34} {'remediation':34} {'audit after':34} {'reboot':6} activation (audit after)")
    for host in sorted(before):
        profile = host.rsplit("-", 1)[0]
        print(f"{host:26} {before[host]['os'] or '-':21} {describe(before[host]):34} {describe(remediation[host]):34} "
              f"{describe(after[host]):34} {'owed' if after[host]['reboot_required'] else '-':6} {verdict(after[host])}")
        if after[host].get("headline", after[host]["status"]) not in ("compliant", "remediated"):
            print(f"{'':26} {PROFILES[profile].description}")
    totals = {status: count for status, count in after_totals(after).items() if count}
    verdicts = {name: sum(1 for entry in after.values() if entry["activation"]["verdict"] == name) for name in ("cannot_activate", "at_risk", "can_activate")}
    print(f"\nafter remediation: {', '.join(f'{count} {status}' for status, count in totals.items())}; "
          f"activation: {', '.join(f'{count} {name}' for name, count in verdicts.items() if count)}")
    print(f"The report of the fleet as it stands: {OUTPUT / 'report.json'}, {OUTPUT / 'report.xml'} (JUnit) and "
          f"{OUTPUT / 'report.html'} (open it in a browser; it needs no network)")
    print(f"Every run's reports, backup records and host state: {OUTPUT}")
    return 0


def after_totals(hosts: dict) -> dict:
    totals: dict[str, int] = {}
    for entry in hosts.values():
        totals[entry["status"]] = totals.get(entry["status"], 0) + 1
    return totals


if __name__ == "__main__":
    os.environ.setdefault("ANSIBLE_NOCOLOR", "1")
    sys.exit(main())
