"""Restore decisions: which value wins across runs, when a created key goes, and bad records."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from ansible.errors import AnsibleActionFail

from ansible_collections.m365ops.activation.plugins.plugin_utils.concerns.restore import (
    RESTORE_MODULE, RestoreTargets, backup_paths, load_documents, plan_restore, plan_service_restore, restore_targets, unwind,
)
from ansible_collections.m365ops.activation.plugins.plugin_utils.engine.agent import OpResult
from ansible_collections.m365ops.activation.plugins.plugin_utils.engine.backup import backup_document, write_backup
from ansible_collections.m365ops.activation.plugins.plugin_utils.engine.concern import HostState, Plan
from ansible_collections.m365ops.activation.plugins.plugin_utils.engine.integrity import BackupKey
from ansible_collections.m365ops.activation.plugins.plugin_utils.registry import KeyRemoval, RegistryKey, RegistryRef, RegistrySnapshot
from hoststate import changes_of, dword, make_state

TLS = r"HKLM\SYSTEM\CurrentControlSet\Control\SecurityProviders\SCHANNEL\Protocols\TLS 1.2"
KEY = BackupKey(b"k" * 32, "a test key")
CLIENT = TLS + r"\Client"


def record(name: str, before, after, created_key=None, key: str = CLIENT, reboot: bool = True) -> dict:
    return {"kind": "registry", "key": key, "view": "64", "name": name, "before": before, "after": after,
            "created_key": created_key, "reboot_required": reboot}


def document(created: str, records: list, module: str = "m365ops.activation.win_tls12") -> tuple[str, dict]:
    return f"{created}.json", {"format": 1, "host": "pc", "module": module, "created": created, "records": records}


def state_with(targets, values: dict, trees: dict) -> HostState:
    base = make_state("win10", list(targets.values), values)
    probed = {ref: base.registry.get(ref) for ref in targets.values}
    existing = {RegistryKey(path, "64") for path, tree in trees.items() if tree["exists"]}
    return HostState(base.windows, RegistrySnapshot(probed, existing, {RegistryKey(path, "64"): tree for path, tree in trees.items()}))


def test_a_values_changes_are_chained_newest_first_and_restore_records_are_not_changes() -> None:
    docs = [
        document("2026-11-02T00:00:00Z", [record("Enabled", {"type": "dword", "value": 1}, {"type": "dword", "value": 5})]),
        document("2026-11-01T00:00:00Z", [record("Enabled", {"type": "dword", "value": 0}, {"type": "dword", "value": 1})]),
        document("2026-11-03T00:00:00Z", [record("Enabled", {"type": "dword", "value": 5}, {"type": "dword", "value": 0})],
                 module=RESTORE_MODULE),
    ]
    targets = restore_targets(sorted(docs, key=lambda item: item[1]["created"]), None)
    assert targets.values == {RegistryRef(RegistryKey(CLIENT), "Enabled"): [
        ("2026-11-02T00:00:00Z", dword(1), dword(5)), ("2026-11-01T00:00:00Z", dword(0), dword(1))]}
    assert targets.documents == ["2026-11-01T00:00:00Z.json", "2026-11-02T00:00:00Z.json"]


def test_module_filter() -> None:
    docs = [document("a", [record("Enabled", None, {"type": "dword", "value": 1})]),
            document("b", [record("NoActiveProbe", {"type": "dword", "value": 1}, {"type": "dword", "value": 0}, key=r"HKLM\P")],
                     module="m365ops.activation.win_ncsi")]
    targets = restore_targets(docs, ["m365ops.activation.win_ncsi"])
    assert list(targets.values) == [RegistryRef(RegistryKey(r"HKLM\P"), "NoActiveProbe")]


def test_the_module_filter_picks_one_concern_out_of_a_win_activation_document() -> None:
    combined = [{**record("Enabled", None, {"type": "dword", "value": 1}), "module": "m365ops.activation.win_tls12"},
                {**record("NoActiveProbe", {"type": "dword", "value": 1}, {"type": "dword", "value": 0}, key=r"HKLM\P"),
                 "module": "m365ops.activation.win_ncsi"}]
    docs = [document("a", combined, module="m365ops.activation.win_activation")]
    assert list(restore_targets(docs, ["m365ops.activation.win_ncsi"]).values) == [RegistryRef(RegistryKey(r"HKLM\P"), "NoActiveProbe")]
    assert len(restore_targets(docs, None).values) == 2
    assert restore_targets(docs, ["m365ops.activation.win_ipv6"]).documents == []


def test_created_values_go_and_the_created_key_goes_when_it_empties() -> None:
    docs = [document("a", [record("Enabled", None, {"type": "dword", "value": 1}, created_key=TLS),
                           record("DisabledByDefault", None, {"type": "dword", "value": 0}, created_key=TLS)])]
    targets = restore_targets(docs, None)
    values = {(CLIENT, "64", "Enabled"): dword(1), (CLIENT, "64", "DisabledByDefault"): dword(0)}
    plan = plan_restore(targets, state_with(targets, values, {TLS: {"exists": True, "values": 2, "subkeys": 1}}))
    assert changes_of(plan) == {(CLIENT, "64", "Enabled"): None, (CLIENT, "64", "DisabledByDefault"): None}
    assert [change.key.path for change in plan.changes if isinstance(change, KeyRemoval)] == [TLS]
    assert all(change.reboot_required for change in plan.changes if not isinstance(change, KeyRemoval))


def test_a_created_key_that_holds_other_values_stays() -> None:
    docs = [document("a", [record("Enabled", None, {"type": "dword", "value": 1}, created_key=TLS)])]
    targets = restore_targets(docs, None)
    plan = plan_restore(targets, state_with(targets, {(CLIENT, "64", "Enabled"): dword(1)},
                                            {TLS: {"exists": True, "values": 2, "subkeys": 1}}))
    assert not any(isinstance(change, KeyRemoval) for change in plan.changes)


def test_nothing_to_do_when_the_host_is_already_restored() -> None:
    docs = [document("a", [record("Enabled", {"type": "dword", "value": 0}, {"type": "dword", "value": 1}),
                           record("DisabledByDefault", None, {"type": "dword", "value": 0}, created_key=TLS)])]
    targets = restore_targets(docs, None)
    plan = plan_restore(targets, state_with(targets, {(CLIENT, "64", "Enabled"): dword(0)},
                                            {TLS: {"exists": False, "values": 0, "subkeys": 0}}))
    assert plan.changes == []


def test_records_round_trip_through_write_backup(tmp_path: Path) -> None:
    path = write_backup(str(tmp_path), backup_document("pc", "m365ops.activation.win_tls12", [KEY.sign("pc", record("Enabled", None, None))]))
    assert backup_paths(str(tmp_path), "pc") == [path]
    assert backup_paths(str(tmp_path), "other") == []
    assert [doc["module"] for _path, doc in load_documents([path], "pc", KEY)] == ["m365ops.activation.win_tls12"]


@pytest.mark.parametrize(("content", "needle"), [
    ("not json", "cannot read"),
    (json.dumps({"format": 9, "host": "pc", "records": []}), "not a format 1"),
    (json.dumps({"format": 1, "host": "elsewhere", "records": []}), "records host 'elsewhere'"),
])
def test_bad_records_fail_before_the_host(tmp_path: Path, content: str, needle: str) -> None:
    path = tmp_path / "bad.json"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(AnsibleActionFail, match=needle):
        load_documents([str(path)], "pc")


def test_missing_source_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(AnsibleActionFail, match="neither a backup record file nor a directory"):
        backup_paths(str(tmp_path / "nowhere"), "pc")


def write_document(tmp_path: Path, records: list, key: BackupKey | None = KEY) -> Path:
    """A backup file of host pc, its records signed with ``key`` (the ones that are mappings)."""
    if key is not None:
        records = [key.sign("pc", item) if isinstance(item, dict) else item for item in records]
    path = tmp_path / "pc" / "tampered.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"format": 1, "host": "pc", "module": "m365ops.activation.win_tls12",
                                "created": "2026-11-02T00:00:00Z", "records": records}), encoding="utf-8")
    return path


RUN_KEY = r"HKLM\SOFTWARE\Microsoft\Windows\CurrentVersion\Run"


@pytest.mark.parametrize(("bad", "needle"), [
    ({"kind": "registry", "key": RUN_KEY, "view": "64", "name": "Updater", "before": {"type": "string", "value": "evil.exe"}},
     "is not a value any concern of m365ops.activation manages"),
    ({"kind": "registry", "key": CLIENT, "view": "64", "name": "Enabled", "before": {"type": "dword", "value": -1}},
     "a dword value cannot be -1"),
    ({"kind": "registry", "key": CLIENT, "view": "64", "name": "Enabled", "before": {"type": "link", "value": "x"}},
     "type 'link' is not one the collection writes"),
    ({"kind": "registry", "key": CLIENT, "view": "64", "name": "Enabled", "before": None, "created_key": r"HKLM\SOFTWARE\Other"},
     "does not hold"),
    ({"kind": "registry", "key": CLIENT, "view": "99", "name": "Enabled", "before": None}, "view 64 or 32"),
    ({"kind": "winhttp_proxy", "view": "64", "before": {"access_type": "named", "proxy": "evil\n:8080"}}, "is not a host name label"),
    ({"kind": "winhttp_proxy", "view": "64", "before": {"access_type": "auto"}}, "access_type"),
    ({"kind": "service_status", "service": "WinRM", "before": "paused"}, "before must be one of running, stopped"),
    ({"kind": "service_start_mode", "service": "bad\\name", "before": "auto"}, "is not a service name"),
    ({"kind": "script", "run": "format c:"}, "kind 'script' is not one the collection writes"),
    ({"kind": "registry", "name": "Enabled"}, "needs key, name"),
    ("not a mapping", "a record must be a mapping"),
    ({"kind": "adapter_binding", "adapter": "Ethernet", "component_id": "ms_tcpip6", "before": True, "guid": 5}, "a text guid"),
    # What no forward run could have found or written there.
    ({"kind": "registry", "key": CLIENT, "view": "64", "name": "Enabled", "before": {"type": "string", "value": "x" * 1_000_000}},
     "a string value, where the collection reads and writes dword"),
    ({"kind": "registry", "key": r"HKLM\SYSTEM\CurrentControlSet\Services\NlaSvc\Parameters\Internet", "view": "64",
      "name": "ActiveWebProbeHost", "before": {"type": "string", "value": "probe.example\r\n\x00"}}, "control characters"),
    ({"kind": "service_start_mode", "service": "RpcSs", "before": "disabled", "after": "auto"}, "never stops or disables RpcSs"),
    ({"kind": "service_status", "service": "WinRM", "before": "stopped", "after": "running"}, "never stops or disables WinRM"),
])
def test_tampered_or_malformed_records_are_refused_before_contact(tmp_path: Path, bad, needle: str) -> None:
    """Signed or not, a record the forward rules refuse is refused: the signature proves who wrote it, not that it is sane."""
    good = record("Enabled", {"type": "dword", "value": 0}, {"type": "dword", "value": 1})
    path = write_document(tmp_path, [good, bad])
    with pytest.raises(AnsibleActionFail, match="record #1: .*" + needle.replace("(", r"\(").replace("\\", "\\\\") + ".*nothing was restored"):
        load_documents(backup_paths(str(tmp_path), "pc"), "pc", KEY)
    write_document(tmp_path, [good, bad], key=None)
    with pytest.raises(AnsibleActionFail, match="record #1: .*" + needle.replace("(", r"\(").replace("\\", "\\\\")):
        load_documents(backup_paths(str(tmp_path), "pc"), "pc", None, trust_unsigned=True)
    assert path.exists()


def edited(record_: dict) -> dict:
    return {**record_, "before": {"type": "dword", "value": 0}}


@pytest.mark.parametrize(("records", "key", "needle"), [
    ([record("Enabled", None, None)], KEY, "record #0: it carries no signature"),
    ([edited(KEY.sign("pc", record("Enabled", None, {"type": "dword", "value": 1})))], KEY, "record #0: its signature does not match"),
    ([KEY.sign("other-pc", record("Enabled", None, None))], KEY, "does not match its content: .*or belongs to another host"),
    ([BackupKey(b"x" * 32, "elsewhere").sign("pc", record("Enabled", None, None))], KEY, "signed with another key .*key id"),
    ([KEY.sign("pc", record("Enabled", None, None))], None, "no backup key is available"),
    ([{**record("Enabled", None, None), "mac": "md5:abc"}], KEY, "not a hmac-sha256 signature"),
], ids=["unsigned", "edited", "another-host", "another-key", "no-key", "odd-scheme"])
def test_records_the_key_did_not_sign_for_this_host_are_refused_naming_file_and_record(tmp_path: Path, records, key, needle: str) -> None:
    path = write_document(tmp_path, records, key=None)
    with pytest.raises(AnsibleActionFail, match=needle) as raised:
        load_documents(backup_paths(str(tmp_path), "pc"), "pc", key)
    assert str(path) in str(raised.value) and "nothing was restored" in str(raised.value)


def test_an_interrupted_runs_outcome_note_keeps_its_signature_and_unsigned_records_pass_only_when_trusted(tmp_path: Path) -> None:
    signed = KEY.sign("pc", record("Enabled", None, {"type": "dword", "value": 1}))
    write_document(tmp_path, [{**signed, "outcome": "in_effect"}], key=None)
    assert load_documents(backup_paths(str(tmp_path), "pc"), "pc", KEY)
    write_document(tmp_path, [record("Enabled", None, None)], key=None)
    assert load_documents(backup_paths(str(tmp_path), "pc"), "pc", KEY, trust_unsigned=True)


@pytest.mark.parametrize(("text", "needle"), [
    ("[" * 100000 + "]" * 100000, "cannot read backup record"),
    (json.dumps({"format": 1, "host": "pc", "module": "m", "created": 5, "records": []}), "created or module that is not text"),
], ids=["nested-too-deep", "created-not-text"])
def test_a_backup_file_no_run_wrote_is_refused_naming_it(tmp_path: Path, text: str, needle: str) -> None:
    path = tmp_path / "pc" / "odd.json"
    path.parent.mkdir(parents=True)
    path.write_text(text, encoding="utf-8")
    with pytest.raises(AnsibleActionFail, match=needle) as raised:
        load_documents(backup_paths(str(tmp_path), "pc"), "pc", KEY)
    assert str(path) in str(raised.value)


def test_the_records_the_collection_writes_are_accepted(tmp_path: Path) -> None:
    records = [
        record("Enabled", None, {"type": "dword", "value": 1}, created_key=TLS),
        {"kind": "registry", "key": r"HKLM\SOFTWARE\Microsoft\Windows\CurrentVersion\Internet Settings\WinHttp", "view": "32",
         "name": "DefaultSecureProtocols", "before": None, "after": {"type": "dword", "value": 0x880}, "created_key": None},
        {"kind": "winhttp_proxy", "view": "32", "before": {"access_type": "named", "proxy": "old-proxy:3128", "bypass": "<local>"}},
        {"kind": "winhttp_proxy", "before": {"access_type": "direct", "proxy": None, "bypass": None}},
        {"kind": "service_start_mode", "service": "NlaSvc", "before": "disabled", "after": "auto"},
        {"kind": "service_status", "service": "NlaSvc", "before": "stopped", "after": "running"},
        {"kind": "adapter_binding", "adapter": "Ethernet", "component_id": "ms_tcpip6", "before": True, "after": False},
        {"kind": "action", "run": "netsh.exe winsock reset", "exit_code": 0},
    ]
    write_document(tmp_path, records)
    targets = restore_targets(load_documents(backup_paths(str(tmp_path), "pc"), "pc", KEY), None)
    assert set(targets.winhttp) == {"32", "64"} and [step[1:] for step in targets.statuses["NlaSvc"]] == [("stopped", "running")]


def service_restore_plan(statuses: dict, answers: dict):
    plan = Plan()
    steps = {name: [("run", before, "running" if before == "stopped" else "stopped")] for name, before in statuses.items()}
    plan_service_restore(plan, RestoreTargets(statuses=steps), OpResult("service_query", True, {"services": answers}))
    return plan


def running(*dependents: str, depends_on: tuple = ()) -> dict:
    return {"exists": True, "start_mode": "auto", "status": "running", "dependencies": list(depends_on), "dependents_running": list(dependents)}


def test_restore_never_stops_a_service_whose_running_dependents_would_go_down_with_it() -> None:
    lone = service_restore_plan({"EventLog": "stopped"}, {"EventLog": running("NlaSvc")})
    assert lone.changes == [] and "running services depend on it (NlaSvc)" in lone.warnings[0]
    both = service_restore_plan({"EventLog": "stopped", "NlaSvc": "stopped"},
                                {"EventLog": running("NlaSvc"), "NlaSvc": running(depends_on=("EventLog",))})
    assert [change.service.name for change in both.changes] == ["NlaSvc", "EventLog"] and both.warnings == []
    winrm = service_restore_plan({"WinRM": "stopped"}, {"WinRM": running()})
    assert winrm.changes == [] and "management connection" in winrm.warnings[0]


@pytest.mark.parametrize(("current", "steps", "target", "conflict"), [
    # The host holds what the newest run wrote: undone, and so is the run before it.
    (1, [("r2", 0, 1)], 0, False),
    (5, [("r2", 1, 5), ("r1", 0, 1)], 0, False),
    # Someone changed it since the newest run: a conflict, the value stays.
    (7, [("r2", 1, 5), ("r1", 0, 1)], 7, True),
    # remediate (0→1), restore, a person sets 2, remediate (2→1): restore brings back 2, not 0.
    (1, [("r2", 2, 1), ("r1", 0, 1)], 2, False),
    # Already restored (the host holds what the newest run found): a second restore changes nothing.
    (2, [("r2", 2, 1), ("r1", 0, 1)], 2, False),
    (0, [("r1", 0, 1)], 0, False),
])
def test_restore_walks_a_values_changes_back_three_way(current, steps, target, conflict: bool) -> None:
    unwound = unwind(current, steps)
    assert unwound.target == target and (unwound.conflict is not None) == conflict


def test_a_conflict_is_named_and_kept_unless_restore_is_asked_for() -> None:
    ref = RegistryRef(RegistryKey(CLIENT), "Enabled")
    targets = RestoreTargets(values={ref: [("run-1", dword(0), dword(1))]}, documents=["a.json"])
    state = state_with(targets, {(CLIENT, "64", "Enabled"): dword(7)}, {})
    kept = plan_restore(targets, state)
    assert kept.changes == [] and "neither what run run-1 wrote (dword:00000001) nor what it found (dword:00000000)" in kept.drift[0]
    assert kept.facts["conflicts"] == [{"target": str(ref), "run": "run-1", "current": "dword:00000007", "written": "dword:00000001",
                                        "found": "dword:00000000", "restored": False}]
    forced = plan_restore(targets, state, force=True)
    assert [(change.before, change.after) for change in forced.changes] == [(dword(7), dword(0))] and forced.drift == []


def test_restore_never_unbinds_ipv6_on_the_management_adapter() -> None:
    targets = RestoreTargets(bindings={"Ethernet": [("run", False, True)], "Wi-Fi": [("run", False, True)]}, documents=["a.json"])
    adapters = [{"name": "Ethernet", "addresses": ["10.0.0.5"], "ipv6_bound": True}, {"name": "Wi-Fi", "addresses": ["10.1.0.5"], "ipv6_bound": True}]
    probes = {"adapters": OpResult("adapter_list", True, {"adapters": adapters}),
              "management": OpResult("management_addresses", True, {"supported": True, "addresses": ["10.0.0.5"]})}
    base = state_with(targets, {}, {})
    plan = plan_restore(targets, HostState(base.windows, base.registry, probes))
    assert [change.adapter.name for change in plan.changes] == ["Wi-Fi"]
    assert "carries the management connection" in plan.drift[0] and "'Ethernet'" in plan.drift[0]
