# -*- coding: utf-8 -*-
# Copyright: m365ops.activation contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The write-ahead journal: every apply batch is recorded before it runs, on the controller and on the host.

A database writes its log before its pages; an apply batch here does the same. Before the batch is sent, the
records of every planned change (the value before, as the probe read it, and the value to write) are written and
fsynced under ``backup_dir`` as a backup document in state ``planned``. The batch's first op writes the same
records on the host, as one ``REG_MULTI_SZ`` under ``HKLM\\SOFTWARE\\m365ops\\activation\\Journal\\<run id>`` (a
key under ``HKLM\\SOFTWARE``: Administrators and SYSTEM write there, users only read); since the agent skips every
write after a failed one, no change is made unless that write landed. The batch's last ops, which run even after a
failed write, move the entry to ``...\\History\\<run id>``: the batch ended on the host. When the answer arrives
the controller's document becomes the backup of what the agent reports it changed.

So a run that finds an entry still under ``Journal``, or a controller document still ``planned``, knows that a batch
went out and its answer never came back (the connection dropped, the power went, the controller was stopped). It
reads what each planned change left on the host (:func:`verdict_ops`, :func:`verdicts`), keeps the records of those
that are in effect (or cannot be told) as the backup of that run, and reports the run as interrupted. Nothing the
interrupted run changed is left without its record, and no report calls it unchanged.
"""

from __future__ import annotations

import json
import os
import secrets
import typing as t
from dataclasses import dataclass, replace
from datetime import datetime, timezone

from ansible_collections.m365ops.activation.plugins.plugin_utils.engine.agent import AgentClient, AgentError, AgentOpError, OpResult
from ansible_collections.m365ops.activation.plugins.plugin_utils.engine.backup import (
    APPLIED, INTERRUPTED, PLANNED, backup_document, document_path, host_documents, write_document,
)
from ansible_collections.m365ops.activation.plugins.plugin_utils.engine.integrity import BackupKey, sign_all
from ansible_collections.m365ops.activation.plugins.plugin_utils.registry import RegistryKey
from ansible_collections.m365ops.activation.plugins.plugin_utils.winhttp import (
    CONNECTIONS as WINHTTP_CONNECTIONS, ProxySetting, SETTINGS_VALUE as WINHTTP_SETTINGS, decode_winhttp_settings,
)

JOURNAL = RegistryKey(r"HKLM\SOFTWARE\m365ops\activation\Journal")
HISTORY = RegistryKey(r"HKLM\SOFTWARE\m365ops\activation\History")
RECORDS = "Records"
JOURNAL_FORMAT = 1
# What became of a planned change, read from the host by the run that settles an interrupted one.
IN_EFFECT = "in_effect"
NOT_MADE = "not_made"
CHANGED_SINCE = "changed_since"
UNKNOWN = "unknown"
# The records kept as the backup of an interrupted run: every change that may have been made.
KEPT = (IN_EFFECT, CHANGED_SINCE, UNKNOWN)
# A journal entry's strings are the collection's own JSON; anything larger than this was not written by it.
MAX_ENTRY_STRINGS = 10000


def new_run_id(now: datetime | None = None) -> str:
    """A run's id: its UTC start, to the second, and 32 random bits (two runs in the same second differ)."""
    return f"{(now or datetime.now(timezone.utc)).strftime('%Y%m%dT%H%M%SZ')}-{secrets.token_hex(4)}"


def utc_now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class JournalError(AgentError):
    """A journal entry on the host that the collection did not write as it stands."""


@dataclass(frozen=True)
class RunRecords:
    """One apply batch as the journal keeps it: who planned it, when, and the record of every change it makes."""

    run_id: str
    module: str
    created: str
    records: tuple[dict[str, t.Any], ...]

    def strings(self) -> list[str]:
        header = {"format": JOURNAL_FORMAT, "run_id": self.run_id, "module": self.module, "created": self.created}
        return [json.dumps(header, sort_keys=True), *(json.dumps(record, sort_keys=True) for record in self.records)]

    @classmethod
    def from_strings(cls, strings: t.Any, where: str) -> "RunRecords":
        if not isinstance(strings, list) or not strings or len(strings) > MAX_ENTRY_STRINGS or not all(isinstance(item, str) for item in strings):
            raise JournalError(f"the journal entry {where} is not a list of the collection's records")
        try:
            header, *records = (json.loads(item) for item in strings)
        except ValueError as error:
            raise JournalError(f"the journal entry {where} holds a string that is not JSON: {error}") from error
        if not isinstance(header, dict) or header.get("format") != JOURNAL_FORMAT or not isinstance(header.get("run_id"), str):
            raise JournalError(f"the journal entry {where} has no format {JOURNAL_FORMAT} header")
        if not all(isinstance(record, dict) for record in records):
            raise JournalError(f"the journal entry {where} holds a record that is not a mapping")
        return cls(header["run_id"], str(header.get("module", "")), str(header.get("created", "")), tuple(records))


def entry_key(root: RegistryKey, run_id: str) -> RegistryKey:
    return RegistryKey(f"{root.path}\\{run_id}", root.view)


def _write(key: RegistryKey, strings: list[str], always: bool = False) -> dict[str, t.Any]:
    op = {"op": "registry_write", "key": key.path, "view": key.view, "name": RECORDS, "type": "multi_string", "value": strings}
    return {**op, "always": True} if always else op


def begin_op(run: RunRecords) -> dict[str, t.Any]:
    """The batch's first op: the entry under ``Journal``. Every change after it runs only if it landed."""
    return _write(entry_key(JOURNAL, run.run_id), run.strings())


def end_ops(run: RunRecords) -> list[dict[str, t.Any]]:
    """The batch's last writes, run even after a failed one: the entry moves to ``History``; the batch ended on the host."""
    journal = entry_key(JOURNAL, run.run_id)
    return [_write(entry_key(HISTORY, run.run_id), run.strings(), always=True),
            {"op": "registry_delete_key", "key": journal.path, "view": journal.view, "always": True}]


def settle_ops(run: RunRecords) -> list[dict[str, t.Any]]:
    """What settles an interrupted entry on the host: its kept records under ``History``, the open entry gone."""
    return end_ops(run)


OPEN_ENTRIES_OP = {"op": "registry_read_subkeys", "key": JOURNAL.path, "view": JOURNAL.view, "names": [RECORDS]}
# The records of every batch that ended on the host: what restore reads when the controller has none (source: host).
HISTORY_OP = {"op": "registry_read_subkeys", "key": HISTORY.path, "view": HISTORY.view, "names": [RECORDS]}
# The names alone, read by every probe: the oldest entries beyond HISTORY_KEEP go in the next apply batch.
HISTORY_NAMES_OP = {"op": "registry_read_subkeys", "key": HISTORY.path, "view": HISTORY.view, "names": []}
# How many runs' records the host keeps under History (the controller's backup documents are never pruned). Only runs
# that changed something write an entry, so this is the last HISTORY_KEEP remediations that did, however often audits run.
HISTORY_KEEP = 50


def entries(answer: OpResult, root: RegistryKey = JOURNAL) -> list[RunRecords]:
    """The entries under ``root`` (``JOURNAL``: batches that went out and never ended on the host, or one running now;
    ``HISTORY``: batches that ended there), oldest first."""
    if not answer.ok:
        raise JournalError(f"reading the journal under {root} failed: {answer.message} ({answer.error})")
    found = []
    for name, entry in sorted((answer.data.get("subkeys") or {}).items()):
        value = (entry.get("values") or {}).get(RECORDS) if isinstance(entry, dict) else None
        where = f"{root}\\{name}"
        if not isinstance(value, dict) or value.get("type") != "multi_string":
            raise JournalError(f"the journal entry {where} has no {RECORDS} value; remove the key once you have read it")
        run = RunRecords.from_strings(value.get("value"), where)
        if run.run_id != name:
            raise JournalError(f"the journal entry {where} names run {run.run_id}")
        found.append(run)
    return found


def open_entries(answer: OpResult) -> list[RunRecords]:
    """The entries still under ``Journal``: batches that went out and never ended on the host (or one running now)."""
    return entries(answer, JOURNAL)


def history_names(answer: OpResult) -> tuple[str, ...]:
    """The run ids under ``History``, oldest first (a run id starts with its UTC start); none when it cannot be read."""
    return tuple(sorted(answer.data.get("subkeys") or {})) if answer.ok else ()


def prune_ops(names: t.Sequence[str], adding: int = 1) -> list[dict[str, t.Any]]:
    """The deletes that keep ``HISTORY_KEEP`` entries once ``adding`` more have been written: the oldest go first."""
    excess = len(names) + adding - HISTORY_KEEP
    return [{"op": "registry_delete_key", "key": entry_key(HISTORY, name).path, "view": HISTORY.view}
            for name in sorted(names)[:max(excess, 0)]]


# --- What a planned change left on the host -------------------------------------------------------------------------


def _registry_target(record: t.Mapping[str, t.Any]) -> tuple[str, str] | None:
    key, view = record.get("key"), str(record.get("view", "64"))
    return (key, view) if isinstance(key, str) and view in ("64", "32") else None


def verdict_ops(runs: t.Sequence[RunRecords]) -> list[dict[str, t.Any]]:
    """The reads that tell what every planned change of ``runs`` left on the host; one op per key, service list, API."""
    values: dict[tuple[str, str], list[str]] = {}
    trees: list[tuple[str, str]] = []
    services: list[str] = []
    proxy = adapters = False
    for record in (record for run in runs for record in run.records):
        kind = record.get("kind")
        target = _registry_target(record)
        if kind == "registry" and target and isinstance(record.get("name"), str):
            names = values.setdefault(target, [])
            if record["name"] not in names:
                names.append(record["name"])
        elif kind == "registry_key" and target and target not in trees:
            trees.append(target)
        elif kind in ("service_start_mode", "service_status") and isinstance(record.get("service"), str):
            if record["service"] not in services:
                services.append(record["service"])
        elif kind == "winhttp_proxy":
            proxy = True
            if str(record.get("view", "64")) == "32":
                names = values.setdefault((WINHTTP_CONNECTIONS, "32"), [])
                if WINHTTP_SETTINGS not in names:
                    names.append(WINHTTP_SETTINGS)
        elif kind == "adapter_binding":
            adapters = True
    ops = [{"op": "registry_read", "key": key, "view": view, "names": names} for (key, view), names in values.items()]
    ops += [{"op": "registry_tree_stat", "key": key, "view": view} for key, view in trees]
    if services:
        ops.append({"op": "service_query", "names": services})
    if proxy:
        ops.append({"op": "winhttp_proxy_read"})
    if adapters:
        ops.append({"op": "adapter_list"})
    return ops


@dataclass(frozen=True)
class Interrupted:
    """An earlier batch whose answer never came back, and what each of its planned changes left on the host."""

    run: RunRecords
    # Where it was found: the host's open journal entry, the controller's planned document, or both.
    on_host: bool
    controller_file: str | None
    verdicts: tuple[str, ...] = ()

    @property
    def found_on(self) -> str:
        if self.on_host and self.controller_file:
            return "host and controller"
        return "host" if self.on_host else "controller"

    def kept(self) -> list[dict[str, t.Any]]:
        """The records of the changes that may have been made: the backup of that run."""
        return [{**record, "outcome": verdict} for record, verdict in zip(self.run.records, self.verdicts) if verdict in KEPT]

    def summary(self, concern: str | None = None) -> dict[str, t.Any]:
        pairs = [(record, verdict) for record, verdict in zip(self.run.records, self.verdicts)
                 if concern is None or record.get("concern") == concern]
        counts = {verdict: sum(1 for _record, seen in pairs if seen == verdict) for verdict in (IN_EFFECT, NOT_MADE, CHANGED_SINCE, UNKNOWN)}
        return {"run_id": self.run.run_id, "module": self.run.module, "created": self.run.created,
                "found_on": self.found_on,
                "planned": len(pairs), **counts,
                "in_effect_targets": [describe(record) for record, verdict in pairs if verdict == IN_EFFECT]}

    def message(self, concern: str | None = None) -> str:
        summary = self.summary(concern)
        told = ", ".join(f"{summary[verdict]} {verdict.replace('_', ' ')}" for verdict in (IN_EFFECT, CHANGED_SINCE, UNKNOWN, NOT_MADE)
                         if summary[verdict])
        return (f"run {self.run.run_id} ({self.run.module}, {self.run.created}) was interrupted: its batch went out and its answer "
                f"never came back; of its {summary['planned']} planned change(s) {told or 'none'}; the records of every change "
                "that may have been made are kept as that run's backup")


def describe(record: t.Mapping[str, t.Any]) -> str:
    kind = record.get("kind")
    if kind == "registry":
        return f"{record.get('key')}\\{record.get('name')}" + ("" if str(record.get("view", "64")) == "64" else " (32-bit view)")
    if kind == "registry_key":
        return f"key {record.get('key')}"
    if kind in ("service_start_mode", "service_status"):
        return f"service {record.get('service')} {'start mode' if kind == 'service_start_mode' else 'status'}"
    if kind == "winhttp_proxy":
        return f"the WinHTTP default proxy ({record.get('view', '64')}-bit view)"
    if kind == "adapter_binding":
        return f"the IPv6 binding of adapter '{record.get('adapter')}'"
    removed = record.get("removed_credentials")
    if isinstance(removed, list):
        return "credentials " + ", ".join(str(item.get("target") if isinstance(item, dict) else item) for item in removed)
    return f"action {record.get('run') or record.get('removed_directory') or kind}"


def _three_way(current: t.Any, before: t.Any, after: t.Any, same: t.Callable[[t.Any, t.Any], bool] = lambda one, other: one == other) -> str:
    if same(current, after) and not same(before, after):
        return IN_EFFECT
    if same(current, before):
        return NOT_MADE
    return CHANGED_SINCE


def verdicts(runs: t.Sequence[RunRecords], ops: t.Sequence[dict[str, t.Any]], answers: t.Sequence[OpResult]) -> list[tuple[str, ...]]:
    """Per run, per record: in effect, not made, changed since (the host holds neither value), or unknown (an action,
    or a read that failed)."""
    by_op = {json.dumps(op, sort_keys=True): answer for op, answer in zip(ops, answers)}

    def answer_of(op: dict[str, t.Any]) -> OpResult | None:
        found = by_op.get(json.dumps(op, sort_keys=True))
        return found if found is not None and found.ok else None

    registry_reads = {(op["key"], op["view"]): answer_of(op) for op in ops if op["op"] == "registry_read"}
    trees = {(op["key"], op["view"]): answer_of(op) for op in ops if op["op"] == "registry_tree_stat"}
    service_answer = next((answer_of(op) for op in ops if op["op"] == "service_query"), None)
    proxy_answer = next((answer_of(op) for op in ops if op["op"] == "winhttp_proxy_read"), None)
    adapter_answer = next((answer_of(op) for op in ops if op["op"] == "adapter_list"), None)

    def registry_value(key: str, view: str, name: str) -> tuple[bool, t.Any]:
        read = registry_reads.get((key, view))
        if read is None:
            return False, None
        return True, (read.data.get("values") or {}).get(name)

    def proxy(view: str) -> ProxySetting | None:
        if view == "64":
            return ProxySetting.from_agent(proxy_answer.data) if proxy_answer is not None else None
        known, blob = registry_value(WINHTTP_CONNECTIONS, "32", WINHTTP_SETTINGS)
        if not known:
            return None
        return ProxySetting.from_blob(decode_winhttp_settings(blob["value"]) if isinstance(blob, dict) and blob.get("type") == "binary" else None)

    def one(record: dict[str, t.Any]) -> str:
        kind = record.get("kind")
        target = _registry_target(record)
        if kind == "registry" and target:
            known, current = registry_value(target[0], target[1], str(record.get("name")))
            return _three_way(current, record.get("before"), record.get("after")) if known else UNKNOWN
        if kind == "registry_key" and target:
            tree = trees.get(target)
            return UNKNOWN if tree is None else NOT_MADE if tree.data.get("exists") else IN_EFFECT
        if kind in ("service_start_mode", "service_status") and service_answer is not None:
            service = (service_answer.data.get("services") or {}).get(record.get("service")) or {}
            current = service.get("start_mode" if kind == "service_start_mode" else "status")
            return _three_way(current, record.get("before"), record.get("after")) if service.get("exists") else UNKNOWN
        if kind == "winhttp_proxy" and isinstance(record.get("before"), dict) and isinstance(record.get("after"), dict):
            current = proxy(str(record.get("view", "64")))
            if current is None:
                return UNKNOWN
            return _three_way(current, ProxySetting.from_agent(record["before"]), ProxySetting.from_agent(record["after"]),
                              lambda one, other: one.same_as(other))
        if kind == "adapter_binding" and adapter_answer is not None:
            adapters = adapter_answer.data.get("adapters") or []
            guid = str(record.get("guid") or "").lower()
            adapter = next((item for item in adapters if guid and str(item.get("guid") or "").lower() == guid), None) or next(
                (item for item in adapters if str(item.get("name", "")).lower() == str(record.get("adapter", "")).lower()), None)
            return UNKNOWN if adapter is None else _three_way(adapter.get("ipv6_bound"), record.get("before"), record.get("after"))
        # An action (a reset run, credentials removed, a folder moved) cannot be read back: it may have run.
        return UNKNOWN

    return [tuple(one(record) for record in run.records) for run in runs]


def with_verdicts(found: t.Sequence[Interrupted], verdict_lists: t.Sequence[tuple[str, ...]]) -> list[Interrupted]:
    return [replace(item, verdicts=verdict_list) for item, verdict_list in zip(found, verdict_lists)]


# --- The journal of one task on one host (the controller's side) -----------------------------------------------------


class RunJournal:
    """One task's journal on one host (journal.py): the controller's documents under ``backup_dir`` and the entries on
    the host. It finds earlier batches whose answer never came back, and records each batch of this task before it is
    sent."""

    def __init__(self, host: str, module: str, backup_dir: str | None, key: BackupKey | None = None) -> None:
        self.host = host
        self.module = module
        self.backup_dir = backup_dir
        # Signs every record this task writes, on the controller and on the host (integrity.py).
        self.key = key
        self.run_id = new_run_id()
        self.planned_file: str | None = None

    def controller_planned(self) -> list[tuple[str, dict[str, t.Any]]]:
        """The controller's documents of this host still ``planned``: batches this controller sent and never heard back."""
        if not self.backup_dir:
            return []
        return [(path, document) for path, document in host_documents(self.backup_dir, self.host)
                if document.get("state") == PLANNED and isinstance(document.get("run_id"), str)]

    def unsettled(self, still_open: t.Sequence[RunRecords]) -> list[Interrupted]:
        """Every interrupted batch, once: open on the host, ``planned`` on the controller, or both."""
        found = {run.run_id: Interrupted(run, True, None) for run in still_open}
        for path, document in self.controller_planned():
            run_id = document["run_id"]
            if run_id in found:
                found[run_id] = replace(found[run_id], controller_file=path)
                continue
            records = tuple(record for record in document["records"] if isinstance(record, dict))
            found[run_id] = Interrupted(RunRecords(run_id, str(document.get("module", "")), str(document.get("created", "")), records),
                                        False, path)
        return sorted(found.values(), key=lambda item: item.run.created)

    def settle(self, interrupted: t.Sequence[Interrupted]) -> list[str]:
        """Write the backup of every interrupted batch on the controller (before the host's entry is closed): the records
        of what it may have changed, state ``interrupted``. Returns the files written."""
        if not self.backup_dir:
            return []
        written = []
        for item in interrupted:
            document = {**backup_document(self.host, item.run.module or self.module, item.kept(), run_id=item.run.run_id, state=INTERRUPTED),
                        "created": item.run.created or utc_now(), "settled_by": self.run_id}
            path = item.controller_file or document_path(self.backup_dir, document)
            if item.controller_file and not _still_planned(path):
                # Its own run's answer arrived after all (a run still going when this one read its document): that run's
                # document is the backup, and it is not replaced.
                continue
            written.append(write_document(path, document))
        return written

    def begin(self, records: list[dict[str, t.Any]]) -> RunRecords:
        """This batch's records, signed, durable on the controller before anything is sent (when there is a ``backup_dir``)."""
        records = sign_all(self.key, self.host, records)
        run = RunRecords(self.run_id, self.module, utc_now(), tuple(records))
        if self.backup_dir and records and self.planned_file is None:
            document = backup_document(self.host, self.module, list(records), run_id=self.run_id, state=PLANNED)
            try:
                self.planned_file = write_document(document_path(self.backup_dir, document), document)
            except OSError as error:
                raise AgentError(f"backup_dir: the journal of the planned changes could not be written under {self.backup_dir}: "
                                 f"{error}; nothing was sent to the host") from error
        return run

    def finish(self, records: list[dict[str, t.Any]]) -> str | None:
        """The answer arrived: the planned document becomes the backup of what was changed, or goes when nothing was."""
        if not self.backup_dir:
            return None
        try:
            if not records:
                if self.planned_file is not None and os.path.exists(self.planned_file):
                    os.unlink(self.planned_file)
                return None
            document = backup_document(self.host, self.module, sign_all(self.key, self.host, records), run_id=self.run_id, state=APPLIED)
            return write_document(self.planned_file or document_path(self.backup_dir, document), document)
        except OSError as error:
            raise AgentError(f"backup_dir: the changes were made but their backup record could not be written under "
                             f"{self.backup_dir}: {error}; the 'backup' result and the host's journal entry "
                             f"({self.run_id}) hold the previous values") from error


def _still_planned(path: str) -> bool:
    try:
        with open(path, encoding="utf-8") as stream:
            return json.load(stream).get("state") == PLANNED
    except (OSError, ValueError, AttributeError):
        return False


class JournalRefused(AgentOpError):
    """The batch's journal entry could not be written on the host, so the agent made none of its changes."""


class HostChanged(JournalRefused):
    """The host restarted, or another run changed it, after this run read it: the agent made none of the changes."""


class AnswerLost(AgentError):
    """An apply batch went out and its answer never came back: what it changed is unknown until the next run reads it."""

    def __init__(self, run: RunRecords, planned_file: str | None, cause: BaseException) -> None:
        where = f"the controller's journal {planned_file} and " if planned_file else ""
        super().__init__(f"the apply batch (run {run.run_id}, {len(run.records)} planned change(s)) was sent and its answer never came "
                         f"back ({cause}); the host may have been changed. {where}the host's journal entry hold the records of every "
                         "planned change; the next run of the collection on this host reads what took effect and keeps their backup")
        self.run = run
        self.planned_file = planned_file


def settle_batch(settle: t.Sequence[Interrupted]) -> list[dict[str, t.Any]]:
    """The ops that close the host's open entries of interrupted batches, keeping what they may have changed."""
    return [op for item in settle if item.on_host for op in settle_ops(replace(item.run, records=tuple(item.kept())))]


def close_entries(agent: AgentClient, interrupted: t.Sequence[Interrupted]) -> None:
    """One execution that closes the host's open entries of ``interrupted`` (their backup already kept)."""
    ops = settle_batch(interrupted)
    failed = next((answer for answer in agent.run(ops) if not answer.ok), None)
    if failed is not None:
        raise AgentOpError(failed, "closing the journal entry of an interrupted run")


def report_interrupted(result: dict[str, t.Any], interrupted: t.Sequence[Interrupted], concern: str | None, check_mode: bool,
                       settled_files: t.Sequence[str]) -> None:
    """Tell, in a task's (or a concern's) result, the earlier batches whose answer never came back: what each planned,
    what took effect, and where its backup is now; ``concern`` limits this to that concern's records."""
    mine = [item for item in interrupted if concern is None or any(record.get("concern") == concern for record in item.run.records)]
    if not mine:
        return
    result["interrupted"] = [item.summary(concern) for item in mine]
    if check_mode:
        kept = "; check mode keeps nothing: the next run that is not in check mode settles it"
    elif settled_files:
        kept = f"; its backup is in {', '.join(settled_files)} and in the host's journal"
    else:
        kept = "; its backup is in the host's journal (no backup_dir was given)"
    result["warnings"] = [*result.get("warnings", []), *(item.message(concern) + kept for item in mine)]


def answer_lost_result(result: dict[str, t.Any], error: "AnswerLost") -> None:
    """A concern whose changes went out in a batch whose answer never came back: it may have changed, nothing is known."""
    result.update(failed=True, outcome_unknown=True, changed=True, msg=str(error),
                  journal={"run_id": error.run.run_id, "planned_file": error.planned_file, "planned_changes": len(error.run.records)})
