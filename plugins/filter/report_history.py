# -*- coding: utf-8 -*-
# Copyright: m365ops.activation contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Compliance reports across runs: what changed since a previous report, and several runs' reports merged into one.

Both take reports of P(m365ops.activation.compliance_report#filter) (layout 1) and refuse anything else by name, so a
restore report or a tampered file is never read as a fleet's state.
"""

from __future__ import annotations

import typing as t

from ansible.errors import AnsibleFilterError

from ansible_collections.m365ops.activation.plugins.filter.report import (
    AT_RISK, CANNOT_ACTIVATE, CONCERNS, HEADLINE_ORDER, NOT_CHECKED, OFFICE_CONCERNS, REPORT_SCHEMA_VERSION, VERDICTS, run_metadata, summary,
)
from ansible_collections.m365ops.activation.plugins.plugin_utils.engine.status import (
    COMPLIANT, NOT_SELECTED, NOTHING_TO_RESTORE, REMEDIATED, STATUS_ORDER,
)

# A headline at which a host needs nobody: anything worse is a failure in the comparison.
FINE = (NOT_SELECTED, NOTHING_TO_RESTORE, COMPLIANT, REMEDIATED)


def checked_report(report: t.Any, what: str) -> t.Mapping[str, t.Any]:
    """``report`` when it is a layout-1 compliance report whose every host entry has a headline, status and verdict this
    collection knows; else an error naming ``what`` (controller_output checks m365ops_previous_report with it)."""
    if not isinstance(report, t.Mapping) or report.get("schema_version") != REPORT_SCHEMA_VERSION or not isinstance(report.get("hosts"), t.Mapping):
        raise AnsibleFilterError(f"{what} is not a compliance report of m365ops.activation, layout {REPORT_SCHEMA_VERSION} (audit.yml or "
                                 "remediate.yml with m365ops_report_file writes one)")
    for host, entry in report["hosts"].items():
        if (not isinstance(entry, t.Mapping) or entry.get("headline") not in HEADLINE_ORDER or entry.get("status") not in STATUS_ORDER
                or not isinstance(entry.get("activation"), t.Mapping) or entry["activation"].get("verdict") not in VERDICTS):
            raise AnsibleFilterError(f"{what}: the entry of host {host!r} has a headline, status or verdict this collection does not know; "
                                     "was the file changed by hand?")
    return report


def _run_of(report: t.Mapping[str, t.Any]) -> dict[str, t.Any]:
    run = report.get("run") if isinstance(report.get("run"), t.Mapping) else {}
    return {key: run.get(key) for key in ("id", "generated", "playbook", "check_mode", "limit")}


def compare_reports(report: t.Mapping[str, t.Any], previous: t.Mapping[str, t.Any]) -> dict[str, t.Any]:
    """``report`` with ``since_previous``: which hosts fail now and did not (new failures), fail worse, no longer fail
    (fixed) or fail less; which failed because they could not activate and were not checked for it now (not
    rechecked: a remediation does not look); which are new and which the previous report had and this one has not (gone, or, when this
    run was limited, not in this run); and each host whose headline changed, before and after."""
    checked_report(report, "the report")
    checked_report(previous, "m365ops_previous_report")
    now, before = report["hosts"], previous["hosts"]
    since: dict[str, t.Any] = {"previous_run": _run_of(previous), "changed": {}}
    since.update({key: [] for key in ("new_failures", "worse", "fixed", "better", "not_rechecked")})
    for host in sorted(set(now) & set(before)):
        was, is_now = before[host]["headline"], now[host]["headline"]
        if was == is_now:
            continue
        since["changed"][host] = {"before": was, "after": is_now}
        if is_now not in FINE:
            since["new_failures" if was in FINE else "worse" if HEADLINE_ORDER.index(is_now) > HEADLINE_ORDER.index(was) else "better"].append(host)
        elif was not in FINE and before[host]["activation"]["verdict"] in (CANNOT_ACTIVATE, AT_RISK) and now[host]["activation"]["verdict"] == NOT_CHECKED:
            # It failed for what it could not activate with, and this run did not look (a remediation, an audit of the
            # settings only): whether it is fixed is not known.
            since["not_rechecked"].append(host)
        elif was not in FINE:
            since["fixed"].append(host)
    since["new_hosts"] = sorted(set(now) - set(before))
    missing = sorted(set(before) - set(now))
    limited = bool((report.get("run") or {}).get("limit"))
    # Under --limit a host outside the limit is not gone, only not in this run.
    since["gone"], since["not_in_this_run"] = ([], missing) if limited else (missing, [])
    return {**report, "since_previous": since}


def merge_reports(reports: t.Sequence[t.Mapping[str, t.Any]]) -> dict[str, t.Any]:
    """One report of several runs' (job slices, controllers, a re-run of the failed hosts): per host the entry of the
    newest run that has it (by the time the run started; of two runs of the same second, the later in the list), each
    entry saying its run (``run_id``); ``runs`` lists every run merged and how many of its hosts were kept; the
    totals and the fleet's causes are those of the merged hosts."""
    if not isinstance(reports, (list, tuple)) or not reports:
        raise AnsibleFilterError("merge_reports: give a list of one or more compliance reports (m365ops_merge_reports: the files)")
    checked = [checked_report(report, f"report {index + 1} of {len(reports)}") for index, report in enumerate(reports)]
    order = sorted(range(len(checked)), key=lambda index: (str(_run_of(checked[index]).get("generated") or ""), index))
    hosts: dict[str, dict[str, t.Any]] = {}
    source: dict[str, int] = {}
    for index in order:
        run_id = _run_of(checked[index]).get("id")
        for host, entry in checked[index]["hosts"].items():
            hosts[host] = {**entry, "run_id": run_id}
            source[host] = index
    runs = [{**_run_of(checked[index]), "hosts": len(checked[index]["hosts"]), "hosts_kept": sum(1 for kept in source.values() if kept == index),
             **({"selection": checked[index]["selection"]["expression"]} if isinstance(checked[index].get("selection"), t.Mapping) else {})}
            for index in order]
    known = CONCERNS + OFFICE_CONCERNS
    chosen = {concern for report in checked for concern in report.get("concerns") or [] if concern in known}
    newest = (checked[order[-1]].get("run") or {}) if order else {}
    run = run_metadata({"check_mode": all(bool((report.get("run") or {}).get("check_mode")) for report in checked),
                        "playbook": f"merge of {len(checked)} reports", "ansible_core": newest.get("ansible_core")}, known, chosen)
    titles = sorted({str(report.get("title") or "report") for report in checked})
    return {"schema_version": REPORT_SCHEMA_VERSION, "title": "merged " + ", ".join(titles), "run": run, "runs": runs,
            "hosts": dict(sorted(hosts.items())), **summary(hosts), "concerns": [concern for concern in known if concern in chosen],
            "status_order": list(STATUS_ORDER), "headline_order": list(HEADLINE_ORDER)}


class FilterModule:
    def filters(self) -> dict[str, t.Callable[..., t.Any]]:
        return {"compare_reports": compare_reports, "merge_reports": merge_reports}
