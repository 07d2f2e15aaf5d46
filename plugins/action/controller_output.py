# -*- coding: utf-8 -*-
# Copyright: m365ops.activation contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action of m365ops.activation.controller_output: the report files and the backup directory, on the controller.

One rule for every path: relative to the current directory, as the user typed them. All are checked before any host is
contacted; each report file is written atomically to a regular file and never replaces a directory or a device. The
JSON report is the record; JUnit XML and the HTML page are written beside it from the same report.
"""

from __future__ import annotations

import json
import os
import stat
import tempfile
import typing as t

from ansible.errors import AnsibleActionFail, AnsibleFilterError
from ansible.plugins.action import ActionBase

from ansible_collections.m365ops.activation.plugins.filter.report_history import checked_report
from ansible_collections.m365ops.activation.plugins.plugin_utils.engine.backup import check_backup_dir
from ansible_collections.m365ops.activation.plugins.plugin_utils.report_files.junit import junit_xml
from ansible_collections.m365ops.activation.plugins.plugin_utils.report_files.page import report_page

FORMATS = ("json", "junit", "html")
SUFFIXES = {"junit": ".xml", "html": ".html"}


def format_paths(report_file: str, formats: t.Sequence[str]) -> dict[str, str]:
    """Where each format goes: the JSON at ``report_file``, the others beside it with its ``.json`` replaced (or added
    to): ``audit.json`` -> ``audit.xml``, ``audit.html``."""
    if not report_file:
        return {}
    stem = report_file[:-5] if report_file.endswith(".json") else report_file
    return {name: report_file if name == "json" else stem + SUFFIXES[name] for name in FORMATS if name in formats}


def previous_report_problem(path: str) -> str | None:
    """Why ``path`` cannot be the previous report a run compares itself with, or None (read on the controller)."""
    if not os.path.isfile(path):
        return "no such file"
    try:
        with open(path, encoding="utf-8") as stream:
            report = json.load(stream)
    except (OSError, ValueError) as error:
        return f"not readable as JSON ({error})"
    try:
        checked_report(report, "it")
    except AnsibleFilterError as error:
        return str(error)
    return None


def render(name: str, report: t.Any) -> bytes:
    """The report in one format, as the bytes of its file."""
    if name == "json":
        return (json.dumps(report, indent=4, sort_keys=True, default=str) + "\n").encode("utf-8")
    if name == "junit":
        return junit_xml(report)
    return report_page(report).encode("utf-8")


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


def write_report(path: str, content: bytes) -> None:
    """One report file, atomically: a temporary file beside ``path``, flushed to disk, renamed over it."""
    problem = report_file_problem(path)
    if problem:
        raise AnsibleActionFail(f"report_file: {path}: {problem}")
    handle, temp_path = tempfile.mkstemp(dir=os.path.dirname(path), prefix=".report-")
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(content)
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
        "formats": {"type": "list", "elements": "str", "choices": list(FORMATS), "default": ["json"]},
        "previous_report": {"type": "str", "default": ""},
    }

    def run(self, tmp: t.Any = None, task_vars: dict[str, t.Any] | None = None) -> dict[str, t.Any]:
        self._supports_check_mode = True
        result = super().run(tmp, task_vars)
        _validation, args = self.validate_argument_spec(argument_spec=self.ARGUMENT_SPEC)
        report_file, backup_dir = controller_path(args["report_file"]), controller_path(args["backup_dir"])
        if report_file and "json" not in args["formats"]:
            raise AnsibleActionFail("m365ops_report_formats: json is the record every other format is made from; keep it in the list")
        paths = format_paths(report_file, args["formats"])
        for path in paths.values():
            problem = report_file_problem(path)
            if problem:
                raise AnsibleActionFail(f"m365ops_report_file: {path}: {problem}")
        previous = controller_path(args["previous_report"])
        if previous:
            problem = previous_report_problem(previous)
            if problem:
                raise AnsibleActionFail(f"m365ops_previous_report: {previous}: {problem}")
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
        written: list[str] = []
        if args.get("report") is not None:
            if not report_file:
                raise AnsibleActionFail("report_file: give the path to write the report to")
            # Every format is rendered before any file is written: a report one format cannot take leaves none half done.
            try:
                contents = {name: render(name, args["report"]) for name in paths}
            except ValueError as error:
                raise AnsibleActionFail(f"report: {error}") from error
            for name, path in paths.items():
                try:
                    write_report(path, contents[name])
                except OSError as error:
                    raise AnsibleActionFail(f"m365ops_report_file: {path} could not be written ({error})") from error
                written.append(path)
        result.update(changed=False, report_file=report_file, backup_dir=backup_dir, files=paths, previous_report=previous, written=bool(written))
        return result
