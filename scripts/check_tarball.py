"""Check a built collection tarball: the plugins, roles and playbooks are in; tests, the simulator, venvs and anything a
run leaves in a checkout (inventories, passwords, reports, backup records) are not."""
from __future__ import annotations

import json
import re
import sys
import tarfile

REQUIRED = (
    "MANIFEST.json", "meta/runtime.yml", "README.md", "meta/execution-environment.yml", "requirements-ee.txt", "bindep.txt",
    "plugins/modules/win_agent.ps1", "plugins/modules/win_agent.py", "plugins/modules/win_agent_extended.ps1",
    "plugins/module_utils/AgentDispatch.psm1", "plugins/module_utils/AgentRegistry.psm1", "plugins/modules/win_tls12.py",
    "plugins/action/win_tls12.py", "plugins/plugin_utils/engine/run.py", "plugins/plugin_utils/engine/journal.py", "plugins/filter/report.py",
    "roles/tls12/tasks/main.yml", "roles/tls12/meta/argument_specs.yml", "plugins/modules/win_ncsi.py", "plugins/action/win_ncsi.py",
    "roles/ncsi/tasks/main.yml", "roles/ncsi/meta/argument_specs.yml",
    "playbooks/audit.yml", "playbooks/remediate.yml", "playbooks/targets_reached.yml", "playbooks/prerequisites.yml", "playbooks/restore.yml",
    "plugins/action/win_restore.py", "plugins/modules/win_restore.py",
    "plugins/action/win_required_services.py", "plugins/modules/win_required_services.py", "roles/required_services/tasks/main.yml",
    "plugins/action/win_winsock_reset.py", "plugins/modules/win_winsock_reset.py", "roles/winsock_reset/tasks/main.yml",
    "plugins/action/win_ipv6.py", "plugins/modules/win_ipv6.py", "roles/ipv6/tasks/main.yml",
    "plugins/action/win_winhttp_proxy.py", "plugins/modules/win_winhttp_proxy.py", "plugins/module_utils/WinHttpProxy.cs",
    "roles/winhttp_proxy/tasks/main.yml",
)
# What a collection consists of; anything else at the top is something a checkout held, not the collection.
TOP_LEVEL = {"MANIFEST.json", "FILES.json", "README.md", "requirements.txt", "requirements-ee.txt", "bindep.txt", ".ansible-lint", "meta", "plugins",
             "roles", "playbooks", "docs", "changelogs"}
FORBIDDEN_PREFIXES = ("tests/", "winsim/", ".venv/", ".build/", "extensions/", "scripts/", ".ci/", ".git/")
# Inventories and their secrets, reports and backup records, whatever their file name.
SECRET = re.compile(rb"ansible_(?:password|become_password|winrm_password)\s*[:=]\s*['\"]?[^\s'\"{]", re.IGNORECASE)


def local_output(name: str, data: bytes) -> str | None:
    """Why a file of the tarball is a run's output rather than the collection's, or None."""
    if SECRET.search(data):
        return "holds a password"
    if not name.endswith(".json"):
        return None
    try:
        document = json.loads(data)
    except ValueError:
        return None
    if isinstance(document, dict) and "records" in document and "host" in document:
        return "is a backup record"
    if isinstance(document, dict) and "hosts" in document and ("totals" in document or "title" in document):
        return "is a fleet report"
    if isinstance(document, dict) and isinstance(document.get("all"), dict):
        return "is an inventory"
    return None


def main(path: str) -> int:
    problems = []
    with tarfile.open(path) as archive:
        members = archive.getmembers()
        names = {member.name.removeprefix("./") for member in members}
        for member in members:
            if member.isfile():
                stream = archive.extractfile(member)
                reason = local_output(member.name, stream.read() if stream else b"")
                if reason:
                    problems.append(f"{member.name.removeprefix('./')} {reason}")
    missing = [name for name in REQUIRED if name not in names]
    forbidden = sorted(name for name in names if name.startswith(FORBIDDEN_PREFIXES) or "__pycache__" in name
                       or name.split("/", 1)[0] not in TOP_LEVEL)
    for name in missing:
        print(f"missing from {path}: {name}")
    for name in forbidden:
        print(f"must not ship in {path}: {name}")
    for problem in problems:
        print(f"local output in {path}: {problem}")
    print(f"{path}: {len(names)} entries, {len(missing)} missing, {len(forbidden) + len(problems)} forbidden")
    return 1 if missing or forbidden or problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
