# -*- coding: utf-8 -*-
# Copyright: m365ops.activation contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Turn the registered results of the collection's roles into a per-host compliance report.

The report is built from the hosts the play targeted and the concerns the run selected. A concern
the run did not ask for is ``not_selected``; a selected concern without a result is ``not_run``, with
the reason (a change before it in the same apply failed, an earlier step failed, the task was skipped); a host takes
the worst status of its concerns (order in ``plugin_utils/engine/status.py``).
"""

from __future__ import annotations

import datetime
import difflib
import functools
import json
import re
import typing as t
import uuid
from pathlib import Path

import yaml
from ansible.errors import AnsibleFilterError

from ansible_collections.m365ops.activation.plugins.plugin_utils.concerns.catalog import OFFICE_STEPS, ORDER
from ansible_collections.m365ops.activation.plugins.plugin_utils.engine.status import (
    BLOCKED, BUSY, COMPLIANT, DRIFT, FAILED, NOTHING_TO_RESTORE, NOT_RUN, NOT_SELECTED, REMEDIATED, STATUS_ORDER, UNKNOWN, UNREACHABLE,
    result_status, worst,
)
from ansible_collections.m365ops.activation.plugins.plugin_utils.findings import HIGH, INFO, MEDIUM, concerns_named, findings

# How the controller's connection plugins say that the host answered and refused the credentials: ansible-core's winrm
# plugin turns HTTP 401 into this sentence; other transports name the status code. Controller text, never the host's.
AUTH_REFUSED = re.compile(r"credentials were rejected|\b401\b", re.IGNORECASE)


# The collection's own files: its version, and every m365ops_ variable a playbook or role of it reads.
COLLECTION = Path(__file__).resolve().parents[2]
# Every concern the playbooks know, from the catalog, in the order they run; the users' Office steps apart (run only when
# named in m365ops_concerns, and reported only then).
CONCERNS = tuple(concern.NAME for concern in ORDER if concern.NAME not in OFFICE_STEPS)
OFFICE_CONCERNS = OFFICE_STEPS


def selected_concerns(concerns: t.Sequence[str], run_tags: t.Sequence[str] = ("all",), skip_tags: t.Sequence[str] = ()) -> list[str]:
    """The concerns of ``concerns`` that ``--tags``/``--skip-tags`` let run (a concern's name is its tag)."""
    run, skip = set(run_tags or ("all",)), set(skip_tags or ())
    if isinstance(concerns, str):
        # -e m365ops_concerns=tls12,ncsi arrives as one string, as Ansible's own list options accept it.
        concerns = [item.strip() for item in concerns.split(",") if item.strip()]
    return [concern for concern in concerns
            if (run & {"all", "tagged", concern}) and not skip & {concern, "tagged", "all"}]


def concern_entry(result: t.Mapping[str, t.Any]) -> dict[str, t.Any]:
    """Status and details of one registered concern result."""
    blockers = list(result.get("blockers") or [])
    drift = list(result.get("drift") or [])
    entry: dict[str, t.Any] = {
        "status": result_status(result),
        "changes": [change.get("reason", "") for change in result.get("changes") or [] if isinstance(change, t.Mapping)],
        "blockers": blockers,
        "drift": drift,
        "warnings": [warning for warning in result.get("warnings") or [] if warning not in blockers and warning not in drift],
        "reboot_required": bool(result.get("reboot_required")),
        "reboot_owed_by": list(result.get("reboot_owed_by") or []),
    }
    diff = result.get("diff")
    if isinstance(diff, t.Mapping) and isinstance(diff.get("before"), str) and isinstance(diff.get("after"), str):
        # Under --diff: the values before and after, as the task's diff shows them.
        entry["diff"] = {"before": diff["before"], "after": diff["after"]}
    if entry["status"] in (BUSY, FAILED, UNKNOWN, UNREACHABLE) or (entry["status"] == NOT_RUN and result.get("msg")):
        entry["message"] = str(result.get("msg") or entry["status"])
    elif result.get("skipped"):
        entry["message"] = f"skipped: {result.get('skip_reason') or result.get('false_condition') or 'condition false'}"
    return entry


def _stopped_entry(concern: str, stopped: t.Mapping[str, t.Any] | None) -> dict[str, t.Any]:
    empty: dict[str, t.Any] = {"changes": [], "blockers": [], "drift": [], "warnings": [], "reboot_required": False, "reboot_owed_by": []}
    if stopped and stopped.get("concern") == concern:
        return {**empty, "status": stopped.get("status", FAILED), "message": str(stopped.get("msg") or "failed")}
    if stopped:
        how = "was unreachable" if stopped.get("status") == UNREACHABLE else "failed"
        return {**empty, "status": NOT_RUN, "message": f"not run because {stopped.get('concern')} {how}"}
    return {**empty, "status": NOT_RUN, "message": "no result: the concern did not run on this host"}


def _os_name(results: t.Iterable[t.Mapping[str, t.Any] | None]) -> str:
    for result in results:
        for value in (result or {}).values():
            if isinstance(value, t.Mapping) and value.get("os"):
                return str(value["os"])
    return ""


def activation_result(activation: t.Any, concern: str) -> t.Mapping[str, t.Any] | None:
    """One concern's result out of a registered win_activation result: its own entry, or the whole result when the task
    never reached the concerns (the host was unreachable, the options were refused)."""
    if not isinstance(activation, t.Mapping) or activation.get("skipped"):
        return None
    concerns = activation.get("concerns")
    if isinstance(concerns, t.Mapping) and concern in concerns:
        return concerns[concern]
    if activation.get("unreachable") or (activation.get("failed") and not concerns):
        return activation
    return None


def role_result(variables: t.Mapping[str, t.Any], concern: str) -> t.Mapping[str, t.Any] | None:
    """One concern's result as a role registered it: the roles run their concern through win_activation, so it is the
    concern's entry of ``<concern>_result`` (or of another role's result that ran it too, as office_license runs the
    credentials), or the whole result when the task never reached the concerns (failed, unreachable, skipped). A
    concern module's own result registered under that name is taken as it is."""
    for name in (concern, *CONCERNS, *OFFICE_CONCERNS):
        result = variables.get(f"{name}_result")
        if not isinstance(result, t.Mapping):
            continue
        concerns = result.get("concerns")
        if isinstance(concerns, t.Mapping):
            if concern in concerns:
                return concerns[concern]
        elif name == concern:
            return result
    return None


def diagnosed_result(diagnosis: t.Any, concern: str) -> t.Mapping[str, t.Any] | None:
    """In findings mode, a concern no finding named was not applied: what the diagnosis saw of it stands (or the
    diagnosis itself, when it never reached the host)."""
    if not isinstance(diagnosis, t.Mapping) or diagnosis.get("skipped"):
        return None
    facts = (diagnosis.get("ansible_facts") or {}).get("m365ops_activation") or {}
    if facts.get("agent_unavailable"):
        return {"status": BLOCKED, "blockers": [str(facts.get("message") or "the agent cannot run")], "agent_unavailable": True}
    entry = (facts.get("concerns") or {}).get(concern)
    if isinstance(entry, t.Mapping):
        return {**entry, "msg": entry.get("failure"), "diagnosed_only": True}
    if diagnosis.get("unreachable") or diagnosis.get("failed"):
        return diagnosis
    return None


def findings_record(variables: t.Mapping[str, t.Any], entries: t.Mapping[str, t.Mapping[str, t.Any]],
                    after: t.Mapping[str, t.Any] | None = None) -> dict[str, t.Any] | None:
    """Findings mode: the findings before, those the run fixed, and those left (for a person, or not fixed). After a
    restart the host was diagnosed again, and that diagnosis decides; otherwise a finding is fixed when its concern was
    applied and the host read back clean (network evidence then waits for the next diagnosis)."""
    before = variables.get("fleet_findings")
    if not isinstance(before, list):
        return None
    activation = variables.get("fleet_activation")
    ran = activation.get("concerns") if isinstance(activation, t.Mapping) else None
    record: dict[str, t.Any] = {"before": [item["id"] for item in before], "applied": list(ran) if isinstance(ran, t.Mapping) else []}
    if after is not None:
        now = [item["id"] for item in findings(after)]
        fixed = [item for item in record["before"] if item not in now]
        record.update(after=now, new=[item for item in now if item not in record["before"]])
    else:
        verified = isinstance(activation, t.Mapping) and activation.get("verified") is True
        fixed = [item["id"] for item in before if item.get("concern") and verified
                 and (entries.get(item["concern"]) or {}).get("status") in (COMPLIANT, REMEDIATED)]
    record.update(fixed=fixed, left=[item for item in record["before"] if item not in fixed])
    return record


def _after_restart(variables: t.Mapping[str, t.Any], entries: dict[str, dict[str, t.Any]]) -> dict[str, t.Any] | None:
    """When the run restarted the host (m365ops_reboot): what the host said when read again. A change the restart was to
    finish that is not compliant now did not hold: failed, never remediated. Returns the facts read after the restart,
    or None when the host was not restarted; a restart that failed fails the concerns that waited for it."""
    restart = variables.get("fleet_restart")
    if not isinstance(restart, t.Mapping) or restart.get("skipped"):
        return None
    waiting = [name for name, entry in entries.items() if entry.get("reboot_required") and not entry.get("diagnosed_only")]
    after = variables.get("fleet_after")
    facts = (after.get("ansible_facts") or {}).get("m365ops_activation") if isinstance(after, t.Mapping) else None
    if restart.get("failed") or restart.get("unreachable") or not isinstance(facts, t.Mapping):
        why = str(restart.get("msg") or (after or {}).get("msg") or "the host was not read again after the restart")
        for name in waiting:
            entries[name].update(status=UNREACHABLE if restart.get("unreachable") else FAILED, message=f"restart: {why}")
        return None
    for name in waiting:
        seen = (facts.get("concerns") or {}).get(name) or {}
        if seen.get("status") == COMPLIANT:
            entries[name].update(reboot_required=False, reboot_owed_by=[])
        else:
            left = seen.get("would_change") or seen.get("blockers") or seen.get("drift") or [seen.get("failure") or "not read"]
            entries[name].update(status=FAILED, message=f"after the restart: {'; '.join(str(item) for item in left)}")
    return dict(facts)


# Whether a host can activate, from its findings: a high one means it cannot, a medium one puts it at risk.
CAN_ACTIVATE = "can_activate"
AT_RISK = "at_risk"
CANNOT_ACTIVATE = "cannot_activate"
NOT_CHECKED = "not_checked"
VERDICTS = (CAN_ACTIVATE, AT_RISK, CANNOT_ACTIVATE, NOT_CHECKED)
# A host's headline: its settings status, or its activation verdict where that is worse; never better than either.
HEADLINE_ORDER = (NOT_SELECTED, NOTHING_TO_RESTORE, COMPLIANT, REMEDIATED, AT_RISK, DRIFT, BLOCKED, CANNOT_ACTIVATE, NOT_RUN, BUSY, FAILED,
                  UNKNOWN, UNREACHABLE)


def activation_facts_of(variables: t.Mapping[str, t.Any]) -> t.Mapping[str, t.Any] | None:
    """The activation facts this run read of a host: the audit's (win_activation with facts returns them as a key of its
    result: they are the host before its changes) or the diagnosis's (win_activation_facts returns them as host facts)."""
    audit, diagnosis = variables.get("fleet_activation"), variables.get("fleet_diagnosis")
    for facts in ((audit.get("m365ops_activation") if isinstance(audit, t.Mapping) else None),
                  ((diagnosis.get("ansible_facts") or {}).get("m365ops_activation") if isinstance(diagnosis, t.Mapping) else None)):
        # A host the agent cannot run on was not read at all: whether it can activate is not known.
        if isinstance(facts, t.Mapping) and facts.get("concerns") and not facts.get("agent_unavailable"):
            return facts
    return None


def activation_entry(facts: t.Mapping[str, t.Any] | None, record: t.Mapping[str, t.Any] | None = None,
                     after: t.Mapping[str, t.Any] | None = None) -> dict[str, t.Any]:
    """Whether the host can activate, from the activation facts this run read of it (``activation_facts_of``), with the
    causes (the findings, most severe first) and what was checked. In findings mode the findings the run left
    (``record``), or all of those read again after its restart (``after``)."""
    facts = after if after is not None else facts
    if facts is None:
        return {"verdict": NOT_CHECKED, "causes": [], "checked": {}}
    found = findings(facts)
    if record is not None and after is None:
        # Read before the run fixed what it could: what it fixed no longer counts, what it left does.
        found = [item for item in found if item["id"] in record["left"]]
    severities = {item["severity"] for item in found}
    verdict = CANNOT_ACTIVATE if HIGH in severities else AT_RISK if MEDIUM in severities else CAN_ACTIVATE
    read = sorted(facts.get("concerns") or {})
    endpoints = facts.get("endpoints")
    checked = {"concerns": read, "not_checked": sorted(set(CONCERNS + OFFICE_CONCERNS) - set(read) - {"ipv6"}),
               "endpoints": isinstance(endpoints, t.Mapping) and bool(endpoints),
               # False: what only a second execution could test (the users' own proxies, a changed NCSI probe) was not.
               "endpoint_follow_ups": bool(isinstance(endpoints, t.Mapping) and endpoints.get("follow_ups", True))}
    causes = [{"id": item["id"], "severity": item["severity"], "summary": item["summary"], "fix": item["fix"], "evidence": item["evidence"]}
              for item in found if item["severity"] != INFO]
    return {"verdict": verdict, "causes": causes, "checked": checked}


def headline(status: str, verdict: str) -> str:
    """The worse of the settings status and what the activation verdict says."""
    said = verdict if verdict in (AT_RISK, CANNOT_ACTIVATE) else COMPLIANT
    return max((status, said), key=HEADLINE_ORDER.index)


def host_entry(variables: t.Mapping[str, t.Any], concerns: t.Sequence[str], selected: t.Collection[str]) -> dict[str, t.Any]:
    stopped = variables.get("fleet_stopped")
    entries: dict[str, dict[str, t.Any]] = {}
    results = []
    for concern in concerns:
        # The fleet role runs the concerns through win_activation (fleet_activation); a concern's own role registers <concern>_result.
        result = (role_result(variables, concern) or activation_result(variables.get("fleet_activation"), concern)
                  or diagnosed_result(variables.get("fleet_diagnosis"), concern))
        if concern not in selected:
            # The users' Office steps are listed only where a run asked for them.
            if concern not in OFFICE_CONCERNS:
                entries[concern] = {"status": NOT_SELECTED}
            continue
        results.append(result)
        if isinstance(result, t.Mapping) and not (result.get("skipped") and stopped):
            entries[concern] = concern_entry(result)
            if result.get("diagnosed_only"):
                entries[concern]["diagnosed_only"] = True
        else:
            entries[concern] = _stopped_entry(concern, stopped)
    after = _after_restart(variables, entries)
    status = worst(entry["status"] for entry in entries.values())
    owed = sorted({name for entry in entries.values() for name in entry.get("reboot_owed_by", [])})
    host: dict[str, t.Any] = {
        "status": status,
        "os": _os_name(results),
        "reboot_required": any(entry.get("reboot_required") for entry in entries.values()) or bool(owed),
        "reboot_owed_by": owed,
        "concerns": entries,
        # Whether this run only planned (check mode): a restart its changes need would be needed, not owed.
        "check_mode": any(isinstance(result, t.Mapping) and bool(result.get("check_mode")) for result in results),
    }
    # Drift nothing of this run would change: left in place on purpose (a PAC-file site, a probe host the site chose), with
    # its evidence, told apart from drift a remediation would change.
    left = [name for name, entry in entries.items() if entry["status"] == DRIFT and entry.get("drift") and not entry.get("changes")]
    if left:
        host["drift_left_in_place"] = left
    if after is not None:
        host["restarted"] = True
        # Windows' own reasons to restart, as read after this run's restart.
        host["reboot_required"] = host["reboot_required"] or bool(after.get("pending_reboot") or after.get("reboot_owed_by"))
    activation = variables.get("fleet_activation")
    if isinstance(activation, t.Mapping) and "verified" in activation:
        # After an apply the host was read again: true only when nothing is left to change (null in check mode).
        host["verified"] = activation["verified"]
    if isinstance(activation, t.Mapping) and activation.get("backup_file"):
        # The controller's record of the values this run overwrote (restore.yml puts them back).
        host["backup_file"] = str(activation["backup_file"])
    record = findings_record(variables, entries, after)
    if record is not None:
        host["findings"] = record
    facts = activation_facts_of(variables)
    host["activation"] = activation_entry(facts, record, after if record is not None else None)
    host["headline"] = headline(status, host["activation"]["verdict"])
    if after is None and facts is not None and facts.get("reboot_owed_by"):
        # A restart an earlier run left owed stays owed, also where this run read the host only to diagnose it.
        host["reboot_owed_by"] = sorted({*host["reboot_owed_by"], *facts["reboot_owed_by"]})
        host["reboot_required"] = True
    prerequisites = variables.get("prerequisites_result")
    if isinstance(prerequisites, t.Mapping):
        host["prerequisites"] = {key: prerequisites.get(key) for key in ("powershell", "dotnet4_release", "lacks", "ready", "error")}
    if status in (FAILED, UNREACHABLE, NOT_RUN):
        # Said once: a host that could not be reached, or whose one task failed before any concern, gives every concern
        # the same message.
        said: dict[str, list[str]] = {}
        for concern, entry in entries.items():
            if entry["status"] == status and entry.get("message"):
                said.setdefault(str(entry["message"]), []).append(concern)
        host["message"] = "; ".join(f"{', '.join(names)}: {message}" for message, names in said.items())
    if status == UNREACHABLE:
        # Not reached, or reached and refused the credentials: different people fix those.
        host["unreachable_reason"] = "auth_failed" if AUTH_REFUSED.search(host.get("message") or "") else "no_connection"
    return host


# The version of the report's layout; docs/schemas/compliance-report-<version>.schema.json describes it.
REPORT_SCHEMA_VERSION = 1


@functools.lru_cache(maxsize=1)
def collection_version() -> str | None:
    """This collection's version: from MANIFEST.json where it is installed, from galaxy.yml in a checkout."""
    manifest = COLLECTION / "MANIFEST.json"
    if manifest.is_file():
        return str(json.loads(manifest.read_text(encoding="utf-8"))["collection_info"]["version"])
    galaxy = COLLECTION / "galaxy.yml"
    if galaxy.is_file():
        version = (yaml.safe_load(galaxy.read_text(encoding="utf-8")) or {}).get("version")
        return str(version) if version is not None else None
    return None


def run_metadata(run: t.Mapping[str, t.Any] | None, concerns: t.Sequence[str], chosen: t.Collection[str]) -> dict[str, t.Any]:
    """What a report reader needs to know about the run: when (UTC), in check mode or not, which playbook, which
    versions, which hosts and tags it was limited to, which concerns it checked and which not, and an id of its own."""
    given = dict(run or {})
    return {
        "id": uuid.uuid4().hex,
        "generated": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "check_mode": bool(given.get("check_mode")),
        "playbook": given.get("playbook"),
        "collection_version": collection_version(),
        "ansible_core": given.get("ansible_core"),
        "limit": given.get("limit") or None,
        "tags": list(given.get("tags") or []),
        "skip_tags": list(given.get("skip_tags") or []),
        "concerns": {"selected": [name for name in concerns if name in chosen], "not_selected": [name for name in concerns if name not in chosen]},
    }


def compliance_report(hostvars: t.Mapping[str, t.Any], hosts: t.Sequence[str], concerns: t.Sequence[str] = CONCERNS + OFFICE_CONCERNS,
                      selected: t.Sequence[str] | None = None, run: t.Mapping[str, t.Any] | None = None) -> dict[str, t.Any]:
    """Per host and concern statuses of ``hosts`` (the hosts the play targeted), and totals per status; ``run`` is what
    the playbook knows of its run (check mode, playbook, ansible-core version, limit, tags), kept under ``run``."""
    chosen = set(concerns if selected is None else selected)
    unknown = sorted(chosen - set(concerns))
    if unknown:
        raise ValueError(f"compliance_report: unknown concern(s) {', '.join(unknown)}; known: {', '.join(concerns)}")
    report_hosts = {host: host_entry(hostvars.get(host) or {}, concerns, chosen) for host in hosts}
    return {"schema_version": REPORT_SCHEMA_VERSION, "run": run_metadata(run, concerns, chosen), "hosts": report_hosts,
            **summary(report_hosts), "concerns": [concern for concern in concerns if concern in chosen], "status_order": list(STATUS_ORDER),
            "headline_order": list(HEADLINE_ORDER)}


def summary(hosts: t.Mapping[str, t.Mapping[str, t.Any]]) -> dict[str, t.Any]:
    """What a report says of all its hosts: totals per status, verdict and headline, and the fleet's causes."""
    totals = {status: 0 for status in STATUS_ORDER}
    activation = {verdict: 0 for verdict in VERDICTS}
    headlines = {status: 0 for status in HEADLINE_ORDER}
    for entry in hosts.values():
        totals[entry["status"]] += 1
        activation[entry["activation"]["verdict"]] += 1
        headlines[entry["headline"]] += 1
    return {"totals": totals, "activation": activation, "headlines": headlines, "causes": fleet_causes(hosts), "cause_hosts": cause_hosts(hosts)}


# The headlines of hosts that need nothing: everything else is a host a next step (a remediation, a person) is for.
SETTLED = (NOT_SELECTED, NOTHING_TO_RESTORE, COMPLIANT, REMEDIATED)


def report_stats(report: t.Mapping[str, t.Any]) -> dict[str, t.Any]:
    """What a compliance report says of the fleet, small enough for job artifacts (set_stats): the run, the counts per
    status, activation verdict and headline, the causes with how many hosts share each (no host lists), and the
    hosts that are not settled (every headline but compliant, remediated, not selected, nothing to restore), by name."""
    hosts = report.get("hosts") or {}
    run = report.get("run") or {}
    counted = summary(hosts)
    return {
        "m365ops_summary": {
            "title": report.get("title"), "run_id": run.get("id"), "generated": run.get("generated"), "check_mode": run.get("check_mode"),
            "hosts": len(hosts), "totals": counted["totals"], "activation": counted["activation"], "headlines": counted["headlines"],
            "causes": [{"id": cause["id"], "severity": cause["severity"], "summary": cause["summary"], "hosts": cause["count"]}
                       for cause in counted["causes"]],
            "cause_hosts": counted["cause_hosts"],
        },
        "m365ops_unsettled_hosts": sorted(name for name, entry in hosts.items() if entry["headline"] not in SETTLED),
    }


SEVERITY_RANK = {HIGH: 0, MEDIUM: 1}


def fleet_causes(hosts: t.Mapping[str, t.Mapping[str, t.Any]]) -> list[dict[str, t.Any]]:
    """The causes of the fleet, each with the hosts that share it: hosts whose finding has the same id and the same
    evidence (the same proxy, the same intercepting CA, the same policy, the same unreachable endpoint) are one cause,
    so a reader sees "12 hosts cannot activate: a proxy this host is set to use does not answer (old-proxy:3128)" before
    any host list. Most severe first, then the most hosts."""
    groups: dict[tuple[str, str], dict[str, t.Any]] = {}
    for name in sorted(hosts):
        for cause in (hosts[name].get("activation") or {}).get("causes") or []:
            key = (str(cause["id"]), json.dumps(cause.get("evidence"), sort_keys=True, default=str))
            group = groups.get(key)
            if group is None:
                group = groups[key] = {field: cause.get(field) for field in ("id", "severity", "summary", "fix", "evidence")}
                group["hosts"] = []
            if not group["hosts"] or group["hosts"][-1] != name:
                group["hosts"].append(name)
    ordered = sorted(groups.values(), key=lambda group: (SEVERITY_RANK.get(group["severity"], 2), -len(group["hosts"]), group["id"]))
    return [{**group, "count": len(group["hosts"])} for group in ordered]


def cause_hosts(hosts: t.Mapping[str, t.Mapping[str, t.Any]]) -> dict[str, int]:
    """How many hosts have each cause, whatever its evidence (the chart by cause)."""
    counts: dict[str, int] = {}
    for entry in hosts.values():
        for cause_id in sorted({str(cause["id"]) for cause in (entry.get("activation") or {}).get("causes") or []}):
            counts[cause_id] = counts.get(cause_id, 0) + 1
    return dict(sorted(counts.items(), key=lambda item: (-item[1], item[0])))


def _evidence_words(evidence: t.Any) -> str:
    """Evidence in a few words: strings as they are, mappings as their values."""
    items = evidence if isinstance(evidence, list) else [evidence]
    words = []
    for item in items:
        if isinstance(item, t.Mapping):
            words.append(" ".join(str(value) for value in item.values() if value not in (None, "", [], {})))
        elif item not in (None, ""):
            words.append(str(item))
    return "; ".join(words)


def cause_lines(causes: t.Sequence[t.Mapping[str, t.Any]], limit: int = 10) -> list[str]:
    """The fleet's causes, shared evidence first, as the console says them before the hosts."""
    lines = []
    for group in causes[:limit]:
        count = group["count"]
        what = "cannot activate" if group["severity"] == HIGH else "at risk"
        evidence = _evidence_words(group.get("evidence"))
        line = f"{count} host{'s' if count != 1 else ''} {what}: {group['id']}, {group['summary']}" + (f" ({evidence})" if evidence else "")
        lines.append(_cut(line, 2 * ITEM_LIMIT))
    if len(causes) > limit:
        lines.append(f"... and {len(causes) - limit} more causes (in the report file)")
    return lines


def since_lines(report: t.Mapping[str, t.Any]) -> list[str]:
    """What changed since the previous report, in one line, or nothing when the run was not given one."""
    since = report.get("since_previous")
    if not isinstance(since, t.Mapping):
        return []
    parts = []
    for key, label in (("new_failures", "new failures"), ("worse", "worse"), ("fixed", "fixed"), ("better", "better"),
                       ("not_rechecked", "not checked for activation again"), ("new_hosts", "new hosts"),
                       ("gone", "gone"), ("not_in_this_run", "not in this run")):
        names = since.get(key) or []
        if names:
            parts.append(f"{len(names)} {label} ({', '.join(names[:5])}{', ...' if len(names) > 5 else ''})")
    previous = since.get("previous_run") or {}
    return [f"since the previous report ({previous.get('generated') or 'undated'}, run {previous.get('id') or 'unknown'}): "
            + ("; ".join(parts) or "no host changed")]


# A report line is for scanning: each item is cut to this length and a line to LINE_LIMIT; the file has them whole.
ITEM_LIMIT = 100
LINE_LIMIT = 500


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[:limit - 1].rstrip() + "…"


def _details(concern: str, detail: t.Mapping[str, t.Any]) -> list[str]:
    """Everything a concern says: its message or changes, blockers, drift, warnings (a report line says less, _merged)."""
    return [f"{concern}{' ' + label if label else ''}: {text}" for label, text in _said(detail, short=False)]


def _merged(concerns: t.Mapping[str, t.Mapping[str, t.Any]]) -> list[str]:
    """The short details of every concern of a host, a text several concerns give said once, naming them all."""
    said: dict[tuple[str, str], list[str]] = {}
    for concern, detail in concerns.items():
        for label, text in _said(detail, short=True):
            said.setdefault((label, text), []).append(concern)
    return [f"{', '.join(names)}{' ' + label if label else ''}: {text}" for (label, text), names in said.items()]


def _said(detail: t.Mapping[str, t.Any], short: bool) -> list[tuple[str, str]]:
    """(label, text) of what one concern says: message or changes (no label), then blocked, drift, warning."""
    def items(entries: t.Sequence[str]) -> list[str]:
        if not short or not entries:
            return [str(entry) for entry in entries]
        more = f" (+{len(entries) - 1} more)" if len(entries) > 1 else ""
        return [_cut(str(entries[0]), ITEM_LIMIT) + more]
    said = []
    if detail.get("message"):
        said.append(("", _cut(str(detail["message"]), ITEM_LIMIT) if short else str(detail["message"])))
    elif detail.get("changes"):
        said.append(("", "; ".join(items(detail["changes"]))))
    for label, key in (("blocked", "blockers"), ("drift", "drift"), ("warning", "warnings")):
        said.extend((label, text) for text in items(detail.get(key, [])))
    return said


def restore_word(result: t.Mapping[str, t.Any], status: str) -> str:
    """What a restore did on a host, in one word a person scanning the output needs: RESTORED, CONFLICT, NOTHING TO
    RESTORE (no record of the host), NOTHING LEFT TO RESTORE (the host already holds what the records say), or the
    status when it failed or could not run."""
    conflicts = [item for item in ((result.get("restore") or {}).get("conflicts") or []) if not item.get("restored")]
    if status not in (REMEDIATED, COMPLIANT, DRIFT, NOTHING_TO_RESTORE):
        return status.upper()
    if conflicts:
        return "CONFLICT"
    return {REMEDIATED: "RESTORED", DRIFT: "WOULD RESTORE", COMPLIANT: "NOTHING LEFT TO RESTORE"}.get(status, "NOTHING TO RESTORE")


def restore_report(hostvars: t.Mapping[str, t.Any], hosts: t.Sequence[str], run: t.Mapping[str, t.Any] | None = None,
                   selected: t.Sequence[str] | None = None) -> dict[str, t.Any]:
    """Per host what restore.yml did (its word, status, what went back, the conflicts left, the records used), and
    totals per word: the report restore.yml writes, as audit and remediate write theirs; ``run`` and ``selected`` (the
    concerns restored) give it the same run metadata as theirs."""
    entries = {}
    for host in hosts:
        result = (hostvars.get(host) or {}).get("restore_result")
        if not isinstance(result, t.Mapping) or result.get("skipped"):
            entries[host] = {"result": "NOT RUN", "status": NOT_RUN, "message": "no restore result for this host (skipped or not reached)"}
            continue
        detail = concern_entry(result)
        facts = result.get("restore") if isinstance(result.get("restore"), t.Mapping) else {}
        entries[host] = {"result": restore_word(result, detail["status"]), "status": detail["status"], "restored": detail["changes"],
                         "conflicts": list(facts.get("conflicts") or []), "documents": list(facts.get("documents") or []),
                         "reboot_required": detail["reboot_required"], "warnings": detail["warnings"],
                         **({"message": detail["message"]} if detail.get("message") else {})}
    totals: dict[str, int] = {}
    for entry in entries.values():
        totals[entry["result"]] = totals.get(entry["result"], 0) + 1
    concerns = CONCERNS + OFFICE_CONCERNS
    return {"title": "restore", "run": run_metadata(run, concerns, set(concerns if selected is None else selected)), "hosts": entries, "totals": totals}


def restart_words(reboot_required: bool, owed: t.Sequence[str], check_mode: bool) -> str:
    """A restart in words that mean one thing: owed (a change made, by this run or an earlier one, waits for it), or, in
    check mode, would be needed (a change this run only planned would wait for it)."""
    if owed:
        return f" [restart owed for changes by {', '.join(owed)}]"
    if reboot_required:
        return " [restart would be needed]" if check_mode else " [restart owed]"
    return ""


def concern_lines(result: t.Mapping[str, t.Any] | None, concern: str) -> list[str]:
    """What one concern task did or would do on one host, for a role's closing message (restore says it in its own words,
    ``restore_word``)."""
    if isinstance(result, t.Mapping) and isinstance(result.get("concerns"), t.Mapping):
        # A role's win_activation result: this concern's entry of it.
        result = result["concerns"].get(concern)
    if not isinstance(result, t.Mapping):
        return [f"{concern}: no result"]
    detail = concern_entry(result)
    head = f"{concern}: {restore_word(result, detail['status']) if concern == 'restore' else detail['status'].upper()}"
    head += restart_words(detail["reboot_required"], detail["reboot_owed_by"], bool(result.get("check_mode")))
    return [head, *_details(concern, detail)]


def report_select(report: t.Mapping[str, t.Any], expression: str | None) -> dict[str, t.Any]:
    """The report with only the hosts for which the JMESPath ``expression`` (``m365ops_report_select``) is true, evaluated
    on each host's entry with its ``name`` added (for example ``headline == 'cannot_activate'``, or
    ``activation.causes[?severity=='high']``); the totals stay those of every host, and ``selection`` says what was kept.
    No expression (null or empty) keeps every host."""
    if not expression:
        return dict(report)
    try:
        # Imported here, not with this file: the first filter of the collection a worker process uses loads every filter
        # file, and jmespath alone would add about 18 ms to each host's task on the controller.
        import jmespath
    except ImportError as error:  # requirements.txt names it
        raise AnsibleFilterError("m365ops_report_select needs the Python package jmespath on the controller (pip install jmespath)") from error
    try:
        compiled = jmespath.compile(str(expression))
    except jmespath.exceptions.JMESPathError as error:
        raise AnsibleFilterError(f"m365ops_report_select: {expression!r} is not a JMESPath expression ({error})") from error
    hosts = report.get("hosts") or {}
    try:
        kept = {name: entry for name, entry in hosts.items() if compiled.search({**entry, "name": name}) not in (None, False, [], {}, "")}
    except jmespath.exceptions.JMESPathError as error:
        raise AnsibleFilterError(f"m365ops_report_select: {expression!r} cannot be evaluated on a host's entry ({error})") from error
    return {**report, "hosts": kept, "selection": {"expression": str(expression), "hosts_kept": len(kept), "hosts_total": len(hosts)}}


def activation_words(activation: t.Mapping[str, t.Any]) -> str:
    """The activation verdict of a host in a few words: the causes by id, and what was and was not checked."""
    verdict = activation.get("verdict", NOT_CHECKED)
    if verdict == NOT_CHECKED:
        return "activation not checked"
    checked = activation.get("checked") or {}
    read = len(checked.get("concerns") or [])
    probed = ("endpoints" if checked.get("endpoint_follow_ups") else "endpoints in one pass") if checked.get("endpoints") else "endpoints not probed"
    scope = f"checked {read} of {read + len(checked.get('not_checked') or [])} concerns, {probed}"
    causes = ", ".join(cause["id"] for cause in activation.get("causes") or [])
    return f"activation: {verdict.replace('_', ' ').upper()} ({causes + '; ' if causes else ''}{scope})"


def drift_words(entry: t.Mapping[str, t.Any]) -> str:
    """Which drift of a drifting host a remediation would change and which it leaves in place on purpose, or nothing."""
    if entry["status"] != DRIFT:
        return ""
    left = entry.get("drift_left_in_place") or []
    changing = [name for name, detail in entry["concerns"].items() if detail.get("status") == DRIFT and name not in left]
    parts = ([f"{'would change' if entry.get('check_mode') else 'not changed'}: {', '.join(changing)}"] if changing else []) + (
        [f"left in place: {', '.join(left)}"] if left else [])
    return "; ".join(parts)


def report_lines(report: t.Mapping[str, t.Any]) -> list[str]:
    """One short line per host (the verdict and findings first, then each concern's first item, cut; the report file
    has everything), then the totals."""
    lines = cause_lines(report.get("causes") or []) + since_lines(report)
    for host, entry in sorted(report["hosts"].items()):
        details = _merged(entry["concerns"])
        lacks = (entry.get("prerequisites") or {}).get("lacks")
        if lacks:
            # Said once: the same blocker stands under every concern of a host the agent cannot run on.
            details = [f"lacks, in order: {'; '.join(lacks)}"]
        record = entry.get("findings")
        if record:
            details.insert(0, f"findings fixed: {', '.join(record['fixed']) or 'none'}; left: {', '.join(record['left']) or 'none'}")
        reboot = restart_words(entry["reboot_required"], entry.get("reboot_owed_by") or [], bool(entry.get("check_mode")))
        if entry.get("verified") is not None:
            # Verified means nothing is left: never said of a host that is blocked, drifts on purpose or cannot activate.
            if not entry["verified"]:
                reboot += " [NOT verified: something is left to change]"
            elif entry.get("headline", entry["status"]) in (COMPLIANT, REMEDIATED):
                reboot += " [verified]"
        activation = entry.get("activation") or {"verdict": NOT_CHECKED}
        details.insert(1 if lacks else 0, activation_words(activation))
        head = entry.get("headline", entry["status"])
        drift = drift_words(entry)
        if head != entry["status"]:
            word = f"{head.replace('_', ' ').upper()} (settings {entry['status'].upper()}{', ' + drift if drift else ''})"
        else:
            word = head.replace("_", " ").upper() + (f" ({drift})" if drift else "")
        line = f"{host} ({entry['os'] or 'unknown OS'}): {word}{reboot} - {' | '.join(details)}"
        lines.append(_cut(line, LINE_LIMIT - 40) + " (the rest in the report file)" if len(line) > LINE_LIMIT else line)
    lines.append("totals: " + (", ".join(f"{status}={count}" for status, count in report["totals"].items() if count) or "no hosts"))
    verdicts = report.get("activation") or {}
    if any(count for verdict, count in verdicts.items() if verdict != NOT_CHECKED):
        lines[-1] += " | activation: " + ", ".join(f"{verdict}={count}" for verdict, count in verdicts.items() if count)
    return lines


def concern_module(concern: str) -> str:
    """The module a concern runs (``tls12`` -> ``m365ops.activation.win_tls12``)."""
    if concern not in CONCERNS + OFFICE_CONCERNS:
        raise ValueError(f"concern_module: unknown concern '{concern}'; known: {', '.join(CONCERNS + OFFICE_CONCERNS)}")
    # Every concern's module is named after it.
    return f"m365ops.activation.win_{concern}"


def activation_lines(result: t.Mapping[str, t.Any] | None) -> list[str]:
    """What win_activation did or would do on one host, concern by concern."""
    if not isinstance(result, t.Mapping):
        return ["win_activation: no result"]
    concerns = result.get("concerns")
    if not isinstance(concerns, t.Mapping) or not concerns:
        return [f"win_activation: {str(result.get('msg') or result_status(result)).strip()}"]
    lines = [line for name, concern_result in concerns.items() for line in concern_lines(concern_result, name)]
    if result.get("verified") is not None:
        lines.append("verified: nothing is left to change" if result["verified"] else "NOT verified: something is left to change")
    return lines


def first_failed_concern(result: t.Mapping[str, t.Any] | None, selected: t.Sequence[str]) -> str:
    """The first concern of a win_activation result that failed (or the first selected one when none says so)."""
    concerns = (result or {}).get("concerns") if isinstance(result, t.Mapping) else None
    if isinstance(concerns, t.Mapping):
        for name, concern_result in concerns.items():
            if isinstance(concern_result, t.Mapping) and concern_result.get("failed"):
                return str(name)
    return str(selected[0]) if selected else "win_activation"


@functools.lru_cache(maxsize=1)
def collection_variables() -> frozenset[str]:
    """The m365ops_ variables the collection's playbooks and roles read (their argument specs document them)."""
    files = [*COLLECTION.glob("playbooks/*.yml"), *COLLECTION.glob("roles/*/*/*.yml")]
    return frozenset(name for path in files for name in re.findall(r"\bm365ops_[a-z0-9_]+\b", path.read_text(encoding="utf-8")))


def unknown_variables(names: t.Iterable[str], known: t.Collection[str] | None = None) -> list[str]:
    """A message per variable in ``names`` that is not in ``known`` (by default, the m365ops_ variables the collection's
    playbooks and roles read), with the nearest known name."""
    known = collection_variables() if known is None else known
    messages = []
    for name in sorted(set(names) - set(known)):
        near = difflib.get_close_matches(name, sorted(known), n=1, cutoff=0.75)
        hint = f"; did you mean {near[0]}?" if near else ""
        messages.append(f"{name} is not a variable of m365ops.activation{hint} (it would be ignored, so nothing it says would happen)")
    return messages


def activation_findings(facts: t.Mapping[str, t.Any] | None) -> list[dict[str, t.Any]]:
    """The findings of one host, from its ``ansible_facts.m365ops_activation`` (``plugin_utils/findings.py``)."""
    return findings(facts or {})


def findings_concerns(found: t.Sequence[t.Mapping[str, t.Any]] | None) -> list[str]:
    """The concerns whose change fixes one of a host's findings, in the order they run (remediation in findings mode)."""
    return concerns_named(found or [])


def not_diagnosed_reason(variables: t.Mapping[str, t.Any]) -> str:
    """Why a host has no findings: auth_failed (it answered and refused the credentials), unreachable, failed or not_run."""
    result = variables.get("fleet_diagnosis")
    if not isinstance(result, t.Mapping):
        return "not_run"
    if result.get("unreachable"):
        return "auth_failed" if AUTH_REFUSED.search(str(result.get("msg") or "")) else "unreachable"
    return "failed" if result.get("failed") else "not_run"


def findings_summary(hostvars: t.Mapping[str, t.Any], hosts: t.Sequence[str]) -> dict[str, t.Any]:
    """Per finding id, the hosts it applies to; the hosts that have none; and the hosts that could not be diagnosed, with
    the reason apart (unreachable, auth_failed, failed, not_run): a host that was not diagnosed is not compliant."""
    by_id: dict[str, list[str]] = {}
    clean, missing = [], []
    why: dict[str, list[str]] = {}
    for host in hosts:
        variables = hostvars.get(host) or {}
        found = variables.get("fleet_findings")
        if not isinstance(found, list):
            missing.append(host)
            why.setdefault(not_diagnosed_reason(variables), []).append(host)
            continue
        for item in found:
            by_id.setdefault(str(item.get("id")), []).append(host)
        if not found:
            clean.append(host)
    return {"findings": {key: sorted(value) for key, value in sorted(by_id.items())}, "hosts_without_findings": sorted(clean),
            "hosts_not_diagnosed": sorted(missing), "not_diagnosed": {reason: sorted(value) for reason, value in sorted(why.items())}}


class FilterModule:
    def filters(self) -> dict[str, t.Callable[..., t.Any]]:
        return {"compliance_report": compliance_report, "report_lines": report_lines, "concern_lines": concern_lines,
                "restore_report": restore_report,
                "selected_concerns": selected_concerns, "concern_module": concern_module,
                "unknown_variables": unknown_variables, "activation_lines": activation_lines,
                "first_failed_concern": first_failed_concern, "report_select": report_select, "activation_findings": activation_findings,
                "findings_summary": findings_summary, "findings_concerns": findings_concerns, "report_stats": report_stats}
