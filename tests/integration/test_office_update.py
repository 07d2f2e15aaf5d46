"""win_office_update over WinRM against winsim: update below the minimum, wait for the version, nothing at or above it."""
from __future__ import annotations

from pathlib import Path

from conftest import ROOT, run_playbook
from winsim.fleet import Fleet

TASK = ROOT / "tests" / "integration" / "playbooks" / "office_update_task.yml"
TASK_NAME = "Run win_office_update"
AGENT = "ansible_collections.m365ops.activation.plugins.modules.win_agent"
CONFIGURATION = r"HKLM\SOFTWARE\Microsoft\Office\ClickToRun\Configuration"
CURRENT = "16.0.17928.20156"


def version(fleet: Fleet, host: str) -> str:
    return fleet.hosts[host].host.registry.read(CONFIGURATION, "64", ["VersionToReport"])["values"]["VersionToReport"]["value"]


def test_an_old_office_is_updated_and_waited_for_and_a_second_run_does_nothing(fleet: Fleet, inventory: Path) -> None:
    fleet.add("behind", "win10-office-behind")
    fleet.add("current", "win10")
    fleet.write_inventory(inventory)
    check = run_playbook(inventory, TASK, "--check", extra_vars={"office_minimum": CURRENT})
    assert check.result("behind", TASK_NAME)["status"] == "drift" and version(fleet, "behind") == "16.0.16731.20234"
    run = run_playbook(inventory, TASK, extra_vars={"office_minimum": CURRENT})
    result = run.result("behind", TASK_NAME)
    assert run.rc == 0 and result["status"] == "remediated" and version(fleet, "behind") == CURRENT
    assert result["changes"][0]["run"].startswith("OfficeC2RClient.exe /update user")
    # Check mode reads once; the real run reads, then starts the update and waits for it in one more execution. A host
    # at the minimum is read once per run.
    executions = {name: entry.host.counters["executions"].get(AGENT, 0) for name, entry in fleet.hosts.items()}
    assert executions == {"behind": 1 + 2, "current": 1 + 1}
    again = run_playbook(inventory, TASK, extra_vars={"office_minimum": CURRENT})
    assert again.changed_hosts() == set() and again.result("behind", TASK_NAME)["status"] == "compliant"


def test_office_open_is_a_blocker_unless_closing_it_is_allowed(fleet: Fleet, inventory: Path) -> None:
    fleet.add("open", "win10-office-open")
    fleet.write_inventory(inventory)
    kept = run_playbook(inventory, TASK, extra_vars={"office_minimum": CURRENT}).result("open", TASK_NAME)
    assert kept["status"] == "blocked" and "WINWORD.EXE (session 1)" in kept["blockers"][0] and version(fleet, "open") != CURRENT
    closed = run_playbook(inventory, TASK, extra_vars={"office_minimum": CURRENT, "office_close_apps": True}).result("open", TASK_NAME)
    assert closed["status"] == "remediated" and "forceappshutdown=true" in closed["changes"][0]["run"]
    assert version(fleet, "open") == CURRENT


def test_an_update_that_does_not_land_in_time_fails_saying_so(fleet: Fleet, inventory: Path) -> None:
    fleet.add("slow", "win10-office-behind")
    fleet.hosts["slow"].host.state["c2r_updater"]["delay_seconds"] = 7200
    fleet.hosts["slow"].host.save()
    fleet.write_inventory(inventory)
    run = run_playbook(inventory, TASK, extra_vars={"office_minimum": CURRENT, "office_timeout": 600})
    result = run.result("slow", TASK_NAME)
    assert run.rc != 0 and result["status"] == "failed" and "stayed at 16.0.16731.20234 for 600 s" in result["msg"]


def test_no_click_to_run_fails_clearly_and_a_bad_version_is_refused_before_contact(fleet: Fleet, inventory: Path) -> None:
    fleet.add("msi", "win10-msi-office")
    fleet.write_inventory(inventory)
    result = run_playbook(inventory, TASK, extra_vars={"office_minimum": CURRENT}).result("msi", TASK_NAME)
    assert result["status"] == "failed" and "not installed as Click-to-Run" in result["msg"]
    requests = fleet.hosts["msi"].host.counters["requests"]
    refused = run_playbook(inventory, TASK, extra_vars={"office_minimum": "16.0 latest"})
    assert refused.rc != 0 and "minimum_version: '16.0 latest' is not" in refused.stdout
    assert fleet.hosts["msi"].host.counters["requests"] == requests


def test_a_pinned_target_configmgr_or_updates_turned_off_block_before_the_updater_starts(fleet: Fleet, inventory: Path) -> None:
    """Review G17: said up front, never as "may still be downloading" after a wait."""
    from winsim.profiles import _set  # pylint: disable=import-outside-toplevel  # the simulator's own registry set-up

    policy = r"HKLM\SOFTWARE\Policies\Microsoft\office\16.0\Common\officeupdate"
    settings = {"pinned": (policy, "UpdateTargetVersion", "string", "16.0.16731.20234"), "managed": (policy, "OfficeMgmtCOM", "dword", 1),
                "off": (policy, "EnableAutomaticUpdates", "dword", 0)}
    for name, (key, value_name, value_type, value) in settings.items():
        host = fleet.add(name, "win10-office-behind")
        _set(host.state["registry"], key, value_name, value_type, value)
        host.save()
    fleet.write_inventory(inventory)
    run = run_playbook(inventory, TASK, extra_vars={"office_minimum": CURRENT})
    said = {name: run.result(name, TASK_NAME) for name in settings}
    assert {name: result["status"] for name, result in said.items()} == {name: "blocked" for name in settings}
    assert "pinned to 16.0.16731.20234 (policy UpdateTargetVersion)" in said["pinned"]["blockers"][0]
    assert "OfficeMgmtCOM" in said["managed"]["blockers"][0] and "turned off (policy EnableAutomaticUpdates 0)" in said["off"]["blockers"][0]
    # The updater was never started: one read per host, nothing changed.
    assert all(version(fleet, name) == "16.0.16731.20234" for name in settings)
    assert {name: fleet.hosts[name].host.counters["executions"].get(AGENT, 0) for name in settings} == {name: 1 for name in settings}
