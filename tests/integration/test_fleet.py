"""The fleet run behind audit.yml and remediate.yml, over WinRM against winsim: statuses that tell the truth, the
report under --check, --limit and --tags, targets that match nothing, misspelt variables, reboots owed."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from conftest import ROOT, ansible_env, give_wrong_password, run_playbook
from winsim.agent import winhttp_setting
from winsim.fleet import Fleet

AUDIT = ROOT / "playbooks" / "audit.yml"
REMEDIATE = ROOT / "playbooks" / "remediate.yml"
AGENT = "ansible_collections.m365ops.activation.plugins.modules.win_agent"
SCHANNEL = ("HKLM", "SYSTEM", "CurrentControlSet", "Control", "SecurityProviders", "SCHANNEL")


def deny_schannel_reads(fleet: Fleet, host: str) -> None:
    """A key the connecting account may not read: the TLS probe fails on this host."""
    node = fleet.hosts[host].host.state["registry"]
    for part in SCHANNEL:
        node = node[part] if part == "HKLM" else node["keys"][part]
    node["deny"] = ["read"]
    fleet.hosts[host].host.save()


def report_of(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def executions(fleet: Fleet, host: str) -> int:
    return fleet.hosts[host].host.counters["executions"].get(AGENT, 0)


def test_audit_reports_every_host_as_it_is(fleet: Fleet, inventory: Path, tmp_path: Path) -> None:
    for name, profile in (("broken", "win10"), ("offline", "win10"), ("healthy", "win11"), ("nokb", "win7sp1-nokb"), ("locked", "win11")):
        fleet.add(name, profile)
    deny_schannel_reads(fleet, "broken")
    fleet.take_offline("offline")
    fleet.write_inventory(inventory)
    give_wrong_password(inventory, "locked")
    report_file = tmp_path / "audit.json"

    run = run_playbook(inventory, AUDIT, extra_vars={"m365ops_report_file": str(report_file)})
    # The report is written, then the failed hosts fail and the unreachable ones end unreachable: ansible-playbook's exit
    # code is then 4 (a host could not be reached), which it gives before 2 (a host failed).
    assert run.rc == 4, run.stdout[-3000:]
    report = report_of(report_file)
    statuses = {host: entry["status"] for host, entry in report["hosts"].items()}
    assert statuses == {"broken": "failed", "offline": "unreachable", "healthy": "compliant", "nokb": "blocked", "locked": "unreachable"}
    assert report["totals"]["failed"] == 1 and report["totals"]["unreachable"] == 2
    # A host that answered and refused the credentials is told apart from one that did not answer.
    assert report["hosts"]["locked"]["unreachable_reason"] == "auth_failed"
    assert report["hosts"]["offline"]["unreachable_reason"] == "no_connection"
    broken = report["hosts"]["broken"]
    assert broken["concerns"]["tls12"]["status"] == "failed" and "access_denied" in broken["message"]
    # A read that fails fails only the concern that needed it: the others were read in the same probe and say what they saw.
    assert {name: entry["status"] for name, entry in broken["concerns"].items()} == {
        "tls12": "failed", "winhttp_proxy": "compliant", "ncsi": "compliant", "required_services": "compliant",
        "winsock_reset": "compliant", "ipv6": "not_selected"}
    # Nothing is known of a host that could not be reached: every concern it was asked for is unreachable.
    assert {entry["status"] for entry in report["hosts"]["offline"]["concerns"].values()} == {"unreachable", "not_selected"}
    assert report["hosts"]["healthy"]["concerns"]["ipv6"] == {"status": "not_selected"}
    # The recap (and AWX) counts the hosts the run could not reach unreachable, not failed, and the reason is said once.
    assert run.stats["broken"]["failures"] == 1 and run.stats["healthy"]["failures"] == 0
    assert (run.stats["offline"]["failures"], run.stats["offline"]["unreachable"]) == (0, 1)
    assert (run.stats["locked"]["failures"], run.stats["locked"]["unreachable"]) == (0, 1)
    offline_message = report["hosts"]["offline"]["message"]
    assert offline_message.startswith("tls12, winhttp_proxy, ncsi, required_services, winsock_reset: ") and offline_message.count("tls12") == 1
    assert "UNREACHABLE (no_connection): tls12, winhttp_proxy, ncsi, required_services, winsock_reset: " in run.stdout
    assert executions(fleet, "broken") == 1, "an audit is one agent execution, also where a read fails"
    # A failed host is said once, in a short line at the end (after its report line), not as its whole result.
    said = [line for line in run.stdout.splitlines() if line.startswith("fatal: [broken]")]
    assert len(said) == 1 and len(said[0]) < 1000 and said[0].startswith('fatal: [broken]: FAILED! => {"changed": false, "msg": "FAILED: tls12: ')


def test_report_is_written_under_check_and_limit_for_the_targeted_hosts_only(fleet: Fleet, inventory: Path, tmp_path: Path) -> None:
    fleet.add("one", "win10-tls-hardened")
    fleet.add("two", "win11")
    fleet.write_inventory(inventory)
    report_file = tmp_path / "limited.json"
    run = run_playbook(inventory, REMEDIATE, "--check", "--diff", "--limit", "one",
                       extra_vars={"m365ops_report_file": str(report_file)})
    assert run.rc == 0, run.stdout[-3000:]
    report = report_of(report_file)
    assert list(report["hosts"]) == ["one"] and report["hosts"]["one"]["status"] == "drift"
    # A remediation under --check changed nothing, and its title says so.
    assert report["title"] == "remediation (check mode)" and report["run"]["check_mode"] is True
    assert f"Report written to {report_file}" in run.stdout
    # --diff shows the host's changes, not the controller-side report file.
    assert '"Enabled"=dword:00000001' in run.stdout and '"totals"' not in run.stdout.split("PLAY RECAP")[0].split("Show the report")[0]
    assert fleet.hosts["two"].host.counters["requests"] == 0


def test_a_target_that_matches_no_host_fails_the_run(fleet: Fleet, inventory: Path) -> None:
    fleet.add("pc", "win11")
    fleet.write_inventory(inventory)
    run = run_playbook(inventory, AUDIT, extra_vars={"m365ops_target": "no_such_group"})
    assert run.rc == 2 and "m365ops_target 'no_such_group' matched no host" in run.stdout
    limited = run_playbook(inventory, AUDIT, "--limit", "pc", extra_vars={"m365ops_target": "no_such_group"})
    assert limited.rc == 2 and "within --limit pc" in limited.stdout


def test_tags_and_the_concerns_variable_select_concerns(fleet: Fleet, inventory: Path, tmp_path: Path) -> None:
    fleet.add("pc", "win10-tls-hardened")
    fleet.write_inventory(inventory)
    tagged = run_playbook(inventory, AUDIT, "--tags", "tls12", extra_vars={"m365ops_report_file": str(tmp_path / "t.json")})
    assert tagged.rc == 0, tagged.stdout[-3000:]
    concerns = report_of(tmp_path / "t.json")["hosts"]["pc"]["concerns"]
    assert concerns["tls12"]["status"] == "drift"
    assert {name: entry["status"] for name, entry in concerns.items() if name != "tls12"} == dict.fromkeys(
        ("winhttp_proxy", "ncsi", "required_services", "winsock_reset", "ipv6"), "not_selected")
    assert executions(fleet, "pc") == 1

    # --skip-tags naming one concern leaves the others to run (the combined task is not skipped whole).
    skipped = run_playbook(inventory, AUDIT, "--skip-tags", "tls12", extra_vars={"m365ops_report_file": str(tmp_path / "s.json")})
    assert skipped.rc == 0, skipped.stdout[-3000:]
    concerns = report_of(tmp_path / "s.json")["hosts"]["pc"]["concerns"]
    assert concerns["tls12"]["status"] == "not_selected" and concerns["ipv6"]["status"] == "not_selected"
    assert {name: entry["status"] for name, entry in concerns.items() if name not in ("tls12", "ipv6")} == dict.fromkeys(
        ("winhttp_proxy", "ncsi", "required_services", "winsock_reset"), "compliant")
    findings = run_playbook(inventory, REMEDIATE, "--skip-tags", "tls12", extra_vars={"m365ops_mode": "findings"})
    assert findings.rc == 0 and executions(fleet, "pc") == 3, "the findings mode's diagnosis runs too"

    chosen = run_playbook(inventory, AUDIT, "-e", "m365ops_concerns=ncsi", extra_vars={"m365ops_report_file": str(tmp_path / "c.json")})
    assert chosen.rc == 0
    concerns = report_of(tmp_path / "c.json")["hosts"]["pc"]["concerns"]
    assert concerns["ncsi"]["status"] == "compliant" and concerns["tls12"]["status"] == "not_selected"


def test_misspelt_variables_and_concerns_fail_before_any_host_is_contacted(fleet: Fleet, inventory: Path) -> None:
    fleet.add("pc", "win10-stale-proxy")
    fleet.write_inventory(inventory)
    misspelt = run_playbook(inventory, REMEDIATE, extra_vars={"m365ops_winhttp_proxi": {"proxy": "proxy.corp.example:8080"}})
    assert misspelt.rc == 2 and "m365ops_winhttp_proxi is not a variable" in misspelt.stdout and "m365ops_winhttp_proxy?" in misspelt.stdout
    unknown = run_playbook(inventory, REMEDIATE, extra_vars={"m365ops_concerns": ["tls13"]})
    assert unknown.rc == 2 and "tls13" in unknown.stdout and "m365ops_concerns" in unknown.stdout
    # The role's argument spec refuses what is not a number; the role refuses a number that is not a usable wait.
    for timeout, said in ((-1, "m365ops_reboot_timeout is -1"), (5, "m365ops_reboot_timeout is 5"), ("10m", "'m365ops_reboot_timeout'")):
        refused = run_playbook(inventory, REMEDIATE, extra_vars={"m365ops_reboot": True, "m365ops_reboot_timeout": timeout})
        assert refused.rc == 2 and said in refused.stdout
    assert fleet.hosts["pc"].host.counters["requests"] == 0


def test_a_reboot_owed_stays_reported_until_the_host_restarts(fleet: Fleet, inventory: Path, tmp_path: Path) -> None:
    fleet.add("lsp", "win10-lsp")
    fleet.write_inventory(inventory)
    first = run_playbook(inventory, REMEDIATE, extra_vars={"m365ops_report_file": str(tmp_path / "1.json")})
    assert first.rc == 0 and report_of(tmp_path / "1.json")["hosts"]["lsp"]["reboot_required"] is True
    second = run_playbook(inventory, AUDIT, extra_vars={"m365ops_report_file": str(tmp_path / "2.json")})
    entry = report_of(tmp_path / "2.json")["hosts"]["lsp"]
    assert second.changed_hosts() == set()
    assert entry["status"] == "compliant" and entry["reboot_required"] is True and entry["reboot_owed_by"] == ["winsock_reset"]
    assert "[restart owed for changes by winsock_reset]" in second.stdout
    fleet.hosts["lsp"].host.reboot()
    third = run_playbook(inventory, AUDIT, extra_vars={"m365ops_report_file": str(tmp_path / "3.json")})
    assert third.rc == 0 and report_of(tmp_path / "3.json")["hosts"]["lsp"]["reboot_required"] is False


def test_a_role_says_what_it_did_without_a_debug_task_of_the_user(fleet: Fleet, inventory: Path) -> None:
    fleet.add("pc", "win10-tls-hardened")
    fleet.write_inventory(inventory)
    playbook = inventory.with_name("role.yml")
    playbook.write_text("- hosts: windows\n  gather_facts: false\n  roles:\n    - m365ops.activation.tls12\n", encoding="utf-8")
    run = run_playbook(inventory, playbook)
    assert run.rc == 0
    assert "tls12: REMEDIATED [restart owed]" in run.stdout
    assert "SCHANNEL TLS 1.2 Client Enabled is set to 0" in run.stdout


def test_a_concerns_role_takes_its_options_as_one_variable_and_passes_it_untouched(fleet: Fleet, inventory: Path) -> None:
    fleet.add("pc", "win10-stale-proxy")
    fleet.write_inventory(inventory)
    playbook = inventory.with_name("role.yml")

    def role_with(options: str) -> str:
        playbook.write_text("- hosts: windows\n  gather_facts: false\n  roles:\n    - role: m365ops.activation.winhttp_proxy\n"
                            f"      vars:\n        m365ops_winhttp_proxy: {options}\n", encoding="utf-8")
        return str(playbook)

    misspelt = run_playbook(inventory, Path(role_with("{proxi: proxy.branch.example:3128}")))
    assert misspelt.rc == 2 and "winhttp_proxy.proxi: not an option of the winhttp_proxy concern (did you mean winhttp_proxy.proxy?)" in misspelt.stdout
    assert fleet.hosts["pc"].host.counters["requests"] == 0
    run = run_playbook(inventory, Path(role_with("{proxy: proxy.branch.example:3128, bypass: ['<local>']}")))
    assert run.rc == 0 and "winhttp_proxy: REMEDIATED" in run.stdout
    assert winhttp_setting(fleet.hosts["pc"].host, "64") == {"access_type": "named", "proxy": "proxy.branch.example:3128", "bypass": "<local>"}


def test_the_issue_fleet_end_to_end(fleet: Fleet, inventory: Path, tmp_path: Path) -> None:
    """A failing host, an unreachable one, a proxy-only site, a site whose proxy is right, Windows 7 without KB3140245,
    a healthy host: audit, default remediation, explicit proxy."""
    hosts = {"failing": "win10", "offline": "win10", "proxy-only": "win10-proxy-site", "proxy-right": "win10-proxy-right",
             "win7-nokb": "win7sp1-nokb", "healthy": "win11"}
    for name, profile in hosts.items():
        fleet.add(name, profile)
    deny_schannel_reads(fleet, "failing")
    fleet.take_offline("offline")
    fleet.write_inventory(inventory)

    def both_views(name: str) -> tuple[dict, dict]:
        return winhttp_setting(fleet.hosts[name].host, "64"), winhttp_setting(fleet.hosts[name].host, "32")

    right_before = both_views("proxy-right")
    run_playbook(inventory, AUDIT, extra_vars={"m365ops_report_file": str(tmp_path / "audit.json")})
    audit = report_of(tmp_path / "audit.json")["hosts"]
    assert {name: entry["status"] for name, entry in audit.items()} == {
        "failing": "failed", "offline": "unreachable", "proxy-only": "drift", "proxy-right": "compliant", "win7-nokb": "blocked",
        "healthy": "compliant"}
    proxy_changes = audit["proxy-only"]["concerns"]["winhttp_proxy"]["changes"]
    assert len(proxy_changes) == 2 and all("CORP\\alice" in change and "proxy.corp.example:8080" in change for change in proxy_changes)

    remediate = run_playbook(inventory, REMEDIATE, extra_vars={"m365ops_report_file": str(tmp_path / "remediation.json")})
    assert remediate.rc == 4
    site = {"access_type": "named", "proxy": "proxy.corp.example:8080", "bypass": "*.corp.example;<local>"}
    assert both_views("proxy-right") == right_before and both_views("proxy-only") == (site, site)
    assert report_of(tmp_path / "remediation.json")["hosts"]["win7-nokb"]["status"] == "blocked"

    explicit = run_playbook(inventory, REMEDIATE, extra_vars={"m365ops_winhttp_proxy": {"proxy": "proxy.branch.example:3128"}})
    assert explicit.rc == 4
    wanted = {"access_type": "named", "proxy": "proxy.branch.example:3128", "bypass": None}
    assert all(both_views(name) == (wanted, wanted) for name in ("proxy-only", "proxy-right", "win7-nokb", "healthy"))


def test_a_host_without_powershell_51_is_blocked_not_failed(fleet: Fleet, inventory: Path, tmp_path: Path) -> None:
    fleet.add("old", "win81-ps4")
    fleet.add("new", "win81")
    fleet.write_inventory(inventory)
    run = run_playbook(inventory, AUDIT, extra_vars={"m365ops_report_file": str(tmp_path / "a.json")})
    assert run.rc == 0, run.stdout[-3000:]
    old = report_of(tmp_path / "a.json")["hosts"]["old"]
    assert old["status"] == "blocked" and all(entry["status"] == "blocked" for name, entry in old["concerns"].items() if name != "ipv6")
    assert "Windows Management Framework 5.1" in old["concerns"]["tls12"]["blockers"][0]
    assert report_of(tmp_path / "a.json")["hosts"]["new"]["status"] == "compliant"


def test_the_audit_says_what_a_host_without_powershell_51_lacks(fleet: Fleet, inventory: Path, tmp_path: Path) -> None:
    fleet.add("old", "win81-ps4")
    fleet.write_inventory(inventory)
    run = run_playbook(inventory, AUDIT, extra_vars={"m365ops_report_file": str(tmp_path / "a.json")})
    assert run.rc == 0, run.stdout[-3000:]
    prerequisites = report_of(tmp_path / "a.json")["hosts"]["old"]["prerequisites"]
    assert prerequisites["powershell"] == "4.0" and prerequisites["ready"] is False
    assert prerequisites["lacks"][:2] == [".NET Framework 4.5.2 or later (4.6.1 or later recommended)",
                                          "Windows Management Framework 5.1 (PowerShell 4.0 runs no Ansible module)"]
    assert "old (unknown OS): BLOCKED - lacks, in order: .NET Framework 4.5.2" in run.stdout


def test_the_audit_playbook_is_one_agent_execution_per_host(fleet: Fleet, inventory: Path, tmp_path: Path) -> None:
    names = ("win10-tls-hardened", "win10-ncsi-off", "win10-nla-disabled", "win10-proxy-site", "win11", "win7sp1", "ws2012")
    for name in names:
        fleet.add(name, name)
    fleet.write_inventory(inventory)
    run = run_playbook(inventory, AUDIT, extra_vars={"m365ops_report_file": str(tmp_path / "audit.json")})
    assert run.rc == 0, run.stdout[-3000:]
    # One execution per host; a second, read-only, where a proxy would be imported into WinHTTP: it is tested first (G24).
    audited = {name: executions(fleet, name) for name in names}
    assert audited == {name: 2 if name == "win10-proxy-site" else 1 for name in names}
    # Narrowed by tags, still one execution, reading only what that concern needs.
    tagged = run_playbook(inventory, AUDIT, "--tags", "ncsi", extra_vars={"m365ops_report_file": str(tmp_path / "ncsi.json")})
    report = report_of(tmp_path / "ncsi.json")
    assert tagged.rc == 0 and {name: executions(fleet, name) - audited[name] for name in names} == {name: 1 for name in names}
    assert {entry["concerns"]["tls12"]["status"] for entry in report["hosts"].values()} == {"not_selected"}
    assert report["hosts"]["win10-ncsi-off"]["concerns"]["ncsi"]["status"] == "blocked"


def set_host_vars(inventory: Path, host: str, **values: object) -> None:
    """Give ``host`` values of its own in the written inventory, as host_vars would."""
    document = json.loads(inventory.read_text(encoding="utf-8"))
    document["all"]["children"]["windows"]["hosts"][host].update(values)
    inventory.write_text(json.dumps(document), encoding="utf-8")


def test_an_ordinary_audit_runs_one_task_per_host_and_asks_the_rest_once(fleet: Fleet, inventory: Path, tmp_path: Path) -> None:
    # A task every host skips still costs the controller a worker process per host: the argument validation, findings
    # mode, the follow-ups and the final outcome are each evaluated on one host where no host needs them.
    names = ("win11", "win10-ncsi-off", "win10-tls-hardened", "win10-nla-disabled")
    for name in names:
        fleet.add(name, name)
    fleet.write_inventory(inventory)
    run = run_playbook(inventory, AUDIT, extra_vars={"m365ops_report_file": str(tmp_path / "audit.json")})
    assert run.rc == 0, run.stdout[-3000:]
    tasks = {name: {event["task"].rpartition(" : ")[2] for event in run.events if event["host"] == name} for name in names}
    first = next(name for name in names if "Fleet | Refuse misspelt variables of the collection" in tasks[name])
    assert "Fleet | End the hosts whose status or headline m365ops_fail_on names (unreachable ones as unreachable)" in tasks[first]
    assert {name: tasks[name] for name in names if name != first} == {name: {"Fleet | Activation concerns"} for name in names if name != first}


def test_a_host_that_sets_the_runs_choices_itself_is_still_decided_for_itself(fleet: Fleet, inventory: Path, tmp_path: Path) -> None:
    for name, profile in (("healthy", "win11"), ("own", "win10-tls-hardened"), ("default", "win10-tls-hardened")):
        fleet.add(name, profile)
    fleet.write_inventory(inventory)
    # Only this host fails the job where its audit finds drift: the others keep the default.
    set_host_vars(inventory, "own", m365ops_fail_on=["drift", "failed", "unreachable"])
    run = run_playbook(inventory, AUDIT, extra_vars={"m365ops_report_file": str(tmp_path / "audit.json")})
    report = report_of(tmp_path / "audit.json")
    assert report["hosts"]["own"]["status"] == "drift" and report["hosts"]["default"]["status"] == "drift"
    assert run.rc == 2 and {host for host, counts in run.stats.items() if counts.get("failures")} == {"own"}, run.stdout[-3000:]


SCHANNEL_SERVER = r"HKLM\SYSTEM\CurrentControlSet\Control\SecurityProviders\SCHANNEL\Protocols\TLS 1.2\Server"


def server_enabled(fleet: Fleet, names: tuple[str, ...]) -> dict[str, int]:
    """SCHANNEL's TLS 1.2 Server Enabled on each host: win10-tls-hardened has 0, the tls12 option server: true writes 1."""
    return {name: fleet.hosts[name].host.registry.read(SCHANNEL_SERVER, "64", ["Enabled"])["values"]["Enabled"]["value"] for name in names}


def test_a_host_that_gives_a_concerns_options_itself_is_given_them_and_no_other_host_is(fleet: Fleet, inventory: Path) -> None:
    # What win_activation is given is decided once for the play only where every host gives the role's variables, and
    # the separate role variables of earlier releases, the same values.
    names = ("legacy", "own", "default")
    for name in names:
        fleet.add(name, "win10-tls-hardened")
    fleet.write_inventory(inventory)
    set_host_vars(inventory, "legacy", tls12_server=True)
    run = run_playbook(inventory, REMEDIATE, "--tags", "tls12")
    assert run.rc == 0, run.stdout[-3000:]
    assert server_enabled(fleet, names) == {"legacy": 1, "own": 0, "default": 0}
    assert "tls12's options as separate role variables (tls12_server) are deprecated" in run.stdout + run.stderr

    fleet.write_inventory(inventory)
    set_host_vars(inventory, "own", m365ops_tls12={"server": True})
    assert run_playbook(inventory, REMEDIATE, "--tags", "tls12").rc == 0
    assert server_enabled(fleet, names) == {"legacy": 1, "own": 1, "default": 0}

    # Given to every host alike, the options reach every host from the one rendering.
    fleet.write_inventory(inventory)
    assert run_playbook(inventory, REMEDIATE, "--tags", "tls12", extra_vars={"m365ops_tls12": {"server": True}}).rc == 0
    assert server_enabled(fleet, names) == {"legacy": 1, "own": 1, "default": 1}


def test_an_option_the_play_gives_as_a_template_is_rendered_on_each_host(fleet: Fleet, inventory: Path, tmp_path: Path) -> None:
    # hostvars does not show the play's variables: a template there, the same text for every host, may render
    # differently on each, so each host renders what win_activation is given for itself.
    for name in ("own", "default"):
        fleet.add(name, "win10-tls-hardened")
    fleet.write_inventory(inventory)
    playbook = tmp_path / "per_host.yml"
    playbook.write_text("""
- name: Remediate with a TLS option that depends on the host
  hosts: windows
  gather_facts: false
  vars:
    m365ops_tls12:
      server: "{{ inventory_hostname == 'own' }}"
  roles:
    - m365ops.activation.fleet
""", encoding="utf-8")
    run = run_playbook(inventory, playbook, "--tags", "tls12")
    assert run.rc == 0, run.stdout[-3000:]
    assert server_enabled(fleet, ("own", "default")) == {"own": 1, "default": 0}


def test_a_value_one_host_gives_itself_is_validated_before_any_host_is_contacted(fleet: Fleet, inventory: Path) -> None:
    for name in ("pc1", "pc2", "pc3"):
        fleet.add(name, "win11")
    fleet.write_inventory(inventory)
    set_host_vars(inventory, "pc3", m365ops_concerns=["tls12", "tls13"])
    refused = run_playbook(inventory, AUDIT)
    assert refused.rc == 2 and "pc3" in refused.stdout and "tls13" in refused.stdout, refused.stdout[-3000:]
    set_host_vars(inventory, "pc3", m365ops_concerns=["tls12"], m365ops_reboot="sometimes")
    refused = run_playbook(inventory, REMEDIATE)
    assert refused.rc == 2 and "m365ops_reboot" in refused.stdout and "pc3" in refused.stdout, refused.stdout[-3000:]
    assert all(fleet.hosts[name].host.counters["requests"] == 0 for name in ("pc1", "pc2", "pc3"))


def test_report_paths_are_relative_to_the_current_directory_and_checked_before_any_host(fleet: Fleet, inventory: Path,
                                                                                        tmp_path: Path) -> None:
    fleet.add("pc", "win11")
    fleet.write_inventory(inventory)
    workdir = tmp_path / "work"
    workdir.mkdir()
    command = [str(Path(sys.executable).parent / "ansible-playbook"), "-i", str(inventory), str(AUDIT), "-e", "m365ops_report_file=audit.json"]
    completed = subprocess.run(command, cwd=workdir, env=ansible_env(), capture_output=True, text=True, timeout=300, check=False)
    assert completed.returncode == 0, completed.stdout[-2000:]
    assert report_of(workdir / "audit.json")["hosts"]["pc"]["status"] == "compliant"
    assert f"Report written to {workdir / 'audit.json'}" in completed.stdout
    assert not (ROOT / "playbooks" / "audit.json").exists()

    requests = fleet.hosts["pc"].host.counters["requests"]
    (workdir / "taken").mkdir()
    refused = run_playbook(inventory, REMEDIATE, extra_vars={"m365ops_report_file": str(workdir / "taken")})
    assert refused.rc == 2 and "it is a directory" in refused.stdout
    assert fleet.hosts["pc"].host.counters["requests"] == requests, "a host was contacted before the report path was checked"
    assert (workdir / "taken").is_dir() and list((workdir / "taken").iterdir()) == []


def test_a_concerns_options_are_one_variable_validated_by_its_spec(fleet: Fleet, inventory: Path) -> None:
    """m365ops_winhttp_proxy: {proxy: ...} does what the separate winhttp_proxy_proxy did, which still works for one
    release with a deprecation warning; a misspelt option is named with the nearest one before any host is contacted."""
    fleet.add("pc", "win10-stale-proxy")
    fleet.write_inventory(inventory)
    misspelt = run_playbook(inventory, REMEDIATE, extra_vars={"m365ops_winhttp_proxy": {"proxi": "proxy.branch.example:3128"}})
    assert misspelt.rc == 2 and "winhttp_proxy.proxi: not an option of the winhttp_proxy concern (did you mean winhttp_proxy.proxy?)" in misspelt.stdout
    not_a_mapping = run_playbook(inventory, REMEDIATE, extra_vars={"m365ops_tls12": "server"})
    assert not_a_mapping.rc == 2 and "m365ops_tls12" in not_a_mapping.stdout
    assert fleet.hosts["pc"].host.counters["requests"] == 0

    wanted = {"access_type": "named", "proxy": "proxy.branch.example:3128", "bypass": None}
    one = run_playbook(inventory, REMEDIATE, extra_vars={"m365ops_winhttp_proxy": {"proxy": "proxy.branch.example:3128"}})
    assert one.rc == 0 and winhttp_setting(fleet.hosts["pc"].host, "64") == wanted
    assert "deprecated" not in one.stderr.lower()
    legacy = run_playbook(inventory, REMEDIATE, extra_vars={"winhttp_proxy_proxy": "proxy.legacy.example:8080"})
    assert legacy.rc == 0 and winhttp_setting(fleet.hosts["pc"].host, "64")["proxy"] == "proxy.legacy.example:8080"
    assert "winhttp_proxy's options as separate role variables (winhttp_proxy_proxy) are deprecated" in " ".join((legacy.stdout + legacy.stderr).split())
    # Both given: the one variable wins.
    both = run_playbook(inventory, REMEDIATE, extra_vars={"winhttp_proxy_proxy": "proxy.legacy.example:8080",
                                                          "m365ops_winhttp_proxy": {"proxy": "proxy.branch.example:3128"}})
    assert both.rc == 0 and winhttp_setting(fleet.hosts["pc"].host, "64") == wanted


def test_a_host_whose_concern_failed_stops_before_the_ipv6_procedure_and_is_said_once(fleet: Fleet, inventory: Path, tmp_path: Path) -> None:
    """win_activation's failure is kept without printing its whole result: the host is stopped (no IPv6 off-retry-on on
    it), the report says why, and the host is failed once, at the end."""
    fleet.add("broken", "win11")
    fleet.add("healthy", "win11")
    deny_schannel_reads(fleet, "broken")
    fleet.write_inventory(inventory)
    report_file = tmp_path / "remediation.json"
    run = run_playbook(inventory, REMEDIATE, extra_vars={"m365ops_report_file": str(report_file),
                                                         "m365ops_concerns": ["tls12", "winhttp_proxy", "ipv6"]})
    assert run.rc == 2, run.stdout[-3000:]
    hosts = report_of(report_file)["hosts"]
    assert hosts["broken"]["concerns"]["tls12"]["status"] == "failed"
    assert hosts["broken"]["concerns"]["ipv6"] == {**hosts["broken"]["concerns"]["ipv6"], "status": "not_run"}
    assert "not run because tls12 failed" in hosts["broken"]["concerns"]["ipv6"]["message"]
    # On the other host the procedure ran, and gave its own answer (it refuses the management adapter by default).
    assert "refusing to turn IPv6 off on adapter 'Ethernet'" in hosts["healthy"]["concerns"]["ipv6"]["message"]
    said = [line for line in run.stdout.splitlines() if line.startswith("fatal: [broken]")]
    assert len(said) == 1 and said[0].startswith('fatal: [broken]: FAILED! => {"changed": false, "msg": "FAILED: tls12: ') and len(said[0]) < 1000
    assert run.stats["broken"]["failures"] == 1
