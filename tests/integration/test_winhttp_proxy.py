"""win_winhttp_proxy over WinRM against winsim: safe default, both registry views, explicit states, restore, bad input."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from conftest import ROOT, run_playbook
from winsim.agent import winhttp_setting
from winsim.fleet import Fleet

TASK = ROOT / "tests" / "integration" / "playbooks" / "proxy_task.yml"
RESTORE = ROOT / "playbooks" / "restore.yml"
AUDIT = ROOT / "playbooks" / "audit.yml"
REMEDIATE = ROOT / "playbooks" / "remediate.yml"
TASK_NAME = "Run win_winhttp_proxy"
SITE = {"access_type": "named", "proxy": "proxy.corp.example:8080", "bypass": "*.corp.example;<local>"}
DIRECT = {"access_type": "direct", "proxy": None, "bypass": None}


def views(fleet: Fleet, host: str) -> tuple[dict, dict]:
    """What a 64-bit and a 32-bit WinHTTP client of the host would use."""
    return winhttp_setting(fleet.hosts[host].host, "64"), winhttp_setting(fleet.hosts[host].host, "32")


def test_named_proxy_then_the_same_in_other_spelling_changes_nothing(fleet: Fleet, inventory: Path) -> None:
    fleet.add("pc", "win10")
    fleet.write_inventory(inventory)
    first = run_playbook(inventory, TASK, extra_vars={"proxy_value": "Proxy.Corp.Example:8080", "proxy_bypass": ["<local>", "*.corp.example"]})
    assert first.rc == 0 and first.changed_hosts() == {"pc"}
    wanted = {"access_type": "named", "proxy": "proxy.corp.example:8080", "bypass": "<local>;*.corp.example"}
    assert views(fleet, "pc") == (wanted, wanted)
    again = run_playbook(inventory, TASK, extra_vars={"proxy_value": " proxy.corp.example:8080 ", "proxy_bypass": ["*.CORP.example", "<local>"]})
    assert again.changed_hosts() == set()
    assert again.result("pc", TASK_NAME)["winhttp"]["registry_blobs"]["32"]["named_proxy"] is True


def test_explicit_direct_replaces_a_stale_proxy_and_restore_brings_both_views_back(fleet: Fleet, inventory: Path, tmp_path: Path) -> None:
    fleet.add("pc", "win10-stale-proxy")
    fleet.write_inventory(inventory)
    original = views(fleet, "pc")
    check = run_playbook(inventory, TASK, "--check", "--diff", extra_vars={"proxy_direct": True})
    assert check.changed_hosts() == {"pc"} and views(fleet, "pc") == original
    assert "-proxy old-proxy.corp.example:3128, bypass <local>" in check.stdout and "+direct access (no proxy)" in check.stdout
    run = run_playbook(inventory, TASK, extra_vars={"proxy_direct": True, "proxy_backup_dir": str(tmp_path / "backups")})
    assert run.rc == 0 and views(fleet, "pc") == (DIRECT, DIRECT)
    restored = run_playbook(inventory, RESTORE, extra_vars={"m365ops_backup_dir": str(tmp_path / "backups")})
    assert restored.rc == 0 and views(fleet, "pc") == original
    assert run_playbook(inventory, RESTORE, extra_vars={"m365ops_backup_dir": str(tmp_path / "backups")}).changed_hosts() == set()


def test_fleet_audit_and_default_remediation_keep_every_configured_proxy_that_answers(fleet: Fleet, inventory: Path, tmp_path: Path) -> None:
    """The issue's fleet: a proxy-only site, a site whose proxy is right, a stale one, a PAC site, a healthy host. The
    stale proxy does not answer and every other source goes direct, which works: it alone is replaced (review G25)."""
    for name in ("win10-proxy-site", "win10-proxy-right", "win10-stale-proxy", "win10-proxy-pac", "win11"):
        fleet.add(name, name)
    fleet.write_inventory(inventory)
    originals = {name: views(fleet, name) for name in fleet.hosts}
    audit = run_playbook(inventory, AUDIT, "--tags", "winhttp_proxy", extra_vars={"m365ops_report_file": str(tmp_path / "audit.json")})
    assert audit.rc == 0, audit.stdout[-3000:]
    hosts = json.loads((tmp_path / "audit.json").read_text(encoding="utf-8"))["hosts"]
    assert {name: entry["status"] for name, entry in hosts.items()} == {
        "win10-proxy-site": "drift", "win10-proxy-right": "compliant", "win10-stale-proxy": "drift", "win10-proxy-pac": "drift",
        "win11": "compliant"}
    # The WinINet evidence is in the report: whose settings, and what they name.
    assert any("CORP\\alice" in change and "proxy.corp.example:8080" in change
               for change in hosts["win10-proxy-site"]["concerns"]["winhttp_proxy"]["changes"])

    remediate = run_playbook(inventory, REMEDIATE, "--tags", "winhttp_proxy", extra_vars={"m365ops_report_file": str(tmp_path / "r.json")})
    assert remediate.rc == 0, remediate.stdout[-3000:]
    assert views(fleet, "win10-proxy-site") == (SITE, SITE)
    for name in ("win10-proxy-right", "win10-proxy-pac", "win11"):
        assert views(fleet, name) == originals[name], f"{name}: a default run changed a configured WinHTTP proxy"
    assert views(fleet, "win10-stale-proxy") == (DIRECT, DIRECT)
    after = json.loads((tmp_path / "r.json").read_text(encoding="utf-8"))["hosts"]
    assert after["win10-proxy-site"]["status"] == "remediated" and after["win10-stale-proxy"]["status"] == "remediated"

    explicit = run_playbook(inventory, REMEDIATE, "--tags", "winhttp_proxy",
                            extra_vars={"winhttp_proxy_proxy": "proxy.corp.example:8080", "winhttp_proxy_bypass": ["*.corp.example", "<local>"]})
    assert explicit.rc == 0
    assert all(views(fleet, name) == (SITE, SITE) for name in fleet.hosts)
    assert run_playbook(inventory, REMEDIATE, "--tags", "winhttp_proxy",
                        extra_vars={"winhttp_proxy_proxy": "proxy.corp.example:8080",
                                    "winhttp_proxy_bypass": ["*.corp.example", "<local>"]}).changed_hosts() == set()


@pytest.mark.parametrize(("extra_vars", "needle"), [
    ({"proxy_value": "proxy.corp.example:99999"}, "port 99999"),
    ({"proxy_value": "proxy.corp.example:123456"}, "is not host:port"),
    ({"proxy_value": "proxy.corp.example:70000"}, "port 70000"),
    ({"proxy_value": "gopher=proxy:70"}, "scheme"),
    ({"proxy_value": "evil\n:8080"}, "is not a host name label"),
    ({"proxy_value": "  "}, "proxy: blank"),
    ({"proxy_bypass": ["<local>"]}, "only meaningful with proxy"),
    ({"proxy_source": "wininet", "proxy_value": "p:80"}, "source"),
])
def test_bad_input_fails_before_the_host_is_contacted(fleet: Fleet, inventory: Path, extra_vars: dict, needle: str) -> None:
    fleet.add("pc", "win10")
    fleet.write_inventory(inventory)
    run = run_playbook(inventory, TASK, extra_vars=extra_vars)
    assert run.rc == 2 and needle in run.result("pc", TASK_NAME)["msg"], json.dumps(run.result("pc", TASK_NAME))[:500]
    assert fleet.hosts["pc"].host.counters["requests"] == 0


def test_role_default_with_a_blank_proxy_variable_never_means_direct(fleet: Fleet, inventory: Path) -> None:
    fleet.add("pc", "win10-proxy-right")
    fleet.write_inventory(inventory)
    before = views(fleet, "pc")
    blank = run_playbook(inventory, REMEDIATE, "--tags", "winhttp_proxy", extra_vars={"winhttp_proxy_proxy": ""})
    assert blank.rc == 0 and views(fleet, "pc") == before
    spaces = run_playbook(inventory, REMEDIATE, "--tags", "winhttp_proxy", extra_vars={"winhttp_proxy_proxy": "   "})
    assert spaces.rc == 2 and "proxy: blank" in spaces.stdout and views(fleet, "pc") == before
