# -*- coding: utf-8 -*-
# Copyright: m365ops.activation contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The report as one self-contained HTML page: no network, no files beside it, readable offline and as an artifact.

The page (``page.html``, its style and script inline) carries the report's data in a ``<script type="application/json">``
element and draws everything with the DOM API and ``textContent``: no text of a host ever becomes markup. The data is
packed (``pack``): every string, list or mapping that occurs more than once, as the entries of hosts in the same state
do, is kept once and referred to, so 10,000 hosts stay a page a browser opens (``make bench`` measures it).
"""

from __future__ import annotations

import json
import typing as t
from pathlib import Path

from ansible_collections.m365ops.activation.plugins.plugin_utils.report_files.kinds import COMPLIANCE, DIAGNOSIS, RESTORE, report_kind

TEMPLATE = Path(__file__).with_name("page.html")
# Where the template takes the packed data and the page's title.
DATA_MARK = "/*M365OPS_REPORT_DATA*/"
TITLE_MARK = "M365OPS_REPORT_TITLE"
# Values shorter than this (in JSON) are written where they occur; a reference would not be shorter.
SHARE_ABOVE = 12
REFERENCE = "$r"
# The activation verdicts, worst first, as the counts and the chart show them.
VERDICT_ORDER = ["cannot_activate", "at_risk", "can_activate", "not_checked"]


def pack(value: t.Any) -> dict[str, t.Any]:
    """``value`` as ``{"table": [...], "root": ...}``: each string, list or mapping longer than SHARE_ABOVE in JSON that
    occurs more than once is in the table once and written ``{"$r": index}`` where it occurs. A mapping key that starts
    with ``$`` is written with one more ``$`` (the page takes it off), so no data is read as a reference."""
    table: list[t.Any] = []
    seen: dict[str, int] = {}
    counts: dict[str, int] = {}
    keys: dict[int, str] = {}

    def canonical(item: t.Any) -> t.Any:
        if isinstance(item, t.Mapping):
            return {("$" + str(key) if str(key).startswith("$") else str(key)): canonical(inner) for key, inner in item.items()}
        if isinstance(item, (list, tuple)):
            return [canonical(inner) for inner in item]
        if item is None or isinstance(item, (bool, int, float, str)):
            return item
        return str(item)

    def count(item: t.Any) -> str:
        """The value's canonical JSON (keys sorted), built from its parts' once; each is counted."""
        if isinstance(item, dict):
            key = "{" + ",".join(f"{json.dumps(name)}:{count(inner)}" for name, inner in sorted(item.items())) + "}"
        elif isinstance(item, list):
            key = "[" + ",".join(count(inner) for inner in item) + "]"
        else:
            key = json.dumps(item)
        if isinstance(item, (dict, list, str)):
            keys[id(item)] = key
        counts[key] = counts.get(key, 0) + 1
        return key

    def share(item: t.Any) -> t.Any:
        if isinstance(item, dict):
            packed: t.Any = {name: share(inner) for name, inner in item.items()}
        elif isinstance(item, list):
            packed = [share(inner) for inner in item]
        elif isinstance(item, str):
            packed = item
        else:
            return item
        # One rule for strings, lists and mappings: by the length of their JSON, as SHARE_ABOVE says.
        key = keys[id(item)]
        return packed if len(key) <= SHARE_ABOVE or counts.get(key, 0) < 2 else _shared(key, packed)

    def _shared(key: str, packed: t.Any) -> dict[str, int]:
        if key not in seen:
            seen[key] = len(table)
            table.append(packed)
        return {REFERENCE: seen[key]}

    plain = canonical(value)
    count(plain)
    return {"table": table, "root": share(plain)}


def _compliance_model(report: t.Mapping[str, t.Any]) -> dict[str, t.Any]:
    hosts = report["hosts"]
    rows = []
    for name, entry in hosts.items():
        activation = entry.get("activation") or {}
        rows.append({"name": name, "word": entry.get("headline", entry.get("status")), "status": entry.get("status"), "os": entry.get("os") or "",
                     "verdict": activation.get("verdict") or "not_checked",
                     "causes": [cause.get("id") for cause in activation.get("causes") or []], "entry": entry})
    counts = [{"label": "Hosts by headline (the worse of settings and activation)", "key": "headlines",
               "order": report.get("headline_order") or list(report.get("headlines") or {}), "values": report.get("headlines") or {}},
              {"label": "Can they activate?", "key": "activation", "order": VERDICT_ORDER,
               "values": report.get("activation") or {}},
              {"label": "Settings status", "key": "totals", "order": report.get("status_order") or list(report.get("totals") or {}),
               "values": report.get("totals") or {}}]
    charts = [{"title": "Hosts by activation state", "key": "activation", "values": report.get("activation") or {},
               "order": VERDICT_ORDER},
              {"title": "Hosts by cause", "key": "cause_hosts", "values": report.get("cause_hosts") or {},
               "order": list(report.get("cause_hosts") or {})}]
    return {"rows": rows, "counts": counts, "charts": charts, "causes": report.get("causes") or [],
            "word_order": report.get("headline_order") or []}


def _restore_model(report: t.Mapping[str, t.Any]) -> dict[str, t.Any]:
    rows = [{"name": name, "word": entry.get("result"), "status": "", "os": "", "verdict": "", "causes": [], "entry": entry}
            for name, entry in report["hosts"].items()]
    order = ["UNREACHABLE", "FAILED", "UNKNOWN", "BUSY", "BLOCKED", "NOT RUN", "CONFLICT", "WOULD RESTORE", "RESTORED", "NOTHING LEFT TO RESTORE",
             "NOTHING TO RESTORE"]
    order += [word for word in report.get("totals") or {} if word not in order]
    totals = report.get("totals") or {}
    return {"rows": rows, "counts": [{"label": "Hosts by what restore did", "key": "totals", "order": order, "values": totals}],
            "charts": [{"title": "Hosts by what restore did", "key": "totals", "values": totals, "order": order}], "causes": [],
            "word_order": list(reversed(order))}


def _diagnosis_model(report: t.Mapping[str, t.Any]) -> dict[str, t.Any]:
    summary = report.get("summary") or {}
    rows = []
    for name, found in report["hosts"].items():
        found = [item for item in found or [] if isinstance(item, t.Mapping)]
        severities = {item.get("severity") for item in found}
        word = "cannot_activate" if "high" in severities else "at_risk" if "medium" in severities else "can_activate"
        rows.append({"name": name, "word": word, "status": word, "os": "", "verdict": word, "causes": [item.get("id") for item in found],
                     "entry": {"findings": found}})
    reasons = summary.get("not_diagnosed") or {}
    for name in summary.get("hosts_not_diagnosed") or []:
        why = ", ".join(reason for reason, names in reasons.items() if name in names)
        rows.append({"name": name, "word": "not_diagnosed", "status": "not_diagnosed", "os": "", "verdict": "not_checked", "causes": [],
                     "entry": {"message": f"not diagnosed: {why}"}})
    findings = {key: len(value) for key, value in (summary.get("findings") or {}).items()}
    words: dict[str, int] = {}
    for row in rows:
        words[row["word"]] = words.get(row["word"], 0) + 1
    order = ["not_diagnosed", "cannot_activate", "at_risk", "can_activate"]
    return {"rows": rows, "counts": [{"label": "Hosts by what the diagnosis found", "key": None, "order": order, "values": words}],
            "charts": [{"title": "Hosts by finding", "key": None, "values": findings, "order": sorted(findings, key=lambda key: -findings[key])}],
            "causes": [], "word_order": list(reversed(order))}


def page_model(report: t.Mapping[str, t.Any]) -> dict[str, t.Any]:
    """What the page shows of ``report``, whichever of the collection's layouts it has."""
    kind = report_kind(report)
    model = {COMPLIANCE: _compliance_model, RESTORE: _restore_model, DIAGNOSIS: _diagnosis_model}[kind](report)
    title = str(report.get("title") or kind)
    model.update(kind=kind, title=title, run=report.get("run") if isinstance(report.get("run"), t.Mapping) else None,
                 since_previous=report.get("since_previous"), runs=report.get("runs"), selection=report.get("selection"),
                 hosts_total=len(report["hosts"]))
    return model


def _script_json(value: t.Any) -> str:
    """JSON that cannot end the script element it sits in, nor be read as markup."""
    text = json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026").replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")


def _escape_html(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")


def report_page(report: t.Mapping[str, t.Any]) -> str:
    """The whole HTML page of ``report``."""
    model = page_model(report)
    template = TEMPLATE.read_text(encoding="utf-8")
    title = f"m365ops.activation {model['title']}"
    if model.get("run") and model["run"].get("generated"):
        title += f", {model['run']['generated']}"
    return template.replace(TITLE_MARK, _escape_html(title)).replace(DATA_MARK, _script_json(pack(model)))
