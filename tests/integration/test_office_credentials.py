"""win_office_credentials over WinRM against winsim: every signed-in user's Office credentials, and nothing else."""
from __future__ import annotations

import json
from pathlib import Path

from conftest import ROOT, run_playbook
from winsim.fleet import Fleet
from winsim.profiles import BOB_SID, CAROL_SID, USER_SID

TASK = ROOT / "tests" / "integration" / "playbooks" / "office_credentials_task.yml"
TASK_NAME = "Run win_office_credentials"
AGENT = "ansible_collections.m365ops.activation.plugins.modules.win_agent"


def targets(fleet: Fleet, host: str, sid: str) -> list[str]:
    return [item["target"] for item in fleet.hosts[host].host.state["credentials"][sid]]


def test_exactly_the_office_credentials_of_every_signed_in_user_go(fleet: Fleet, inventory: Path, tmp_path: Path) -> None:
    fleet.add("shared", "win10-office-creds")
    fleet.write_inventory(inventory)
    predicted = run_playbook(inventory, TASK, "--check").result("shared", TASK_NAME)
    run = run_playbook(inventory, TASK, extra_vars={"office_backup_dir": str(tmp_path / "backups")})
    result = run.result("shared", TASK_NAME)
    assert run.rc == 0 and result["status"] == "remediated"
    # Check mode named exactly what the real run removed.
    assert [change["remove"] for change in predicted["changes"]] == [change["remove"] for change in result["changes"]]
    assert {change["user"]: change["remove"] for change in result["changes"]} == {
        "CORP\\alice": ["MicrosoftOffice16_Data:SSPI:alice@corp.example", "MicrosoftOffice16_Data:ADAL:3f2a9c1e-77d4-4b8e-9a51-0c6e2b7d1f10"],
        "CORP\\bob": ["MicrosoftOffice16_Data:orgid:bob@corp.example"]}
    assert targets(fleet, "shared", USER_SID) == ["TERMSRV/jump01.corp.example", "git:https://git.corp.example"]
    assert targets(fleet, "shared", BOB_SID) == ["MicrosoftAccount:user=bob@outlook.example"]
    # carol is not signed in: out of reach, untouched.
    assert targets(fleet, "shared", CAROL_SID) == ["MicrosoftOffice16_Data:SSPI:carol@corp.example"]
    record = json.loads(Path(result["backup_file"]).read_text(encoding="utf-8"))
    assert {entry["user"] for entry in record["records"]} == {"CORP\\alice", "CORP\\bob"}
    # What a person needs to re-create what went, never a secret; and the result says it cannot be undone.
    bob = next(entry for entry in record["records"] if entry["user"] == "CORP\\bob")
    assert bob["restorable"] is False and set(bob["removed_credentials"][0]) == {"target", "type", "user_name", "persist"}
    assert bob["removed_credentials"][0]["target"] == "MicrosoftOffice16_Data:orgid:bob@corp.example"
    assert any("cannot be put back" in warning for warning in predicted["warnings"])
    # One execution to read, one to remove and read again.
    assert fleet.hosts["shared"].host.counters["executions"][AGENT] == 1 + 2
    again = run_playbook(inventory, TASK)
    assert again.changed_hosts() == set() and again.result("shared", TASK_NAME)["status"] == "compliant"


def test_a_remoteapp_session_a_disconnected_desktop_and_a_kiosk_shell_are_signed_in_users(fleet: Fleet, inventory: Path) -> None:
    # None of these sessions runs explorer.exe: the users are found by the session list, not by a shell's name (G2).
    fleet.add("rdsh", "ws2022-rds-remoteapp")
    fleet.add("kiosk", "win10-kiosk")
    fleet.write_inventory(inventory)
    run = run_playbook(inventory, TASK, "--check")
    removed = {host: {change["user"]: change["remove"] for change in run.result(host, TASK_NAME)["changes"]} for host in ("rdsh", "kiosk")}
    assert removed["rdsh"] == {"CORP\\alice": ["MicrosoftOffice16_Data:SSPI:alice@corp.example"],
                               "CORP\\bob": ["MicrosoftOffice16_Data:SSPI:bob@corp.example"]}
    assert removed["kiosk"] == {}
    assert run.result("kiosk", TASK_NAME)["status"] == "compliant"
    assert [user["user"] for user in run.result("kiosk", TASK_NAME)["office_credentials"]["users"]] == ["CORP\\alice"]


def test_a_signed_in_user_the_host_cannot_identify_blocks_and_is_named(fleet: Fleet, inventory: Path) -> None:
    fleet.add("rdsh", "ws2022-rds-remoteapp")
    host = fleet.hosts["rdsh"].host
    host.state["sessions"][1]["sid_unresolved"] = True
    host.save()
    fleet.write_inventory(inventory)
    result = run_playbook(inventory, TASK).result("rdsh", TASK_NAME)
    # alice's credentials go; bob is signed in but out of reach, so the host is not called remediated.
    assert result["status"] == "blocked" and [change["user"] for change in result["changes"]] == ["CORP\\alice"]
    assert result["blockers"] == ["CORP\\bob is signed in (session 3), but the host could not find the SID of that user, so nothing of "
                                  "theirs was read or changed"]
    assert targets(fleet, "rdsh", BOB_SID) == ["MicrosoftOffice16_Data:SSPI:bob@corp.example"]


def test_nobody_signed_in_is_no_user_session_never_success(fleet: Fleet, inventory: Path) -> None:
    fleet.add("server", "ws2022")
    fleet.write_inventory(inventory)
    result = run_playbook(inventory, TASK).result("server", TASK_NAME)
    assert result["status"] == "blocked" and result["blockers"][0].startswith("no user session")


def test_a_session_that_does_not_answer_fails_and_a_catch_all_pattern_is_refused(fleet: Fleet, inventory: Path) -> None:
    fleet.add("stuck", "win10-office-creds")
    fleet.hosts["stuck"].host.faults["session_task_timeout"] = True
    fleet.hosts["stuck"].host.save()
    fleet.write_inventory(inventory)
    run = run_playbook(inventory, TASK)
    result = run.result("stuck", TASK_NAME)
    assert run.rc != 0 and result["status"] == "failed" and "timeout" in result["msg"]
    refused = run_playbook(inventory, TASK, extra_vars={"office_patterns": ["*"]})
    assert refused.rc != 0 and "patterns[0]: '*' must name part of a target" in refused.stdout


def test_a_pattern_that_may_select_other_programs_credentials_needs_other_targets(fleet: Fleet, inventory: Path) -> None:
    fleet.add("shared", "win10-office-creds")
    fleet.write_inventory(inventory)
    before = {sid: targets(fleet, "shared", sid) for sid in (USER_SID, BOB_SID)}
    for pattern in ("*:*", "*a*", "?icrosoftOffice16_Data:*"):
        refused = run_playbook(inventory, TASK, extra_vars={"office_patterns": ["MicrosoftOffice16_Data:*", pattern]})
        assert refused.rc != 0 and "patterns[1]" in refused.stdout and "other_targets" in refused.stdout
    assert fleet.hosts["shared"].host.counters["requests"] == 0
    # Asked for explicitly, check mode names every credential such a pattern would take, git and RDP ones included.
    wide = run_playbook(inventory, TASK, "--check", extra_vars={"office_patterns": ["*:*"], "office_other_targets": True})
    removed = {change["user"]: change["remove"] for change in wide.result("shared", TASK_NAME)["changes"]}
    assert "git:https://git.corp.example" in removed["CORP\\alice"] and "TERMSRV/jump01.corp.example" not in removed["CORP\\alice"]
    assert {sid: targets(fleet, "shared", sid) for sid in (USER_SID, BOB_SID)} == before


def test_no_result_or_log_carries_a_secret(fleet: Fleet, inventory: Path) -> None:
    fleet.add("shared", "win10-office-creds")
    fleet.write_inventory(inventory)
    secrets = [item["secret"] for store in fleet.hosts["shared"].host.state["credentials"].values() for item in store]
    run = run_playbook(inventory, TASK, "-vvv", "--diff")
    text = run.stdout + run.stderr + json.dumps(run.events)
    assert "MicrosoftOffice16_Data:SSPI:alice@corp.example" in text and secrets
    assert not [secret for secret in secrets if secret in text]


def test_for_the_become_user_only_their_own_credentials_go(fleet: Fleet, inventory: Path) -> None:
    fleet.add("shared", "win10-office-creds")
    fleet.write_inventory(inventory)
    run = run_playbook(inventory, ROOT / "tests" / "integration" / "playbooks" / "office_credentials_become.yml",
                       extra_vars={"office_become_user": "CORP\\carol", "office_become_password": "not-stored-anywhere"})
    result = run.result("shared", TASK_NAME)
    assert run.rc == 0 and result["status"] == "remediated", run.stdout[-2000:]
    # carol is not signed in, but runas logged her on: her entry goes; the signed-in users' stay.
    assert [change["user"] for change in result["changes"]] == ["CORP\\carol"]
    assert targets(fleet, "shared", CAROL_SID) == []
    assert "MicrosoftOffice16_Data:SSPI:alice@corp.example" in targets(fleet, "shared", USER_SID)
    assert "not-stored-anywhere" not in run.stdout + json.dumps(run.events)


def test_a_work_account_a_user_added_is_named_and_never_removed(fleet: Fleet, inventory: Path) -> None:
    fleet.add("shared", "win10-office-creds")
    fleet.add("old", "win7sp1")
    fleet.write_inventory(inventory)
    before = json.dumps(fleet.hosts["shared"].host.state["work_accounts"], sort_keys=True)
    run = run_playbook(inventory, TASK)
    result = run.result("shared", TASK_NAME)
    users = {entry["user"]: entry for entry in result["office_credentials"]["users"]}
    assert users["CORP\\bob"]["work_account"]["join_type"] == "workplace" and users["CORP\\alice"]["work_account"] is None
    # The read sees Windows' default join only, and says so (review G21).
    assert users["CORP\\bob"]["work_account"]["checked"] == "default join only"
    assert [warning for warning in result["warnings"] if "bob@fabrikam.example (Fabrikam)" in warning and "CORP\\bob" in warning]
    assert json.dumps(fleet.hosts["shared"].host.state["work_accounts"], sort_keys=True) == before
    # Windows 7 has no NetGetAadJoinInformation: nothing to report, and no warning about it.
    old = run.result("old", TASK_NAME)
    assert [entry["work_account"] for entry in old["office_credentials"]["users"]] == [None] and not old.get("warnings")
    ignored = run_playbook(inventory, TASK, "--check", extra_vars={"office_work_accounts": "ignore"}).result("shared", TASK_NAME)
    assert all("work_account" not in entry for entry in ignored["office_credentials"]["users"]) and not ignored.get("warnings")
