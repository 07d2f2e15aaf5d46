"""Run the agent contract against hosts through Ansible and judge the answers.

Against a real Windows host (a test machine: the cases create and delete
HKLM\\SOFTWARE\\m365ops-contract in both registry views, and read HKLM\\SECURITY):

    python tests/contract/run.py -i your_inventory --limit win-test-01

The collection must be on ANSIBLE_COLLECTIONS_PATH (``make link`` arranges it for a checkout).
Prints one line per case and ends with ``N passed, N failed``; exits non-zero on any failure.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1]))

from tests.contract.contract import Verdict, batches, judge, load_cases  # noqa: E402  (needs the path above)


def run_contract(inventory: str, limit: str, env: dict[str, str] | None = None) -> dict[str, list[Verdict]]:
    """Run every case on the hosts matching ``limit``; return the verdicts per host."""
    cases = load_cases()
    with tempfile.TemporaryDirectory(prefix="m365ops-contract-") as output:
        extra_vars = {"contract_hosts": limit, "contract_batches": batches(cases), "contract_output_dir": output}
        vars_file = Path(output) / "vars.json"
        vars_file.write_text(json.dumps(extra_vars), encoding="utf-8")
        playbook = shutil_which("ansible-playbook")
        completed = subprocess.run([playbook, "-i", inventory, str(HERE / "contract.yml"), "-e", f"@{vars_file}"],
                                   capture_output=True, text=True, env=env, check=False)
        answers = {path.stem: json.loads(path.read_text(encoding="utf-8")) for path in Path(output).glob("*.json") if path != vars_file}
    if not answers:
        raise RuntimeError(f"the contract playbook produced no answers (exit {completed.returncode}):\n"
                           f"{completed.stdout[-3000:]}\n{completed.stderr[-2000:]}")
    return {host: judge(cases, host_answers) for host, host_answers in answers.items()}


def shutil_which(program: str) -> str:
    beside = Path(sys.executable).parent / program
    return str(beside) if beside.exists() else program


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-i", "--inventory", required=True)
    parser.add_argument("-l", "--limit", required=True, help="host pattern to run the contract on")
    args = parser.parse_args()
    verdicts = run_contract(args.inventory, args.limit, dict(os.environ))
    passed = failed = skipped = 0
    for host, host_verdicts in sorted(verdicts.items()):
        for verdict in host_verdicts:
            if verdict.skipped:
                skipped += 1
                print(f"SKIP {host}: {verdict.case}")
            elif verdict.problems:
                failed += 1
                print(f"FAIL {host}: {verdict.case}")
                for problem in verdict.problems:
                    print(f"     {problem}")
            else:
                passed += 1
                print(f"ok   {host}: {verdict.case}")
    print(f"{passed} passed, {failed} failed, {skipped} skipped")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
