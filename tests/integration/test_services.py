"""win_required_services over WinRM against winsim: converge, idempotence, check mode, failure, localized hosts."""
from __future__ import annotations

import base64
from pathlib import Path

from conftest import ROOT, run_playbook
from winsim.fleet import Fleet

TASK = ROOT / "tests" / "integration" / "playbooks" / "services_task.yml"
TASK_NAME = "Run win_required_services"
ARTICLE_SERVICES = ("EventLog", "NlaSvc", "netprofm", "NcdAutoSetup")
# NcdAutoSetup is a trigger-start service: stopped is its resting state, and Windows starts it on its trigger.
STARTED_SERVICES = ("EventLog", "NlaSvc", "netprofm")


def services(fleet: Fleet, host: str) -> dict:
    return fleet.hosts[host].host.state["services"]


def disable_nla(fleet: Fleet, host: str) -> None:
    state = services(fleet, host)
    state["NlaSvc"].update(start_mode="disabled", status="stopped")
    for name in ("netprofm", "NcdAutoSetup"):
        state[name]["status"] = "stopped"
    fleet.hosts[host].host.save()


def test_converges_idempotently_and_a_japanese_host_answers_the_same(fleet: Fleet, inventory: Path) -> None:
    fleet.add("english", "win10-nla-disabled")
    fleet.add("japanese", "win10-ja")
    disable_nla(fleet, "japanese")
    fleet.add("win7", "win7sp1")
    fleet.write_inventory(inventory)

    first = run_playbook(inventory, TASK)
    assert first.rc == 0 and first.changed_hosts() == {"english", "japanese"}
    assert first.result("english", TASK_NAME)["changes"] == first.result("japanese", TASK_NAME)["changes"]
    assert [(change["service"], change["setting"], change["after"]) for change in first.result("english", TASK_NAME)["changes"]] == [
        ("NlaSvc", "start_mode", "auto"), ("NlaSvc", "status", "running"), ("netprofm", "status", "running")]
    for host in ("english", "japanese"):
        assert all(services(fleet, host)[name]["status"] == "running" for name in STARTED_SERVICES)
        assert first.result(host, TASK_NAME)["services"]["resting_trigger_start"] == ["NcdAutoSetup"]
        assert services(fleet, host)["NlaSvc"]["start_mode"] == "auto"
    assert first.result("win7", TASK_NAME)["services"]["not_applicable"] == ["NcdAutoSetup"]

    second = run_playbook(inventory, TASK)
    assert second.rc == 0 and second.changed_hosts() == set()


def test_check_mode_predicts_the_real_run(fleet: Fleet, inventory: Path) -> None:
    fleet.add("pc", "win10-nla-disabled")
    fleet.write_inventory(inventory)
    before = fleet.hosts["pc"].host.state_path.read_bytes()
    check = run_playbook(inventory, TASK, "--check", "--diff")
    assert check.rc == 0 and fleet.hosts["pc"].host.state_path.read_bytes() == before
    assert "-start_mode=disabled" in check.stdout and "+start_mode=auto" in check.stdout and "+status=running" in check.stdout
    real = run_playbook(inventory, TASK)
    assert real.result("pc", TASK_NAME)["changes"] == check.result("pc", TASK_NAME)["changes"]


def test_a_service_that_will_not_start_names_the_error_and_the_next_step(fleet: Fleet, inventory: Path) -> None:
    fleet.add("pc", "win10-eventlog-broken")
    fleet.write_inventory(inventory)
    run = run_playbook(inventory, TASK)
    assert run.rc == 2 and run.status("pc", TASK_NAME) == "failed"
    message = run.result("pc", TASK_NAME)["msg"]
    assert "EventLog" in message and "1067" in message and "sfc /scannow" in message
    assert services(fleet, "pc")["NlaSvc"]["status"] == "stopped", "the starts after the failed one are skipped"


def test_bad_service_name_fails_before_the_host_is_contacted(fleet: Fleet, inventory: Path) -> None:
    fleet.add("pc", "win10")
    fleet.write_inventory(inventory)
    run = run_playbook(inventory, TASK, extra_vars={"services_list": [{"name": "Network Location Awareness\\NlaSvc"}]})
    assert run.rc == 2 and "short name" in run.result("pc", TASK_NAME)["msg"]
    assert fleet.hosts["pc"].host.counters["requests"] == 0


def test_sfc_on_failure_repairs_and_retries_once(fleet: Fleet, inventory: Path) -> None:
    fleet.add("pc", "win10-eventlog-broken")
    fleet.write_inventory(inventory)
    run = run_playbook(inventory, TASK, extra_vars={"services_sfc_on_failure": True})
    assert run.rc == 0, run.stdout[-3000:]
    result = run.result("pc", TASK_NAME)
    repair, = result["repairs"]
    assert (repair["op"], repair["ok"], repair["exit_code"]) == ("process_run", True, 0)
    assert b"integrity violations" in base64.b64decode(repair["stdout_base64"]), "raw output is returned, not interpreted"
    assert result["agent_executions"] == 3
    # sfc finishes its repairs at the next restart: the reboot is owed, and remembered, as after a change.
    assert result["reboot_required"] is True
    assert run_playbook(inventory, TASK).result("pc", TASK_NAME)["reboot_owed_by"] == ["required_services"]
    assert all(services(fleet, "pc")[name]["status"] == "running" for name in STARTED_SERVICES)
    assert [record["service"] for record in result["backup"]] == list(STARTED_SERVICES)
    assert run_playbook(inventory, TASK).changed_hosts() == set()


def test_a_disabled_dependency_is_enabled_and_configuration_problems_never_run_sfc(fleet: Fleet, inventory: Path) -> None:
    fleet.add("pc", "win10-dhcp-disabled")
    fleet.write_inventory(inventory)
    kept = run_playbook(inventory, TASK, extra_vars={"services_enable_dependencies": False, "services_sfc_on_failure": True})
    assert kept.rc == 2, "NlaSvc cannot start while the DHCP Client it depends on is Disabled"
    message = kept.result("pc", TASK_NAME)["msg"]
    assert "dependency_failed" in message and "1068" in message and "repairs" not in kept.result("pc", TASK_NAME)
    assert services(fleet, "pc")["Dhcp"]["start_mode"] == "disabled"
    fixed = run_playbook(inventory, TASK)
    assert fixed.rc == 0, fixed.stdout[-3000:]
    assert services(fleet, "pc")["Dhcp"]["start_mode"] == "auto" and services(fleet, "pc")["NlaSvc"]["status"] == "running"
    assert fixed.result("pc", TASK_NAME)["changes"][0]["service"] == "Dhcp"
    assert run_playbook(inventory, TASK).changed_hosts() == set()
