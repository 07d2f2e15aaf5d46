"""The write-ahead journal's pieces: entries on the host, what a planned change left there, and host directories."""
from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from ansible_collections.m365ops.activation.plugins.plugin_utils.engine.agent import OpResult
from ansible_collections.m365ops.activation.plugins.plugin_utils.engine.backup import backup_document, host_directory, write_backup
from ansible_collections.m365ops.activation.plugins.plugin_utils.engine.changes import planned_record
from ansible_collections.m365ops.activation.plugins.plugin_utils.engine.journal import (
    CHANGED_SINCE, HISTORY_KEEP, IN_EFFECT, NOT_MADE, UNKNOWN, Interrupted, JournalError, RunRecords, begin_op, end_ops, history_names, open_entries,
    prune_ops, verdict_ops, verdicts,
)
from ansible_collections.m365ops.activation.plugins.plugin_utils.registry import (
    RegistryKey, RegistryRef, RegistryValue, ValueChange, read_ops, snapshot,
)

KEY = r"HKLM\SYSTEM\CurrentControlSet\Control\SecurityProviders\SCHANNEL\Protocols\TLS 1.2\Client"


def dword(value: int) -> dict:
    return {"type": "dword", "value": value}


def run(*records: dict) -> RunRecords:
    return RunRecords("20261204T070000Z-0000abcd", "m365ops.activation.win_activation", "2026-12-04T07:00:00Z", tuple(records))


def registry(name: str, before: dict | None, after: dict | None) -> dict:
    return {"kind": "registry", "key": KEY, "view": "64", "name": name, "before": before, "after": after, "concern": "tls12"}


def test_an_entry_round_trips_through_the_host_and_its_ops_frame_the_batch() -> None:
    planned = run(registry("Enabled", dword(0), dword(1)))
    begin = begin_op(planned)
    history, close = end_ops(planned)
    assert begin["value"][0].startswith("{") and "always" not in begin
    assert history["always"] is True and close == {"op": "registry_delete_key", "key": begin["key"], "view": "64", "always": True}
    answer = OpResult("registry_read_subkeys", True, {"exists": True, "subkeys": {planned.run_id: {"values": {
        "Records": {"type": "multi_string", "value": begin["value"]}}}}})
    assert open_entries(answer) == [planned]


@pytest.mark.parametrize("values, problem", [
    ({}, "no Records value"),
    ({"Records": {"type": "string", "value": "x"}}, "no Records value"),
    ({"Records": {"type": "multi_string", "value": ["not json"]}}, "not JSON"),
    ({"Records": {"type": "multi_string", "value": ['{"format": 9, "run_id": "x"}']}}, "no format 1 header"),
    ({"Records": {"type": "multi_string", "value": ['{"format": 1, "run_id": "other"}']}}, "names run other"),
    ({"Records": {"type": "multi_string", "value": ['{"format": 1, "run_id": "r"}', "[1]"]}}, "not a mapping"),
], ids=["missing", "wrong-type", "not-json", "header", "renamed", "record"])
def test_an_entry_the_collection_did_not_write_is_refused_naming_it(values: dict, problem: str) -> None:
    answer = OpResult("registry_read_subkeys", True, {"exists": True, "subkeys": {"r": {"values": values}}})
    with pytest.raises(JournalError, match=problem) as raised:
        open_entries(answer)
    assert r"Journal\r" in str(raised.value)


def test_each_planned_change_is_told_from_what_the_host_holds_now() -> None:
    planned = run(
        registry("Enabled", dword(0), dword(1)),            # made
        registry("DisabledByDefault", dword(1), dword(0)),  # never made
        registry("Other", None, dword(1)),                  # made, then someone changed it
        registry("Gone", dword(5), None),                   # a removal that was made
        {"kind": "service_start_mode", "service": "BITS", "before": "disabled", "after": "manual", "concern": "required_services"},
        {"kind": "service_status", "service": "BITS", "before": "stopped", "after": "running", "concern": "required_services"},
        {"kind": "winhttp_proxy", "view": "64", "before": {"access_type": "direct", "proxy": None, "bypass": None},
         "after": {"access_type": "named", "proxy": "proxy.corp.example:8080", "bypass": None}, "concern": "winhttp_proxy"},
        {"kind": "adapter_binding", "adapter": "Ethernet", "guid": "{ABC}", "component_id": "ms_tcpip6", "before": True, "after": False},
        {"kind": "action", "run": "netsh winsock reset", "concern": "winsock_reset"},
    )
    ops = verdict_ops([planned])
    assert [op["op"] for op in ops] == ["registry_read", "service_query", "winhttp_proxy_read", "adapter_list"]
    answers = [
        OpResult("registry_read", True, {"exists": True, "values": {"Enabled": dword(1), "DisabledByDefault": dword(1), "Other": dword(7)}}),
        OpResult("service_query", True, {"services": {"BITS": {"exists": True, "start_mode": "manual", "status": "stopped"}}}),
        OpResult("winhttp_proxy_read", True, {"access_type": "named", "proxy": "PROXY.corp.example:8080", "bypass": None}),
        OpResult("adapter_list", True, {"adapters": [{"name": "Renamed", "guid": "{abc}", "ipv6_bound": False}]}),
    ]
    assert verdicts([planned], ops, answers) == [(IN_EFFECT, NOT_MADE, CHANGED_SINCE, IN_EFFECT, IN_EFFECT, NOT_MADE, IN_EFFECT,
                                                  IN_EFFECT, UNKNOWN)]


def test_a_read_that_failed_is_unknown_never_not_made() -> None:
    planned = run(registry("Enabled", dword(0), dword(1)))
    ops = verdict_ops([planned])
    assert verdicts([planned], ops, [OpResult("registry_read", False, error="access_denied")]) == [(UNKNOWN,)]


def test_the_backup_of_an_interrupted_batch_keeps_every_change_that_may_have_been_made() -> None:
    planned = run(registry("A", dword(0), dword(1)), registry("B", dword(0), dword(1)), registry("C", dword(0), dword(1)),
                  registry("D", dword(0), dword(1)))
    found = Interrupted(planned, True, None, (IN_EFFECT, NOT_MADE, CHANGED_SINCE, UNKNOWN))
    assert [(record["name"], record["outcome"]) for record in found.kept()] == [("A", IN_EFFECT), ("C", CHANGED_SINCE), ("D", UNKNOWN)]
    summary = found.summary("tls12")
    assert (summary["planned"], summary["in_effect"], summary["not_made"], summary["found_on"]) == (4, 1, 1, "host")
    assert "1 in effect, 1 changed since, 1 unknown, 1 not made" in found.message()


@pytest.mark.parametrize("host, directory", [
    ("pc01", "pc01"), ("PC01", "PC01"), ("..", "%2E."), (".hidden", "%2Ehidden"), ("a/b", "a%2Fb"), ("a\\b", "a%5Cb"),
    ("東京-pc", "%E6%9D%B1%E4%BA%AC-pc"), ("50%", "50%25"), ("", "%00"),
])
def test_one_function_names_a_host_directory_inside_backup_dir(tmp_path: Path, host: str, directory: str) -> None:
    assert host_directory(str(tmp_path), host) == os.path.join(str(tmp_path), directory)
    written = Path(write_backup(str(tmp_path), backup_document(host, "m365ops.activation.win_tls12", [])))
    # Written where the reader looks, never above or beside backup_dir.
    assert written.parent == Path(host_directory(str(tmp_path), host)) and written.parent.parent == tmp_path


def test_host_directories_never_collide() -> None:
    hosts = ["a_b", "a b", "a/b", "a%2Fb", "Ab", "ab", "東京", "..", "%2E."]
    assert len({host_directory("/b", host) for host in hosts}) == len(hosts)


def test_settling_never_replaces_a_document_whose_answer_arrived_meanwhile(tmp_path: Path) -> None:
    """A run still going when another read its planned document finishes first: its applied backup stays."""
    from ansible_collections.m365ops.activation.plugins.plugin_utils.engine.backup import write_document
    from ansible_collections.m365ops.activation.plugins.plugin_utils.engine.journal import RunJournal

    planned = run(registry("Enabled", dword(0), dword(1)))
    first = RunJournal("pc", planned.module, str(tmp_path))
    first.run_id = planned.run_id
    first.begin(list(planned.records))
    second = RunJournal("pc", planned.module, str(tmp_path))
    found, = second.unsettled([])
    assert found.found_on == "controller" and found.controller_file == first.planned_file
    applied = first.finish([{**planned.records[0], "before": dword(0)}])
    assert second.settle([Interrupted(found.run, False, found.controller_file, (NOT_MADE,))]) == []
    assert json.loads(Path(applied).read_text(encoding="utf-8"))["state"] == "applied"
    # A document still planned is settled: the records of what may have been made, nothing of what was not.
    write_document(applied, {**json.loads(Path(applied).read_text(encoding="utf-8")), "state": "planned"})
    settled, = second.settle([Interrupted(found.run, False, found.controller_file, (NOT_MADE,))])
    document = json.loads(Path(settled).read_text(encoding="utf-8"))
    assert document["state"] == "interrupted" and document["records"] == [] and document["settled_by"] == second.run_id


def test_the_history_keeps_its_newest_entries_and_prunes_the_oldest_first() -> None:
    names = [f"202611{day:02d}T000000Z-0000abcd" for day in range(1, 31)] + [f"202612{day:02d}T000000Z-0000abcd" for day in range(1, 21)]
    answer = OpResult("registry_read_subkeys", True, {"exists": True, "subkeys": {name: {"values": {}} for name in reversed(names)}})
    assert history_names(answer) == tuple(names) and len(names) == HISTORY_KEEP
    assert [op["key"].rsplit("\\", 1)[1] for op in prune_ops(history_names(answer), 2)] == names[:2]
    assert prune_ops(names[:HISTORY_KEEP - 1]) == []
    assert history_names(OpResult("registry_read_subkeys", False, error="access_denied")) == ()


def test_a_planned_write_names_the_key_it_will_create_before_the_agent_answers() -> None:
    """The write-ahead record of a value below a missing key says which key goes with it, from the probe's read."""
    ref = RegistryRef(RegistryKey(KEY), "Enabled")
    keys, _reads = read_ops([ref])
    top = r"HKLM\SYSTEM\CurrentControlSet\Control\SecurityProviders\SCHANNEL\Protocols\TLS 1.2"
    missing = snapshot([ref], keys, [OpResult("registry_read", True, {"exists": False, "values": {}, "first_missing": top})])
    present = snapshot([ref], keys, [OpResult("registry_read", True, {"exists": True, "values": {}})])
    assert missing.creates(ref.key) == top and present.creates(ref.key) is None
    change = ValueChange(ref, None, RegistryValue.dword(1), "TLS 1.2", creates=missing.creates(ref.key))
    assert planned_record(change)["created_key"] == top
    assert planned_record(ValueChange(ref, None, RegistryValue.dword(1), "TLS 1.2"))["created_key"] is None
