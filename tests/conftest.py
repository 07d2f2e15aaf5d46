"""Shared fixtures: import paths, a simulated fleet per test, and ansible-playbook runs."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

import pytest

ROOT = Path(__file__).resolve().parents[1]
COLLECTIONS = ROOT / ".build" / "collections"
_LINK = COLLECTIONS / "ansible_collections" / "m365ops" / "activation"
if not _LINK.exists():
    _LINK.parent.mkdir(parents=True, exist_ok=True)
    _LINK.symlink_to(Path("../../../.."))
# tests/unit/helpers: what several unit tests build on (host states, an action run against the simulator).
for entry in (str(COLLECTIONS), str(ROOT), str(ROOT / "tests" / "unit" / "helpers")):
    if entry not in sys.path:
        sys.path.insert(0, entry)

from winsim.fleet import Fleet  # noqa: E402  (needs the path above)


@pytest.fixture(autouse=True, scope="session")
def backup_key_file(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The controller's backup key of the whole test session (integrity.py), never the user's own: the runs in-process
    and every ansible-playbook run (which inherit the environment) sign and verify with it."""
    path = tmp_path_factory.mktemp("backup-key") / "backup.key"
    previous = os.environ.get("M365OPS_BACKUP_KEY_FILE")
    os.environ["M365OPS_BACKUP_KEY_FILE"] = str(path)
    yield path
    if previous is None:
        os.environ.pop("M365OPS_BACKUP_KEY_FILE", None)
    else:
        os.environ["M365OPS_BACKUP_KEY_FILE"] = previous


@pytest.fixture
def fleet(tmp_path: Path) -> Iterator[Fleet]:
    """An empty simulated fleet on 127.0.0.1; add hosts with fleet.add() / add_profiles()."""
    simulated = Fleet(tmp_path / "fleet")
    yield simulated
    simulated.stop()


@dataclass
class PlaybookRun:
    rc: int
    stdout: str
    stderr: str
    events: list[dict[str, Any]] = field(default_factory=list)
    stats: dict[str, dict[str, int]] = field(default_factory=dict)

    def results(self, host: str, task: str | None = None) -> list[dict[str, Any]]:
        return [event["result"] for event in self.events
                if event["host"] == host and (task is None or event["task"] == task)]

    def result(self, host: str, task: str) -> dict[str, Any]:
        found = self.results(host, task)
        assert len(found) == 1, f"expected one result of '{task}' on {host}, got {len(found)}: {self.stdout[-3000:]}"
        return found[0]

    def status(self, host: str, task: str) -> str:
        """ok, failed, unreachable or skipped, as the callback saw it."""
        found = [event["status"] for event in self.events if event["host"] == host and event["task"] == task]
        assert len(found) == 1, f"expected one result of '{task}' on {host}, got {len(found)}"
        return found[0]

    def changed_hosts(self) -> set[str]:
        return {host for host, counts in self.stats.items() if counts.get("changed")}


def ansible_env(**extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update({
        "ANSIBLE_COLLECTIONS_PATH": str(COLLECTIONS),
        "ANSIBLE_CALLBACK_PLUGINS": str(ROOT / "tests" / "callback_plugins"),
        "ANSIBLE_CALLBACKS_ENABLED": "record_results",
        "ANSIBLE_NOCOLOR": "1",
        "ANSIBLE_HOST_KEY_CHECKING": "False",
        "ANSIBLE_RETRY_FILES_ENABLED": "False",
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}",
    })
    env.update(extra)
    return env


def run_playbook(inventory: Path, playbook: Path | str, *args: str, extra_vars: dict[str, Any] | None = None) -> PlaybookRun:
    """Run ansible-playbook for real over WinRM and collect every task result."""
    record = Path(inventory).with_name(f"record-{os.getpid()}-{len(list(Path(inventory).parent.glob('record-*')))}.json")
    command = [str(Path(sys.executable).parent / "ansible-playbook"), "-i", str(inventory), str(playbook), *args]
    if extra_vars:
        command += ["-e", json.dumps(extra_vars)]
    completed = subprocess.run(command, cwd=ROOT, env=ansible_env(M365OPS_RECORD_FILE=str(record)),
                               capture_output=True, text=True, timeout=600, check=False)
    recorded = json.loads(record.read_text(encoding="utf-8")) if record.exists() else {"events": [], "stats": {}}
    return PlaybookRun(completed.returncode, completed.stdout, completed.stderr, recorded["events"], recorded["stats"])


def give_wrong_password(inventory: Path, host: str | None = None) -> None:
    """Make the written inventory's password wrong for ``host`` (or every host): it answers and refuses the login."""
    document = json.loads(Path(inventory).read_text(encoding="utf-8"))
    windows = document["all"]["children"]["windows"]
    target = windows["hosts"][host] if host else windows["vars"]
    target["ansible_password"] = "not-the-password"
    Path(inventory).write_text(json.dumps(document), encoding="utf-8")


@pytest.fixture
def inventory(fleet: Fleet, tmp_path: Path) -> Path:
    """Path of the fleet's inventory; written (again) when a test calls write_inventory."""
    return tmp_path / "inventory.json"
