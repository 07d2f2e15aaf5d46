"""win_activation_facts over WinRM against winsim: everything activation depends on, in one read-only agent execution."""
from __future__ import annotations

import json
from pathlib import Path

from conftest import ROOT, run_playbook
from winsim.fleet import Fleet

TASK = ROOT / "tests" / "integration" / "playbooks" / "facts_task.yml"
TASK_NAME = "Run win_activation_facts"
AGENT = "ansible_collections.m365ops.activation.plugins.modules.win_agent"


def test_facts_are_one_read_only_execution_and_say_what_each_concern_sees(fleet: Fleet, inventory: Path) -> None:
    for name in ("win10-ncsi-off", "win10-office-shared", "ws2022", "win7sp1-nokb"):
        fleet.add(name, name)
    fleet.write_inventory(inventory)
    before = {name: json.dumps(entry.host.state, sort_keys=True) for name, entry in fleet.hosts.items()}
    run = run_playbook(inventory, TASK)
    assert run.rc == 0 and run.changed_hosts() == set()
    assert {name: entry.host.counters["executions"] for name, entry in fleet.hosts.items()} == {name: {AGENT: 1} for name in before}
    assert {name: json.dumps(entry.host.state, sort_keys=True) for name, entry in fleet.hosts.items()} == before

    facts = {name: run.result(name, TASK_NAME)["ansible_facts"]["m365ops_activation"] for name in before}
    ncsi = facts["win10-ncsi-off"]["concerns"]["ncsi"]
    assert ncsi["status"] == "blocked" and ncsi["facts"]["policy_source"]["source"] == "domain_gpo"
    assert any("EnableActiveProbing" in reason for reason in ncsi["would_change"])
    assert facts["win10-ncsi-off"]["click_to_run"] == {
        "installed": True, "version": "16.0.17928.20156", "platform": "x64", "products": ["O365ProPlusRetail"], "channel": "Current",
        "channel_source": "CDNBaseUrl", "update_url": "http://officecdn.microsoft.com/pr/492350f6-3a01-4f97-b9c0-c7c6ddf67d60",
        "shared_computer_activation": False, "token_folder": None, "update_target": None, "updates_off": [], "updates_managed_by_configmgr": False}
    shared = facts["win10-office-shared"]["click_to_run"]
    assert shared["shared_computer_activation"] is True and shared["channel"] == "Monthly Enterprise"
    assert shared["channel_source"] == "policy UpdatePath"
    assert facts["ws2022"]["click_to_run"] == {"installed": False} and facts["ws2022"]["status"] == "compliant"
    ethernet = facts["win10-ncsi-off"]["network_adapters"]["adapters"][0]
    assert ethernet["name"] == "Ethernet" and ethernet["ipv6_bound"] is True and facts["win10-ncsi-off"]["network_adapters"]["bindings_known"]
    assert facts["win7sp1-nokb"]["network_adapters"]["bindings_known"] is False
    assert {adapter["ipv6_bound"] for adapter in facts["win7sp1-nokb"]["network_adapters"]["adapters"]} == {None}
    legacy = facts["win7sp1-nokb"]
    assert legacy["os"]["name"] == "Windows 7 SP1" and legacy["concerns"]["tls12"]["status"] == "blocked"
    assert "KB3140245" not in legacy["hotfixes"]
    # Who is signed in, the update history and WinRM's quotas come with the same execution.
    alice = {"user": "CORP\\alice", "sid": "S-1-5-21-1004336348-1177238915-682003330-1104", "session_ids": [1]}
    assert facts["win10-ncsi-off"]["signed_in_users"] == {"users": [alice], "count": 1}
    assert facts["ws2022"]["signed_in_users"] == {"users": [], "count": 0}
    assert facts["ws2022"]["windows_update"]["days_since_last_install"] == 12
    assert facts["ws2022"]["winrm_quotas"]["low"] == [] and facts["ws2022"]["winrm_quotas"]["values"]["MaxEnvelopeSizekb"] == 500


def test_misspelt_concern_options_are_refused_before_contact(fleet: Fleet, inventory: Path) -> None:
    fleet.add("pc", "win10")
    fleet.write_inventory(inventory)
    run = run_playbook(inventory, TASK, extra_vars={"facts_winhttp_proxy": {"proxie": "proxy.corp.example:8080"}})
    assert run.rc == 2 and "winhttp_proxy.proxie" in run.result("pc", TASK_NAME)["msg"]
    assert fleet.hosts["pc"].host.counters["requests"] == 0
