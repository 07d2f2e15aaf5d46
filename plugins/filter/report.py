# -*- coding: utf-8 -*-
# Copyright: m365ops.activation contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Turn the registered results of the collection's roles into a per-host compliance report."""

from __future__ import annotations

import typing as t

STATUS_ORDER = ("compliant", "remediated", "drift", "blocked", "failed", "not_run")


def concern_status(result: t.Mapping[str, t.Any] | None) -> dict[str, t.Any]:
    """Classify one registered concern result."""
    if not result or result.get("skipped"):
        return {"status": "not_run", "changes": [], "blockers": [], "warnings": []}
    entry: dict[str, t.Any] = {
        "changes": [change.get("reason", "") for change in result.get("changes") or []],
        "blockers": list(result.get("blockers") or []),
        "warnings": [warning for warning in result.get("warnings") or [] if warning not in (result.get("blockers") or [])],
        "reboot_required": bool(result.get("reboot_required")),
    }
    if result.get("unreachable"):
        entry.update(status="not_run", message=result.get("msg", "unreachable"))
    elif result.get("failed"):
        entry.update(status="failed", message=result.get("msg", ""))
    elif entry["blockers"] and not result.get("changed"):
        entry["status"] = "blocked"
    elif result.get("changed"):
        entry["status"] = "drift" if result.get("check_mode") else "remediated"
    else:
        entry["status"] = "compliant"
    return entry


def _os_name(result: t.Mapping[str, t.Any] | None) -> str:
    for value in (result or {}).values():
        if isinstance(value, t.Mapping) and value.get("os"):
            return str(value["os"])
    return ""


def compliance_report(hostvars: t.Mapping[str, t.Any], hosts: t.Sequence[str], concerns: t.Sequence[str] = ("tls12",)) -> dict[str, t.Any]:
    report_hosts: dict[str, t.Any] = {}
    totals = {status: 0 for status in STATUS_ORDER}
    for host in hosts:
        variables = hostvars.get(host) or {}
        results = {concern: variables.get(f"{concern}_result") for concern in concerns}
        entries = {concern: concern_status(result) for concern, result in results.items()}
        status = max((entry["status"] for entry in entries.values()), key=STATUS_ORDER.index, default="not_run")
        os_name = next((name for name in (_os_name(result) for result in results.values()) if name), "")
        report_hosts[host] = {
            "status": status,
            "os": os_name,
            "reboot_required": any(entry.get("reboot_required") for entry in entries.values()),
            "concerns": entries,
        }
        totals[status] += 1
    return {"hosts": report_hosts, "totals": totals}


def report_lines(report: t.Mapping[str, t.Any]) -> list[str]:
    """One readable line per host, then the totals."""
    lines = []
    for host, entry in sorted(report["hosts"].items()):
        details = []
        for concern, detail in entry["concerns"].items():
            if detail.get("message"):
                details.append(f"{concern}: {detail['message']}")
            elif detail["changes"]:
                details.append(f"{concern}: " + "; ".join(detail["changes"]))
            details.extend(f"{concern} blocked: {blocker}" for blocker in detail.get("blockers", []))
            details.extend(f"{concern} warning: {warning}" for warning in detail["warnings"])
        reboot = " [reboot required]" if entry["reboot_required"] else ""
        lines.append(f"{host} ({entry['os'] or 'unknown OS'}): {entry['status'].upper()}{reboot}" + (f" - {' | '.join(details)}" if details else ""))
    lines.append("totals: " + ", ".join(f"{status}={count}" for status, count in report["totals"].items() if count))
    return lines


class FilterModule:
    def filters(self) -> dict[str, t.Callable[..., t.Any]]:
        return {"compliance_report": compliance_report, "report_lines": report_lines}
