# -*- coding: utf-8 -*-
# Copyright: m365ops.activation contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action of m365ops.activation.controller_output: the report file and the backup directory, on the controller.

One rule for both paths: relative to the current directory, as the user typed them. Both are checked before any host is
contacted; the report is written atomically to a regular file and never replaces a directory or a device.
"""

from __future__ import annotations

import json
import os
import stat
import tempfile
import typing as t

from ansible.errors import AnsibleActionFail
from ansible.plugins.action import ActionBase

from ansible_collections.m365ops.activation.plugins.plugin_utils.engine.backup import check_backup_dir


def controller_path(path: str) -> str:
    """``path`` as the user meant it: ``~`` expanded, relative to the current directory."""
    return os.path.abspath(os.path.expanduser(path)) if path else ""


def report_file_problem(path: str) -> str | None:
    """Why ``path`` cannot take the report, or None. Nothing is created."""
    try:
        found = os.lstat(path)
    except FileNotFoundError:
        found = None
    except OSError as error:
        return str(error)
    if found is not None and not stat.S_ISREG(found.st_mode):
        kind = "a directory" if stat.S_ISDIR(found.st_mode) else "a symbolic link" if stat.S_ISLNK(found.st_mode) else "not a regular file"
        return f"it is {kind}; the report is written only to a regular file, never in place of anything else"
    parent = os.path.dirname(path)
    if not os.path.isdir(parent):
        return f"its directory {parent} does not exist"
    if not os.access(parent, os.W_OK | os.X_OK):
        return f"its directory {parent} is not writable"
    if found is not None and not os.access(path, os.W_OK):
        return "the file is not writable"
    return None


def write_report(path: str, report: t.Any) -> None:
    """The report as JSON, atomically: a temporary file beside ``path``, flushed to disk, renamed over it."""
    problem = report_file_problem(path)
    if problem:
        raise AnsibleActionFail(f"report_file: {path}: {problem}")
    handle, temp_path = tempfile.mkstemp(dir=os.path.dirname(path), prefix=".report-")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            json.dump(report, stream, indent=4, sort_keys=True, default=str)
            stream.write("\n")
            stream.flush()
            os.fsync(stream.fileno())
        os.chmod(temp_path, 0o644)
        os.replace(temp_path, path)
    except BaseException:
        if os.path.exists(temp_path):
            os.unlink(temp_path)
        raise


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    ARGUMENT_SPEC = {
        "report_file": {"type": "str", "default": ""},
        "backup_dir": {"type": "str", "default": ""},
        "report": {"type": "raw"},
    }

    def run(self, tmp: t.Any = None, task_vars: dict[str, t.Any] | None = None) -> dict[str, t.Any]:
        self._supports_check_mode = True
        result = super().run(tmp, task_vars)
        _validation, args = self.validate_argument_spec(argument_spec=self.ARGUMENT_SPEC)
        report_file, backup_dir = controller_path(args["report_file"]), controller_path(args["backup_dir"])
        if report_file:
            problem = report_file_problem(report_file)
            if problem:
                raise AnsibleActionFail(f"m365ops_report_file: {report_file}: {problem}")
        if backup_dir and self._task.check_mode and not os.path.isdir(backup_dir):
            # Check mode creates nothing: the directory a real run would create must be creatable.
            parent = os.path.dirname(backup_dir)
            if not (os.path.isdir(parent) and os.access(parent, os.W_OK | os.X_OK)) or os.path.lexists(backup_dir):
                raise AnsibleActionFail(f"m365ops_backup_dir: {backup_dir} cannot be created (not a directory, or its parent is missing or "
                                        "not writable)")
        elif backup_dir:
            try:
                check_backup_dir(backup_dir)
            except OSError as error:
                raise AnsibleActionFail(f"m365ops_backup_dir: {backup_dir} cannot hold backup records ({error})") from error
        written = False
        if args.get("report") is not None:
            if not report_file:
                raise AnsibleActionFail("report_file: give the path to write the report to")
            try:
                write_report(report_file, args["report"])
            except OSError as error:
                raise AnsibleActionFail(f"m365ops_report_file: {report_file} could not be written ({error})") from error
            written = True
        result.update(changed=False, report_file=report_file, backup_dir=backup_dir, written=written)
        return result
