# -*- coding: utf-8 -*-
# Copyright: m365ops.activation contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Which of the collection's reports a JSON report is: the three layouts the playbooks write."""

from __future__ import annotations

import typing as t

# audit.yml and remediate.yml (the fleet role): the compliance report, docs/schemas/compliance-report-<n>.schema.json.
COMPLIANCE = "compliance"
# restore.yml: per host what was put back.
RESTORE = "restore"
# diagnose.yml: per host its findings, and the fleet's summary.
DIAGNOSIS = "diagnosis"


def report_kind(report: t.Mapping[str, t.Any]) -> str:
    """The layout of ``report``; a mapping that is none of them is refused, naming what was expected."""
    if not isinstance(report, t.Mapping) or not isinstance(report.get("hosts"), t.Mapping):
        raise ValueError("not a report of m365ops.activation: a mapping with 'hosts' is expected")
    if "schema_version" in report:
        return COMPLIANCE
    if report.get("title") == "restore":
        return RESTORE
    if isinstance(report.get("summary"), t.Mapping):
        return DIAGNOSIS
    raise ValueError("not a report of m365ops.activation: neither a compliance report (schema_version), a restore report nor a diagnosis")
