"""What a run leaves on the controller: paths relative to the current directory, checked before any host, and a report
written atomically to a regular file only."""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any
from unittest.mock import MagicMock

import pytest
from ansible.errors import AnsibleActionFail

from ansible_collections.m365ops.activation.plugins.action.controller_output import ActionModule


def run(args: dict[str, Any], check_mode: bool = False) -> dict[str, Any]:
    task = MagicMock()
    task.args = args
    task.async_val = 0
    task.check_mode = check_mode
    action = ActionModule(task, MagicMock(), MagicMock(), MagicMock(), MagicMock(), MagicMock())
    return action.run(task_vars={})


def test_relative_paths_are_relative_to_the_current_directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    checked = run({"report_file": "audit.json", "backup_dir": "backups"})
    assert checked["report_file"] == str(tmp_path / "audit.json") and checked["backup_dir"] == str(tmp_path / "backups")
    assert checked["written"] is False and not (tmp_path / "audit.json").exists()
    written = run({"report_file": checked["report_file"], "report": {"hosts": {"pc": {"status": "compliant"}}}})
    assert written["written"] is True
    assert json.loads((tmp_path / "audit.json").read_text(encoding="utf-8")) == {"hosts": {"pc": {"status": "compliant"}}}
    assert oct((tmp_path / "audit.json").stat().st_mode & 0o777) == "0o644"
    assert [path.name for path in tmp_path.iterdir() if path.name.startswith(".report-")] == []


def test_check_mode_creates_no_backup_directory(tmp_path: Path) -> None:
    assert run({"backup_dir": str(tmp_path / "new")}, check_mode=True)["backup_dir"] == str(tmp_path / "new")
    assert not (tmp_path / "new").exists()
    with pytest.raises(AnsibleActionFail, match="cannot be created"):
        run({"backup_dir": str(tmp_path / "missing" / "new")}, check_mode=True)


@pytest.mark.parametrize("kind", ["directory", "symlink", "missing-parent", "device"])
def test_a_report_path_that_is_not_a_regular_file_is_refused_and_left_alone(tmp_path: Path, kind: str) -> None:
    target = tmp_path / "report.json"
    if kind == "directory":
        target.mkdir()
    elif kind == "symlink":
        (tmp_path / "elsewhere.json").write_text("kept\n", encoding="utf-8")
        target.symlink_to(tmp_path / "elsewhere.json")
    elif kind == "missing-parent":
        target = tmp_path / "missing" / "report.json"
    else:
        target = Path(os.devnull)
    before = target.lstat() if os.path.lexists(target) else None
    with pytest.raises(AnsibleActionFail, match="m365ops_report_file"):
        run({"report_file": str(target)})
    with pytest.raises(AnsibleActionFail, match="m365ops_report_file"):
        run({"report_file": str(target), "report": {"hosts": {}}})
    assert (target.lstat() if os.path.lexists(target) else None) == before
    if kind == "symlink":
        assert (tmp_path / "elsewhere.json").read_text(encoding="utf-8") == "kept\n"


def test_a_backup_dir_that_is_a_file_is_refused(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("x", encoding="utf-8")
    with pytest.raises(AnsibleActionFail, match="m365ops_backup_dir"):
        run({"backup_dir": str(tmp_path / "file")})
