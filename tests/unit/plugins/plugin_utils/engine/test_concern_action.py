"""The base action's run(): probe, decide, apply, result, driven against the agent's recorded semantics.

The host side is the simulator's implementation of the agent protocol, called in-process in
place of ``_execute_module``; each test asserts on what the task returns and on the host state.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from ansible.errors import AnsibleActionFail

from ansible_collections.m365ops.activation.plugins.plugin_utils.engine.agent import OpResult
from ansible_collections.m365ops.activation.plugins.plugin_utils.engine.concern import reboots_owed
from recorded_host import RecordedHost, make_action

CLIENT = r"HKLM\SYSTEM\CurrentControlSet\Control\SecurityProviders\SCHANNEL\Protocols\TLS 1.2\Client"
REBOOT_KEY = r"HKLM\SOFTWARE\m365ops\activation\RebootRequired"
JOURNAL_KEY = r"HKLM\SOFTWARE\m365ops\activation\Journal"
HISTORY_KEY = r"HKLM\SOFTWARE\m365ops\activation\History"


def test_compliant_host_is_probed_once_and_not_written(tmp_path: Path) -> None:
    recorded = RecordedHost(tmp_path, "win11")
    result = make_action(recorded).run(task_vars={"inventory_hostname": "host"})
    assert result["changed"] is False and result["agent_executions"] == 1
    assert [op["op"] for op in recorded.batches[0]][0] == "system_info"
    assert all(op["op"] in ("system_info", "registry_read", "registry_read_subkeys", "registry_enum", "file_stat", "user_sessions", "registry_read_user_hives")
               for op in recorded.batches[0])


def test_check_mode_reports_changes_without_an_apply_batch(tmp_path: Path) -> None:
    recorded = RecordedHost(tmp_path, "win10-tls-hardened")
    before = json.dumps(recorded.host.state, sort_keys=True)
    result = make_action(recorded, check_mode=True, diff=True).run(task_vars={})
    assert result["changed"] is True and result["check_mode"] is True
    assert len(recorded.batches) == 1
    assert json.dumps(recorded.host.state, sort_keys=True) == before
    assert '"Enabled"=dword:00000000' in result["diff"]["before"]
    assert '"Enabled"=dword:00000001' in result["diff"]["after"]


def test_apply_sends_exactly_the_planned_writes(tmp_path: Path) -> None:
    recorded = RecordedHost(tmp_path, "win10-tls-hardened")
    result = make_action(recorded).run(task_vars={})
    assert result["changed"] is True and result["reboot_required"] is True and result["status"] == "remediated"
    apply_batch = recorded.batches[1]
    # The journal entry first, every planned write with one bookkeeping write right after the first change that needs a
    # restart, and the entry moved to the history last (run after a failed write too).
    # Sent on the condition that the host is as the probe read it, claiming the host's generation for this run.
    expect, claim = apply_batch.pop(0), apply_batch.pop(0)
    assert (expect["op"], expect["name"], expect["value"], expect["boot_time"]) == ("expect", "Generation", None, "2026-11-20T07:55:00Z")
    assert (claim["op"], claim["name"]) == ("registry_write", "Generation")
    begin, history, close = apply_batch.pop(0), apply_batch.pop(-2), apply_batch.pop(-1)
    assert begin["key"].startswith(JOURNAL_KEY + "\\") and begin["type"] == "multi_string" and "always" not in begin
    assert history["key"] == begin["key"].replace(JOURNAL_KEY, HISTORY_KEY) and history["always"] is True
    assert (close["op"], close["key"], close["always"]) == ("registry_delete_key", begin["key"], True)
    assert len(begin["value"]) == 1 + len(result["changes"])
    marker = apply_batch.pop(1)
    assert (marker["key"], marker["name"], marker["value"]) == (REBOOT_KEY, "tls12", "2026-11-20T07:55:00Z")
    assert {(op["key"], op["view"], op["name"], op["value"]) for op in apply_batch} == {
        (change["key"], change["view"], change["name"], change["after"]["value"]) for change in result["changes"]}
    assert recorded.host.registry.read(CLIENT, "64", ["Enabled"])["values"]["Enabled"]["value"] == 1
    assert {record["name"]: record["before"] for record in result["backup"]}["Enabled"] == {"type": "dword", "value": 0}


def test_backup_dir_file_matches_the_backup_result(tmp_path: Path) -> None:
    recorded = RecordedHost(tmp_path, "win7sp1")
    result = make_action(recorded, {"backup_dir": str(tmp_path / "b")}).run(task_vars={"inventory_hostname": "pc/01"})
    document = json.loads(Path(result["backup_file"]).read_text(encoding="utf-8"))
    # The host's directory: every character outside [A-Za-z0-9._-] as %XX of its UTF-8, so no name reaches outside.
    assert Path(result["backup_file"]).parent == tmp_path / "b" / "pc%2F01"
    # The file's records are the result's, each signed (integrity.py) with the controller's key for this host.
    assert [{name: value for name, value in record.items() if name != "mac"} for record in document["records"]] == result["backup"]
    assert all(record["mac"].startswith("hmac-sha256:") for record in document["records"])
    assert document["state"] == "applied" and document["run_id"]
    assert all(record["before"] is None for record in document["records"])
    assert any(record["created_key"] for record in document["records"])


def test_unknown_option_fails_before_the_host_is_contacted(tmp_path: Path) -> None:
    recorded = RecordedHost(tmp_path, "win11")
    with pytest.raises(AnsibleActionFail, match="sever"):
        make_action(recorded, {"sever": True}).run(task_vars={})
    assert recorded.batches == []


def test_wrong_option_type_names_the_option(tmp_path: Path) -> None:
    recorded = RecordedHost(tmp_path, "win11")
    with pytest.raises(AnsibleActionFail, match="require_kb3140245"):
        make_action(recorded, {"require_kb3140245": "perhaps"}).run(task_vars={})
    assert recorded.batches == []


@pytest.mark.parametrize(("answer", "needle"), [
    ({"failed": True, "msg": "Unsupported parameters for (win_agent) module: ops2"}, "agent failed on the host: Unsupported"),
    ({"protocol": 2, "results": []}, "speaks protocol 2"),
    ({"protocol": 1, "results": [{"ok": True}]}, "returned 1 results for"),
])
def test_untrustworthy_agent_answers_fail_the_task(tmp_path: Path, answer: dict[str, Any], needle: str) -> None:
    recorded = RecordedHost(tmp_path, "win11")
    recorded.answer_override = answer
    result = make_action(recorded).run(task_vars={})
    assert result["failed"] is True and needle in result["msg"]


def test_failed_write_reports_what_was_made(tmp_path: Path) -> None:
    recorded = RecordedHost(tmp_path, "win10-tls-hardened")
    winhttp = recorded.host.state["registry"]["HKLM"]["keys"]["SOFTWARE"]["keys"]["Microsoft"]["keys"]["Windows"]["keys"][
        "CurrentVersion"]["keys"]["Internet Settings"]["keys"]["WinHttp"]
    winhttp["deny"] = ["write"]
    result = make_action(recorded).run(task_vars={})
    assert result["failed"] is True
    assert "access_denied" in result["msg"] and "2 of 5 changes were made" in result["msg"]
    assert [record["name"] for record in result["backup"]] == ["Enabled", "DisabledByDefault"]


def test_a_batch_that_fails_at_its_first_write_reports_no_change(tmp_path: Path) -> None:
    recorded = RecordedHost(tmp_path, "win10-tls-hardened")
    schannel = recorded.host.state["registry"]["HKLM"]["keys"]["SYSTEM"]["keys"]["CurrentControlSet"]["keys"]["Control"]["keys"][
        "SecurityProviders"]["keys"]["SCHANNEL"]
    schannel["deny"] = ["write"]
    result = make_action(recorded).run(task_vars={})
    assert result["failed"] is True and "0 of 5 changes were made" in result["msg"]
    assert result["changed"] is False and result["status"] == "failed" and result["backup"] == []
    assert result["reboot_required"] is False


def test_no_change_is_made_when_its_journal_entry_cannot_be_written(tmp_path: Path) -> None:
    recorded = RecordedHost(tmp_path, "win10-tls-hardened")
    software = recorded.host.state["registry"]["HKLM"]["keys"]["SOFTWARE"]["keys"]
    software["m365ops"] = {"keys": {}, "values": {}, "deny": ["write"]}
    before = json.dumps(recorded.host.state["registry"]["HKLM"]["keys"]["SYSTEM"], sort_keys=True)
    result = make_action(recorded, {"backup_dir": str(tmp_path / "b")}).run(task_vars={"inventory_hostname": "pc"})
    assert result["failed"] is True and "writing the journal entry" in result["msg"] and "nothing was changed" in result["msg"]
    assert result["changed"] is False and result["status"] == "failed"
    assert json.dumps(recorded.host.state["registry"]["HKLM"]["keys"]["SYSTEM"], sort_keys=True) == before
    # The answer says nothing was made: the controller's planned document goes again.
    assert list((tmp_path / "b" / "pc").iterdir()) == []


def test_the_next_run_settles_a_planned_document_whose_changes_never_reached_the_host(tmp_path: Path) -> None:
    recorded = RecordedHost(tmp_path, "win10-tls-hardened")
    backups = tmp_path / "b"

    def lost(module_name: str, module_args: dict[str, Any], task_vars: dict[str, Any]) -> dict[str, Any]:
        raise ConnectionError("the connection dropped before the batch was sent")

    action = make_action(recorded, {"backup_dir": str(backups)})
    answers = iter([recorded.execute_module, lost])

    def probe_then_lose(**kwargs: Any) -> dict[str, Any]:
        return next(answers)(**kwargs)

    action._execute_module = probe_then_lose  # pylint: disable=protected-access
    first = action.run(task_vars={"inventory_hostname": "pc"})
    assert first["status"] == "unknown" and first["changed"] is True and first["failed"] is True
    assert first["journal"]["planned_changes"] == 5 and first["journal"]["planned_file"]

    again = make_action(recorded, {"backup_dir": str(backups)}).run(task_vars={"inventory_hostname": "pc"})
    interrupted, = again["interrupted"]
    assert (interrupted["not_made"], interrupted["in_effect"], interrupted["found_on"]) == (5, 0, "controller")
    assert again["status"] == "remediated" and again["agent_executions"] == 3
    documents = {json.loads(path.read_text(encoding="utf-8"))["state"]: json.loads(path.read_text(encoding="utf-8"))
                 for path in (backups / "pc").iterdir()}
    # Nothing of the lost batch took effect: its document keeps no record; the second run's holds the originals.
    assert documents["interrupted"]["records"] == [] and len(documents["applied"]["records"]) == 5


def test_a_full_disk_before_the_apply_sends_nothing_and_after_it_names_the_hosts_journal(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """ENOSPC while the planned records are written: the batch is never sent. ENOSPC when the answer's backup is written:
    the error says where the previous values still are (the result and the host's journal)."""
    import errno
    from ansible_collections.m365ops.activation.plugins.plugin_utils.engine import journal as engine

    def full(path: str, document: dict[str, Any]) -> str:
        raise OSError(errno.ENOSPC, "No space left on device")

    recorded = RecordedHost(tmp_path, "win10-tls-hardened")
    before = json.dumps(recorded.host.state["registry"], sort_keys=True)
    monkeypatch.setattr(engine, "write_document", full)
    refused = make_action(recorded, {"backup_dir": str(tmp_path / "b")}).run(task_vars={"inventory_hostname": "pc"})
    assert refused["failed"] is True and "No space left" in refused["msg"] and "nothing was sent to the host" in refused["msg"]
    assert len(recorded.batches) == 1 and json.dumps(recorded.host.state["registry"], sort_keys=True) == before

    monkeypatch.undo()
    real = engine.write_document
    calls: list[str] = []

    def planned_then_full(path: str, document: dict[str, Any]) -> str:
        calls.append(document["state"])
        if document["state"] == "applied":
            raise OSError(errno.ENOSPC, "No space left on device")
        return real(path, document)

    monkeypatch.setattr(engine, "write_document", planned_then_full)
    made = make_action(recorded, {"backup_dir": str(tmp_path / "b")}).run(task_vars={"inventory_hostname": "pc"})
    assert calls == ["planned", "applied"] and made["failed"] is True, made
    assert "host's journal entry" in made["msg"] and len(made["backup"]) == 5
    # The planned document stayed: the next run settles it from what the host holds.
    planned, = (tmp_path / "b" / "pc").iterdir()
    assert json.loads(planned.read_text(encoding="utf-8"))["state"] == "planned"


@pytest.mark.parametrize("between", ["restart", "another run"])
def test_nothing_is_applied_to_a_host_that_changed_after_it_was_read(tmp_path: Path, between: str) -> None:
    """A restart between the probe and the apply (the owed restart would be remembered with a boot time already passed),
    or another run's apply in between (its changes would be made twice): the batch is refused on the host, whole."""
    recorded = RecordedHost(tmp_path, "win10-tls-hardened")
    calls = []

    def then_change(module_name: str, module_args: dict[str, Any], task_vars: dict[str, Any]) -> dict[str, Any]:
        if calls:
            if between == "restart":
                recorded.host.reboot()
            else:
                recorded.host.registry.write(r"HKLM\SOFTWARE\m365ops\activation", "64", "Generation", "string", "other-run", True)
        calls.append(module_name)
        return recorded.execute_module(module_name, module_args, task_vars)

    before = json.dumps(recorded.host.state["registry"]["HKLM"]["keys"]["SYSTEM"], sort_keys=True)
    action = make_action(recorded, {"backup_dir": str(tmp_path / "b")})
    action._execute_module = then_change  # pylint: disable=protected-access
    result = action.run(task_vars={"inventory_hostname": "pc"})
    assert result["status"] == "busy" and result["changed"] is False and "precondition_failed" in result["msg"]
    assert json.dumps(recorded.host.state["registry"]["HKLM"]["keys"]["SYSTEM"], sort_keys=True) == before
    assert recorded.host.registry.read(REBOOT_KEY, "64", None)["values"] == {}
    assert list((tmp_path / "b" / "pc").iterdir()) == []
    again = make_action(recorded).run(task_vars={"inventory_hostname": "pc"})
    assert again["status"] == "remediated" and again["reboot_owed_by"] == [] and again["reboot_required"] is True


def test_a_reboot_owed_stays_reported_until_the_host_restarts(tmp_path: Path) -> None:
    recorded = RecordedHost(tmp_path, "win10-tls-hardened")
    assert make_action(recorded).run(task_vars={})["reboot_required"] is True
    again = make_action(recorded).run(task_vars={})
    assert again["changed"] is False and again["status"] == "compliant"
    assert again["reboot_required"] is True and again["reboot_owed_by"] == ["tls12"]
    audit = make_action(recorded, check_mode=True).run(task_vars={})
    assert audit["reboot_required"] is True
    recorded.host.reboot()
    after = make_action(recorded).run(task_vars={})
    assert after["reboot_required"] is False and after["reboot_owed_by"] == []


def test_restore_never_removes_the_reboot_marker(tmp_path: Path) -> None:
    recorded = RecordedHost(tmp_path, "win10-tls-hardened")
    result = make_action(recorded, {"backup_dir": str(tmp_path / "b")}).run(task_vars={"inventory_hostname": "h"})
    assert all(record.get("key") != REBOOT_KEY for record in result["backup"])
    assert recorded.host.registry.read(REBOOT_KEY, "64", ["tls12"])["values"]["tls12"]["value"] == "2026-11-20T07:55:00Z"


def test_missing_kb3140245_is_blocked_also_on_the_run_that_writes(tmp_path: Path) -> None:
    recorded = RecordedHost(tmp_path, "win7sp1-nokb")
    first = make_action(recorded).run(task_vars={})
    assert first["changed"] is True and first["status"] == "blocked"
    second = make_action(recorded).run(task_vars={})
    assert second["changed"] is False and second["status"] == "blocked"


def test_module_failure_keeps_what_ansible_reported(tmp_path: Path) -> None:
    recorded = RecordedHost(tmp_path, "win11")
    recorded.answer_override = {"failed": True, "msg": "MODULE FAILURE\nSee stdout/stderr for the exact error",
                                "module_stdout": "", "module_stderr": "Add-Type : Cannot add type. Compilation errors",
                                "exception": "System.Management.Automation.RuntimeException", "rc": 1}
    result = make_action(recorded).run(task_vars={})
    assert result["failed"] is True and result["status"] == "failed"
    assert result["module_stderr"].startswith("Add-Type") and result["rc"] == 1 and "exception" in result
    assert recorded.batches[0][0]["op"] == "system_info"


def test_agent_is_asked_not_to_fail_on_a_failed_op(tmp_path: Path) -> None:
    recorded = RecordedHost(tmp_path, "win11")
    seen: list[dict[str, Any]] = []
    action = make_action(recorded)
    original = action._execute_module  # pylint: disable=protected-access

    def spy(module_name: str, module_args: dict[str, Any], task_vars: dict[str, Any]) -> dict[str, Any]:
        seen.append(module_args)
        return original(module_name=module_name, module_args=module_args, task_vars=task_vars)

    action._execute_module = spy  # pylint: disable=protected-access
    action.run(task_vars={})
    assert seen and all(args["strict"] is False for args in seen)


def test_unwritable_backup_dir_fails_before_the_host_is_contacted(tmp_path: Path) -> None:
    recorded = RecordedHost(tmp_path, "win10-tls-hardened")
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory", encoding="utf-8")
    with pytest.raises(AnsibleActionFail, match="backup_dir: .*nothing was changed"):
        make_action(recorded, {"backup_dir": str(blocker / "backups")}).run(task_vars={"inventory_hostname": "h"})
    assert recorded.batches == []


@pytest.mark.parametrize(("stored", "boot_time", "owed"), [
    ("2026-11-20T07:55:00Z", "2026-11-20T07:55:00Z", True),
    ("2026-11-20T07:55:00Z", "2026-11-21T08:00:00Z", False),
    ("unknown", "2026-11-21T08:00:00Z", True),
    ("2026-11-20T07:55:00Z", None, True),
])
def test_which_reboot_markers_are_still_owed(stored: str, boot_time: str | None, owed: bool) -> None:
    markers = OpResult("registry_read", True, {"exists": True, "values": {"tls12": {"type": "string", "value": stored}}})
    assert ("tls12" in reboots_owed(markers, boot_time)) is owed


def test_a_host_below_powershell_51_is_blocked_with_what_to_install(tmp_path: Path) -> None:
    recorded = RecordedHost(tmp_path, "win81")
    recorded.answer_override = {"failed": True, "msg": "Ansible requires PowerShell v5.1"}
    result = make_action(recorded).run(task_vars={})
    assert result.get("failed") is None and result["status"] == "blocked" and result["changed"] is False
    assert "Windows Management Framework 5.1" in result["blockers"][0] and ".NET Framework 4.5.2" in result["blockers"][0]
