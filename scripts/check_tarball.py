"""Check a built collection tarball: the plugins, roles and playbooks are in; tests, the simulator and venvs are not."""
from __future__ import annotations

import sys
import tarfile

REQUIRED = (
    "MANIFEST.json", "meta/runtime.yml", "README.md",
    "plugins/modules/win_agent.ps1", "plugins/modules/win_agent.py", "plugins/modules/win_agent_extended.ps1",
    "plugins/module_utils/AgentOps.psm1", "plugins/modules/win_tls12.py",
    "plugins/action/win_tls12.py", "plugins/plugin_utils/action.py", "plugins/filter/report.py",
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
FORBIDDEN_PREFIXES = ("tests/", "winsim/", ".venv/", ".build/", "extensions/", "scripts/", ".ci/", ".git/")


def main(path: str) -> int:
    with tarfile.open(path) as archive:
        names = {member.name.removeprefix("./") for member in archive.getmembers()}
    missing = [name for name in REQUIRED if name not in names]
    forbidden = sorted(name for name in names if name.startswith(FORBIDDEN_PREFIXES) or "__pycache__" in name)
    for name in missing:
        print(f"missing from {path}: {name}")
    for name in forbidden:
        print(f"must not ship in {path}: {name}")
    print(f"{path}: {len(names)} entries, {len(missing)} missing, {len(forbidden)} forbidden")
    return 1 if missing or forbidden else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
