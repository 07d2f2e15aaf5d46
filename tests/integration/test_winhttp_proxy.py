"""win_winhttp_proxy over WinRM against winsim: set, semantic idempotence, import from IE, restore, bad input."""
from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest

from conftest import ROOT, run_playbook
from winsim.fleet import Fleet

TASK = ROOT / "tests" / "integration" / "playbooks" / "proxy_task.yml"
RESTORE = ROOT / "playbooks" / "restore.yml"
TASK_NAME = "Run win_winhttp_proxy"
CONNECTIONS = r"HKLM\SOFTWARE\Microsoft\Windows\CurrentVersion\Internet Settings\Connections"


def proxy(fleet: Fleet, host: str) -> dict:
    return fleet.hosts[host].host.state["winhttp_proxy"]


def test_named_proxy_then_the_same_in_other_spelling_changes_nothing(fleet: Fleet, inventory: Path) -> None:
    fleet.add("pc", "win10")
    fleet.write_inventory(inventory)
    first = run_playbook(inventory, TASK, extra_vars={"proxy_value": "Proxy.Corp.Example:8080", "proxy_bypass": ["<local>", "*.corp.example"]})
    assert first.rc == 0 and first.changed_hosts() == {"pc"}
    assert proxy(fleet, "pc") == {"access_type": "named", "proxy": "proxy.corp.example:8080", "bypass": "<local>;*.corp.example"}
    blob = fleet.hosts["pc"].host.registry.read(CONNECTIONS, "64", ["WinHttpSettings"])["values"]["WinHttpSettings"]["value"]
    assert b"proxy.corp.example:8080" in base64.b64decode(blob)
    again = run_playbook(inventory, TASK, extra_vars={"proxy_value": " proxy.corp.example:8080 ", "proxy_bypass": ["*.CORP.example", "<local>"]})
    assert again.changed_hosts() == set()
    assert again.result("pc", TASK_NAME)["winhttp"]["registry_blob"]["named_proxy"] is True


def test_stale_proxy_goes_back_to_direct_and_restore_brings_it_back(fleet: Fleet, inventory: Path, tmp_path: Path) -> None:
    fleet.add("pc", "win10-stale-proxy")
    fleet.write_inventory(inventory)
    original = dict(proxy(fleet, "pc"))
    check = run_playbook(inventory, TASK, "--check", "--diff")
    assert check.changed_hosts() == {"pc"} and proxy(fleet, "pc") == original
    assert "-proxy old-proxy.corp.example:3128, bypass <local>" in check.stdout and "+direct access (no proxy)" in check.stdout
    run = run_playbook(inventory, TASK, extra_vars={"proxy_backup_dir": str(tmp_path / "backups")})
    assert run.rc == 0 and proxy(fleet, "pc") == {"access_type": "direct", "proxy": None, "bypass": None}
    restored = run_playbook(inventory, RESTORE, extra_vars={"m365ops_backup_dir": str(tmp_path / "backups")})
    assert restored.rc == 0 and proxy(fleet, "pc") == original
    assert run_playbook(inventory, RESTORE, extra_vars={"m365ops_backup_dir": str(tmp_path / "backups")}).changed_hosts() == set()


def test_import_from_the_users_internet_settings(fleet: Fleet, inventory: Path) -> None:
    fleet.add("site", "win10-proxy-site")
    fleet.write_inventory(inventory)
    run = run_playbook(inventory, TASK, extra_vars={"proxy_source": "ie"})
    assert run.rc == 0
    assert proxy(fleet, "site") == {"access_type": "named", "proxy": "proxy.corp.example:8080", "bypass": "*.corp.example;<local>"}
    assert run_playbook(inventory, TASK, extra_vars={"proxy_source": "ie"}).changed_hosts() == set()


@pytest.mark.parametrize(("extra_vars", "needle"), [
    ({"proxy_value": "proxy.corp.example:99999"}, "port 99999"),
    ({"proxy_value": "gopher=proxy:70"}, "scheme"),
    ({"proxy_bypass": ["<local>"]}, "only meaningful with proxy"),
    ({"proxy_source": "ie", "proxy_value": "p:80"}, "source"),
])
def test_bad_input_fails_before_the_host_is_contacted(fleet: Fleet, inventory: Path, extra_vars: dict, needle: str) -> None:
    fleet.add("pc", "win10")
    fleet.write_inventory(inventory)
    run = run_playbook(inventory, TASK, extra_vars=extra_vars)
    assert run.rc == 2 and needle in run.result("pc", TASK_NAME)["msg"], json.dumps(run.result("pc", TASK_NAME))[:500]
    assert fleet.hosts["pc"].host.counters["requests"] == 0
