"""The fault matrix: an apply batch that reached the host and whose answer never came back, over WinRM for real.

Each case injects the fault at its exact moment (winsim's ``answer_lost`` and ``answer_delay_seconds``, docs/winsim.md),
then asserts what the run reported, what the journal holds on the controller and on the host, what the next run
says and keeps, and that restore brings back every value the host had.
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from conftest import ROOT, ansible_env, run_playbook
from test_restore import registry_without_winhttp_counter
from winsim.fleet import Fleet

REMEDIATE = ROOT / "playbooks" / "remediate.yml"
AUDIT = ROOT / "playbooks" / "audit.yml"
RESTORE = ROOT / "playbooks" / "restore.yml"
DIAGNOSE = ROOT / "playbooks" / "diagnose.yml"
ACTIVATION = "m365ops.activation.fleet : Fleet | Activation concerns"
TLS_CHANGES = 5


def collection_key(fleet: Fleet, host: str, name: str) -> dict[str, Any]:
    """The subkeys of HKLM\\SOFTWARE\\m365ops\\activation\\<name> on the simulated host (the journal's entries)."""
    software = fleet.hosts[host].host.state["registry"]["HKLM"]["keys"]["SOFTWARE"]["keys"]
    return software.get("m365ops", {"keys": {}})["keys"].get("activation", {"keys": {}})["keys"].get(name, {"keys": {}})["keys"]


def entry_records(entry: dict[str, Any]) -> list[dict[str, Any]]:
    header, *records = (json.loads(item) for item in entry["values"]["Records"]["value"])
    assert header["format"] == 1
    return records


def documents(backups: Path) -> list[dict[str, Any]]:
    return [json.loads(path.read_text(encoding="utf-8")) for path in sorted(backups.rglob("*.json"))]


def one_host(fleet: Fleet, inventory: Path, fault: dict[str, Any], profile: str = "win10-tls-hardened") -> dict[str, Any]:
    host = fleet.add("pc", profile)
    original = registry_without_winhttp_counter(host.state["registry"])
    host.faults.update(fault)
    host.save()
    fleet.write_inventory(inventory)
    return original


def test_an_answer_lost_after_the_batch_ran_is_unknown_then_settled_and_restored(fleet: Fleet, inventory: Path, tmp_path: Path) -> None:
    original = one_host(fleet, inventory, {"answer_lost": {}})
    backups, report = tmp_path / "backups", tmp_path / "report.json"

    lost = run_playbook(inventory, REMEDIATE, extra_vars={"m365ops_backup_dir": str(backups), "m365ops_report_file": str(report)})
    assert lost.rc != 0 and fleet.hosts["pc"].host.counters["answers_lost"] == 1
    tls12 = lost.result("pc", ACTIVATION)["concerns"]["tls12"]
    # Never "changed: false" nor compliant: the outcome is unknown and said to be.
    assert tls12["status"] == "unknown" and tls12["changed"] is True and "never came back" in tls12["msg"]
    host_report = json.loads(report.read_text(encoding="utf-8"))["hosts"]["pc"]
    assert host_report["status"] == "unknown" and host_report["concerns"]["tls12"]["status"] == "unknown"
    # Written ahead on the controller, and on the host, whose batch ran to its end (the entry moved to the history).
    planned, = documents(backups)
    assert planned["state"] == "planned" and len(planned["records"]) == TLS_CHANGES and planned["run_id"] == tls12["journal"]["run_id"]
    assert collection_key(fleet, "pc", "Journal") == {}
    assert len(entry_records(collection_key(fleet, "pc", "History")[planned["run_id"]])) == TLS_CHANGES

    audit = run_playbook(inventory, AUDIT, extra_vars={"m365ops_backup_dir": str(backups)})
    assert audit.rc == 0
    interrupted, = audit.result("pc", ACTIVATION)["concerns"]["tls12"]["interrupted"]
    assert (interrupted["run_id"], interrupted["in_effect"], interrupted["not_made"]) == (planned["run_id"], TLS_CHANGES, 0)
    assert documents(backups)[0]["state"] == "planned", "check mode keeps nothing"

    settle = run_playbook(inventory, REMEDIATE, extra_vars={"m365ops_backup_dir": str(backups)})
    assert settle.rc == 0
    settled, = documents(backups)
    assert settled["state"] == "interrupted" and settled["run_id"] == planned["run_id"]
    assert [record["outcome"] for record in settled["records"]] == ["in_effect"] * TLS_CHANGES
    assert [record["before"] for record in settled["records"]] == [record["before"] for record in planned["records"]]
    assert any("was interrupted" in warning for warning in settle.result("pc", ACTIVATION)["concerns"]["tls12"]["warnings"])

    quiet = run_playbook(inventory, REMEDIATE, extra_vars={"m365ops_backup_dir": str(backups)})
    assert quiet.rc == 0 and "interrupted" not in quiet.result("pc", ACTIVATION)
    assert quiet.result("pc", ACTIVATION)["agent_executions"] == 1

    restore = run_playbook(inventory, RESTORE, extra_vars={"m365ops_backup_dir": str(backups)})
    assert restore.rc == 0
    assert registry_without_winhttp_counter(fleet.hosts["pc"].host.state["registry"]) == original


def test_power_lost_mid_batch_with_no_controller_journal_is_kept_from_the_host(
        fleet: Fleet, inventory: Path, tmp_path: Path) -> None:
    """The batch's guard, its claim of the host's generation, its journal entry, the first TLS value and the reboot marker
    land (five writes); the power goes; the host boots again. The controller kept no journal (no backup_dir, as in a
    container that is gone): the host's entry is the record."""
    original = one_host(fleet, inventory, {"answer_lost": {"after_writes": 5, "restart": True}})
    boot = fleet.hosts["pc"].host.boot_time()
    lost = run_playbook(inventory, REMEDIATE)
    assert lost.rc != 0 and lost.result("pc", ACTIVATION)["concerns"]["tls12"]["status"] == "unknown"
    assert fleet.hosts["pc"].host.boot_time() != boot
    open_entry, = collection_key(fleet, "pc", "Journal").values()
    assert len(entry_records(open_entry)) == TLS_CHANGES

    # The diagnosis says so too, read-only: the host holds an interrupted run.
    findings_file = tmp_path / "findings.json"
    assert run_playbook(inventory, DIAGNOSE, extra_vars={"m365ops_report_file": str(findings_file)}).rc == 0
    finding = next(item for item in json.loads(findings_file.read_text(encoding="utf-8"))["hosts"]["pc"] if item["id"] == "interrupted-run")
    assert finding["evidence"][0]["in_effect"] == 1 and finding["evidence"][0]["not_made"] == TLS_CHANGES - 1
    assert len(collection_key(fleet, "pc", "Journal")) == 1

    backups = tmp_path / "backups"
    settle = run_playbook(inventory, REMEDIATE, extra_vars={"m365ops_backup_dir": str(backups)})
    assert settle.rc == 0
    result = settle.result("pc", ACTIVATION)
    interrupted, = result["concerns"]["tls12"]["interrupted"]
    assert (interrupted["in_effect"], interrupted["not_made"], interrupted["found_on"]) == (1, TLS_CHANGES - 1, "host")
    # The host's open entry is closed into the history with the one record that took effect.
    assert collection_key(fleet, "pc", "Journal") == {}
    kept = entry_records(collection_key(fleet, "pc", "History")[interrupted["run_id"]])
    assert [record["outcome"] for record in kept] == ["in_effect"]
    by_state = {document["state"]: document for document in documents(backups)}
    assert len(by_state["interrupted"]["records"]) == 1 and len(by_state["applied"]["records"]) == TLS_CHANGES - 1
    assert result["concerns"]["tls12"]["status"] == "remediated"

    restore = run_playbook(inventory, RESTORE, extra_vars={"m365ops_backup_dir": str(backups)})
    assert restore.rc == 0
    assert registry_without_winhttp_counter(fleet.hosts["pc"].host.state["registry"]) == original


def test_power_lost_mid_batch_is_restored_from_the_hosts_journal_alone(fleet: Fleet, inventory: Path) -> None:
    """No controller journal and no run in between (the AWX job's container is gone): restore takes the open entry's
    planned records from the host, three-way: the one change that landed is undone, the four that did not are skipped."""
    original = one_host(fleet, inventory, {"answer_lost": {"after_writes": 5, "restart": True}})
    assert run_playbook(inventory, REMEDIATE).rc != 0
    assert len(collection_key(fleet, "pc", "Journal")) == 1
    restore = run_playbook(inventory, RESTORE)
    assert restore.rc == 0, restore.stdout[-2000:]
    result = restore.result("pc", "Restore | Reapply the values from before the recorded changes")
    assert result["restore"]["source"] == "host" and len(result["changes"]) == 1
    assert any("was interrupted" in warning for warning in result["warnings"])
    assert registry_without_winhttp_counter(fleet.hosts["pc"].host.state["registry"]) == original
    # The restore settled the open entry into the history; its own entry is not a change to undo.
    assert collection_key(fleet, "pc", "Journal") == {}
    assert run_playbook(inventory, RESTORE).changed_hosts() == set()


def test_a_journal_entry_the_forward_rules_refuse_stops_restore_from_the_host(fleet: Fleet, inventory: Path) -> None:
    """An entry written on the host by hand (an administrator can) that would point restore at a value no concern
    manages: it carries no signature of the controller's key, and even trusted as unsigned the forward rules refuse it;
    the restore fails naming the entry and the record, and changes nothing."""
    host = fleet.add("pc", "win10-tls-hardened")
    forged = [json.dumps({"format": 1, "run_id": "20261101T000000Z-00000000", "module": "m365ops.activation.win_tls12",
                          "created": "2026-11-01T00:00:00.000000Z"}),
              json.dumps({"kind": "registry", "key": "HKLM\\SYSTEM\\CurrentControlSet\\Services\\WinRM", "name": "Start",
                          "view": "64", "before": {"type": "dword", "value": 4}, "after": {"type": "dword", "value": 2}})]
    host.registry.write("HKLM\\SOFTWARE\\m365ops\\activation\\History\\20261101T000000Z-00000000", "64", "Records", "multi_string",
                        forged, True)
    host.save()
    fleet.write_inventory(inventory)
    before = json.dumps(fleet.hosts["pc"].host.state["registry"], sort_keys=True)
    restore = run_playbook(inventory, RESTORE)
    assert restore.rc != 0
    message = restore.result("pc", "Restore | Reapply the values from before the recorded changes")["msg"]
    assert "History\\20261101T000000Z-00000000 record #0: it carries no signature" in message
    # Trusted as unsigned, the forward rules still refuse it.
    trusted = run_playbook(inventory, RESTORE, extra_vars={"m365ops_restore_trust_unsigned": True})
    message = trusted.result("pc", "Restore | Reapply the values from before the recorded changes")["msg"]
    assert trusted.rc != 0 and "History\\20261101T000000Z-00000000 record #0" in message and "not a value any concern" in message
    assert json.dumps(fleet.hosts["pc"].host.state["registry"], sort_keys=True) == before


def test_the_hosts_history_keeps_the_newest_runs(fleet: Fleet, inventory: Path) -> None:
    """Only remediations that changed something write an entry; past HISTORY_KEEP the oldest go in the same batch."""
    host = fleet.add("pc", "win10-tls-hardened")
    for day in range(1, 51):
        run_id = f"202610{day:02d}T000000Z-00000000" if day < 32 else f"202611{day - 31:02d}T000000Z-00000000"
        header = json.dumps({"format": 1, "run_id": run_id, "module": "m365ops.activation.win_tls12", "created": run_id})
        host.registry.write(f"HKLM\\SOFTWARE\\m365ops\\activation\\History\\{run_id}", "64", "Records", "multi_string", [header], True)
    host.save()
    fleet.write_inventory(inventory)
    executions = run_playbook(inventory, REMEDIATE)
    assert executions.rc == 0
    history = collection_key(fleet, "pc", "History")
    assert len(history) == 50 and "20261001T000000Z-00000000" not in history and "20261002T000000Z-00000000" in history
    assert executions.result("pc", ACTIVATION)["agent_executions"] == 2


@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGKILL], ids=["ctrl-c", "killed"])
def test_a_controller_stopped_while_the_host_answers_loses_nothing(fleet: Fleet, inventory: Path, tmp_path: Path,
                                                                   stop: signal.Signals) -> None:
    """Ctrl-C, or the whole process tree killed as when an execution environment's container stops, after the host
    made every change and before its answer arrived."""
    original = one_host(fleet, inventory, {"answer_delay_seconds": 20})
    backups = tmp_path / "backups"
    command = [str(Path(sys.executable).parent / "ansible-playbook"), "-i", str(inventory), str(REMEDIATE),
               "-e", json.dumps({"m365ops_backup_dir": str(backups)})]
    process = subprocess.Popen(command, cwd=ROOT, env=ansible_env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                               start_new_session=True)
    host = fleet.hosts["pc"].host
    deadline = time.monotonic() + 120
    while host.counters["answers_delayed"] == 0 and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.1)
    assert host.counters["answers_delayed"] == 1, "the apply batch never reached the host"
    os.killpg(process.pid, stop)
    process.wait(timeout=60)
    planned, = documents(backups)
    assert planned["state"] == "planned" and len(planned["records"]) == TLS_CHANGES

    del host.faults["answer_delay_seconds"]
    host.save()
    settle = run_playbook(inventory, REMEDIATE, extra_vars={"m365ops_backup_dir": str(backups)})
    assert settle.rc == 0
    interrupted, = settle.result("pc", ACTIVATION)["concerns"]["tls12"]["interrupted"]
    assert (interrupted["in_effect"], interrupted["found_on"]) == (TLS_CHANGES, "controller")
    settled, = documents(backups)
    assert settled["state"] == "interrupted" and len(settled["records"]) == TLS_CHANGES

    restore = run_playbook(inventory, RESTORE, extra_vars={"m365ops_backup_dir": str(backups)})
    assert restore.rc == 0
    assert registry_without_winhttp_counter(host.state["registry"]) == original


def test_a_host_named_outside_ascii_is_backed_up_and_restored(fleet: Fleet, inventory: Path, tmp_path: Path) -> None:
    """Writer and reader name the host's backup directory with one function: restore finds what remediate wrote."""
    host = fleet.add("東京-pc01", "win10-tls-hardened")
    original = registry_without_winhttp_counter(host.state["registry"])
    fleet.write_inventory(inventory)
    backups = tmp_path / "backups"
    assert run_playbook(inventory, REMEDIATE, extra_vars={"m365ops_backup_dir": str(backups)}).rc == 0
    written, = backups.iterdir()
    assert written.name == "%E6%9D%B1%E4%BA%AC-pc01"
    restore = run_playbook(inventory, RESTORE, extra_vars={"m365ops_backup_dir": str(backups)})
    assert restore.rc == 0 and restore.changed_hosts() == {"東京-pc01"}
    assert registry_without_winhttp_counter(host.state["registry"]) == original


def test_two_remediations_of_one_host_at_once_apply_once(fleet: Fleet, inventory: Path, tmp_path: Path) -> None:
    """Both read the host before either changes it (each execution takes six seconds, so the two probes overlap even when
    one controller starts a little later); the first apply claims the host's generation, and the second, planned from
    what is now stale, is refused on the host whole: no Winsock reset twice, and the restart the first one owes is not
    hidden."""
    one_host(fleet, inventory, {"execution_latency_seconds": 6}, profile="win10-lsp")
    backups = tmp_path / "backups"
    runs = []
    for index in range(2):
        record = tmp_path / f"record-{index}.json"
        command = [str(Path(sys.executable).parent / "ansible-playbook"), "-i", str(inventory), str(REMEDIATE),
                   "-e", json.dumps({"m365ops_backup_dir": str(backups), "m365ops_report_file": str(tmp_path / f"report-{index}.json")})]
        runs.append((subprocess.Popen(command, cwd=ROOT, env=ansible_env(M365OPS_RECORD_FILE=str(record)), stdout=subprocess.DEVNULL,
                                      stderr=subprocess.DEVNULL), record))
    codes = [process.wait(timeout=300) for process, _record in runs]
    statuses = sorted(json.loads((tmp_path / f"report-{index}.json").read_text(encoding="utf-8"))["hosts"]["pc"]["status"] for index in range(2))
    assert statuses == ["busy", "remediated"] and sorted(codes) == [0, 2]
    busy = next(index for index in range(2) if codes[index] == 2)
    concerns = json.loads((tmp_path / f"report-{busy}.json").read_text(encoding="utf-8"))["hosts"]["pc"]["concerns"]
    assert "precondition_failed" in concerns["winsock_reset"]["message"]
    # One apply batch reached the host's journal; one backup document, the winner's.
    assert len(collection_key(fleet, "pc", "History")) == 1, [entry_records(entry) for entry in collection_key(fleet, "pc", "History").values()]
    assert [document["state"] for document in documents(backups)] == ["applied"]
    again = run_playbook(inventory, AUDIT)
    entry = again.result("pc", ACTIVATION)["concerns"]["winsock_reset"]
    assert entry["status"] == "compliant" and entry["reboot_owed_by"] == ["winsock_reset"]


def test_findings_mode_with_a_lost_answer_names_what_was_applied_and_fixes_nothing(fleet: Fleet, inventory: Path, tmp_path: Path) -> None:
    one_host(fleet, inventory, {"answer_lost": {}})
    report = tmp_path / "report.json"
    lost = run_playbook(inventory, REMEDIATE, extra_vars={"m365ops_mode": "findings", "m365ops_report_file": str(report)})
    assert lost.rc != 0
    entry = json.loads(report.read_text(encoding="utf-8"))["hosts"]["pc"]
    assert entry["status"] == "unknown" and entry["findings"]["applied"] == ["tls12"]
    assert entry["findings"]["fixed"] == [] and "tls12-off" in entry["findings"]["left"]


def test_a_hive_left_loaded_is_remembered_on_the_host_and_unloaded_by_the_next_run(fleet: Fleet, inventory: Path) -> None:
    """A process holds dave's hive open through the agent's five unload tries: the task fails (failed is failed), the hive
    stays loaded and its marker says so; a later run unloads it in one more execution and says so; then nothing is left."""
    from winsim.profiles import DAVE_SID
    task, task_name = ROOT / "tests" / "integration" / "playbooks" / "tls12_task.yml", "Run win_tls12"
    asked = {"tls12_wininet_users": "set", "tls12_wininet_signed_out": True}
    host = fleet.add("terminal", "win10-users-tls")
    host.faults["hive_unload_fails"] = [DAVE_SID]
    host.save()
    fleet.write_inventory(inventory)
    held = run_playbook(inventory, task, "--check", extra_vars=asked)
    assert held.rc != 0 and "user_hive_unload" in held.result("terminal", task_name)["msg"]
    assert DAVE_SID in host.state["registry"]["HKU"]["keys"]
    marker, = collection_key_values(fleet, "terminal", "LoadedHives")
    assert marker == DAVE_SID

    # In check mode the next run only tells; a marker younger than ten minutes may be another run's hive in use.
    del host.faults["hive_unload_fails"]
    host.save()
    told = run_playbook(inventory, task, "--check", extra_vars=asked).result("terminal", task_name)
    assert any(DAVE_SID in warning and "next run that is not in check mode unloads it" in warning for warning in told["warnings"])
    recent = run_playbook(inventory, task, extra_vars=asked).result("terminal", task_name)
    assert DAVE_SID in host.state["registry"]["HKU"]["keys"] and not any("was unloaded" in warning for warning in recent.get("warnings", []))

    host.registry.write(r"HKLM\SOFTWARE\m365ops\activation\LoadedHives", "64", DAVE_SID, "string", "2026-01-01T00:00:00.0000000Z", True)
    host.save()
    cleaned = run_playbook(inventory, task, extra_vars=asked).result("terminal", task_name)
    assert any(f"the hive of {DAVE_SID}" in warning and "was unloaded" in warning for warning in cleaned["warnings"])
    assert DAVE_SID not in host.state["registry"]["HKU"]["keys"] and DAVE_SID in host.state["unloaded_hives"]
    assert collection_key_values(fleet, "terminal", "LoadedHives") == []
    quiet = run_playbook(inventory, task, extra_vars=asked).result("terminal", task_name)
    assert quiet["agent_executions"] == cleaned["agent_executions"] - 1 and not any("hive of" in warning for warning in quiet.get("warnings", []))


def collection_key_values(fleet: Fleet, host: str, name: str) -> list[str]:
    """The value names of HKLM\\SOFTWARE\\m365ops\\activation\\<name> on the simulated host."""
    return sorted(fleet.hosts[host].host.registry.read(f"HKLM\\SOFTWARE\\m365ops\\activation\\{name}", "64", None)["values"])
