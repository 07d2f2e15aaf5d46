# -*- coding: utf-8 -*-
# Copyright: m365ops.activation contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The report as JUnit XML, for CI systems and test dashboards that read it.

One test suite per host. A compliance report has one test case per host and concern, plus one named ``activation`` for
whether the host can activate: a concern that drifts or is blocked, and a host that cannot activate or is at risk, is a
failure (its findings are the failure's text); a concern that failed, could not be reached or was busy is an error; a
concern not selected or not run, and activation not checked, is skipped. A restore report has one case per host, a
diagnosis one per host with its findings. Only the standard library writes it (ElementTree escapes every text).
"""

from __future__ import annotations

import json
import typing as t
import xml.etree.ElementTree as ET

from ansible_collections.m365ops.activation.plugins.plugin_utils.report_files.kinds import COMPLIANCE, DIAGNOSIS, RESTORE, report_kind

FAILURE_STATUSES = ("drift", "blocked")
ERROR_STATUSES = ("failed", "unknown", "unreachable", "busy")
SKIPPED_STATUSES = ("not_selected", "not_run")
FAILURE_VERDICTS = ("cannot_activate", "at_risk")
RESTORE_FAILURES = ("CONFLICT", "WOULD RESTORE")
RESTORE_SKIPPED = ("NOT RUN",)
# Characters XML 1.0 cannot carry at all; a host's text is not trusted to be free of them.
_FORBIDDEN = dict.fromkeys([*range(0, 9), 11, 12, *range(14, 32), 0xFFFE, 0xFFFF])


def _text(value: t.Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, sort_keys=True, default=str)
    return text.translate(_FORBIDDEN)


def _case(suite: ET.Element, host: str, name: str, outcome: str | None = None, message: str = "", text: str = "") -> None:
    """One test case; ``outcome`` failure, error or skipped (None: passed)."""
    case = ET.SubElement(suite, "testcase", classname=_text(host), name=_text(name), time="0")
    if outcome:
        child = ET.SubElement(case, outcome, message=_text(message)[:1000], type=_text(message.split(":", 1)[0]) if outcome != "skipped" else "skipped")
        if outcome == "skipped":
            del child.attrib["type"]
        child.text = _text(text) if text else None


def _concern_text(entry: t.Mapping[str, t.Any], check_mode: bool) -> str:
    lines = [entry["message"]] if entry.get("message") else []
    for label, key in (("would change" if check_mode else "changed", "changes"), ("blocked", "blockers"), ("drift", "drift"), ("warning", "warnings")):
        lines.extend(f"{label}: {item}" for item in entry.get(key) or [])
    return "\n".join(_text(line) for line in lines)


def _cause_text(causes: t.Sequence[t.Mapping[str, t.Any]]) -> str:
    return "\n".join(f"{cause.get('severity')} {cause.get('id')}: {cause.get('summary')}\n  evidence: {_text(cause.get('evidence'))}\n"
                     f"  fix: {cause.get('fix')}" for cause in causes)


def _compliance_cases(suite: ET.Element, host: str, entry: t.Mapping[str, t.Any]) -> None:
    check_mode = bool(entry.get("check_mode"))
    for concern, detail in (entry.get("concerns") or {}).items():
        status = str(detail.get("status"))
        first = (detail.get("blockers") or detail.get("drift") or detail.get("changes") or [status])[0]
        if status in FAILURE_STATUSES:
            _case(suite, host, concern, "failure", f"{status}: {first}", _concern_text(detail, check_mode))
        elif status in ERROR_STATUSES:
            _case(suite, host, concern, "error", f"{status}: {detail.get('message') or status}", _concern_text(detail, check_mode))
        elif status in SKIPPED_STATUSES:
            _case(suite, host, concern, "skipped", f"{status}: {detail.get('message') or 'not selected for this run'}")
        else:
            _case(suite, host, concern)
    activation = entry.get("activation") or {}
    verdict = str(activation.get("verdict") or "not_checked")
    causes = activation.get("causes") or []
    if verdict in FAILURE_VERDICTS:
        _case(suite, host, "activation", "failure", f"{verdict}: {', '.join(str(cause.get('id')) for cause in causes)}", _cause_text(causes))
    elif verdict == "not_checked":
        _case(suite, host, "activation", "skipped", "not_checked: this run did not read what activation depends on")
    else:
        _case(suite, host, "activation")


def _restore_case(suite: ET.Element, host: str, entry: t.Mapping[str, t.Any]) -> None:
    word = str(entry.get("result"))
    text = "\n".join([*(f"restored: {item}" for item in entry.get("restored") or []),
                      *(f"conflict: {_text(item)}" for item in entry.get("conflicts") or [])])
    if word in RESTORE_FAILURES:
        _case(suite, host, "restore", "failure", word, text)
    elif word in RESTORE_SKIPPED:
        _case(suite, host, "restore", "skipped", f"{word}: {entry.get('message') or ''}")
    elif str(entry.get("status")) in ERROR_STATUSES:
        _case(suite, host, "restore", "error", f"{word}: {entry.get('message') or ''}", text)
    else:
        _case(suite, host, "restore")


def _diagnosis_case(suite: ET.Element, host: str, found: t.Any) -> None:
    serious = [item for item in found or [] if isinstance(item, t.Mapping) and item.get("severity") in ("high", "medium")]
    if serious:
        _case(suite, host, "diagnosis", "failure", ", ".join(str(item.get("id")) for item in serious), _cause_text(serious))
    else:
        _case(suite, host, "diagnosis")


def _count(suite: ET.Element) -> dict[str, int]:
    cases = suite.findall("testcase")
    return {"tests": len(cases), "failures": sum(1 for case in cases if case.find("failure") is not None),
            "errors": sum(1 for case in cases if case.find("error") is not None),
            "skipped": sum(1 for case in cases if case.find("skipped") is not None)}


def junit_xml(report: t.Mapping[str, t.Any]) -> bytes:
    """The JUnit XML of ``report`` (any of the collection's report layouts), UTF-8 with its declaration."""
    kind = report_kind(report)
    run = report.get("run") if isinstance(report.get("run"), t.Mapping) else {}
    title = str(report.get("title") or kind)
    root = ET.Element("testsuites", name=_text(f"m365ops.activation {title}"))
    if run.get("id"):
        root.set("id", _text(run["id"]))
    if run.get("generated"):
        root.set("timestamp", _text(run["generated"]).rstrip("Z"))
    hosts = report["hosts"]
    missing = (report.get("summary") or {}).get("hosts_not_diagnosed") or [] if kind == DIAGNOSIS else []
    for host in sorted({*hosts, *missing}):
        suite = ET.SubElement(root, "testsuite", name=_text(host), hostname=_text(host), time="0")
        if run.get("generated"):
            suite.set("timestamp", _text(run["generated"]).rstrip("Z"))
        if kind == COMPLIANCE:
            entry = hosts[host]
            properties = ET.SubElement(suite, "properties")
            for name in ("headline", "status", "os"):
                ET.SubElement(properties, "property", name=name, value=_text(entry.get(name) or ""))
            ET.SubElement(properties, "property", name="verdict", value=_text((entry.get("activation") or {}).get("verdict") or "not_checked"))
            _compliance_cases(suite, host, entry)
        elif kind == RESTORE:
            _restore_case(suite, host, hosts[host])
        elif host in hosts:
            _diagnosis_case(suite, host, hosts[host])
        else:
            _case(suite, host, "diagnosis", "error", "not diagnosed: the host could not be reached or its diagnosis failed")
        for key, value in _count(suite).items():
            suite.set(key, str(value))
    totals = {key: 0 for key in ("tests", "failures", "errors", "skipped")}
    for suite in root.findall("testsuite"):
        for key in totals:
            totals[key] += int(suite.get(key, "0"))
    for key, value in totals.items():
        root.set(key, str(value))
    ET.indent(root)
    return ET.tostring(root, encoding="utf-8", xml_declaration=True) + b"\n"
