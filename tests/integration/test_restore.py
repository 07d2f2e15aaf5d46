"""Remediate with backups, restore, and compare every host's registry with the original, over WinRM."""
from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from conftest import ROOT, run_playbook
from winsim.agent import winhttp_setting
from winsim.fleet import Fleet
from winsim.profiles import PROFILES, _proxy_site

REMEDIATE = ROOT / "playbooks" / "remediate.yml"
RESTORE = ROOT / "playbooks" / "restore.yml"
RESTORE_TASK = "Restore | Reapply the values from before the recorded changes"
# A Winsock reset removes the LSP or the dangling provider for good: it is an action, not a value, and restore does
# not bring them back. The hosts whose catalog the remediation resets are left out of the exact comparison.
WINSOCK_RESET = ("win10-lsp", "ws2022-static-ip", "win10-static-ipv6", "win10-ghost-static", "win10-provider-missing")
PROFILE_NAMES = sorted(name for name in PROFILES if name not in ("win7-rtm", "win10-eventlog-broken", *WINSOCK_RESET))


def registry_without_winhttp_counter(registry: dict) -> dict:
    """The registry, minus the WinHttpSettings blobs of both views: Windows bumps their change counter on every proxy
    write, so a restored proxy is equal through the API (compared separately) but never byte-equal in the blob. Minus, too,
    the collection's own memory of reboots owed (HKLM\\SOFTWARE\\m365ops): a restored TLS value needs a restart as
    much as the change did, and that memory is kept on purpose (asserted separately)."""
    copied = copy.deepcopy(registry)
    connections = copied["HKLM"]["keys"]["SOFTWARE"]["keys"]["Microsoft"]["keys"]["Windows"]["keys"]["CurrentVersion"][
        "keys"]["Internet Settings"]["keys"]["Connections"]
    connections["values"].pop("WinHttpSettings", None)
    wow = copied["HKLM"]["keys"]["SOFTWARE"]["keys"].get("Wow6432Node", {"keys": {}})["keys"].get("Microsoft", {"keys": {}})
    wow_settings = wow["keys"].get("Windows", {"keys": {}})["keys"].get("CurrentVersion", {"keys": {}})["keys"].get("Internet Settings")
    if wow_settings and "Connections" in wow_settings["keys"]:
        wow_settings["keys"]["Connections"]["values"].pop("WinHttpSettings", None)
    copied["HKLM"]["keys"]["SOFTWARE"]["keys"].pop("m365ops", None)
    return copied


def fleet_of(fleet: Fleet, inventory: Path, profiles: tuple | list) -> tuple[dict, dict, dict]:
    """One host per profile; each host's registry (as compared), WinHTTP proxy of both views, and services, before any run."""
    for profile in profiles:
        fleet.add(profile, profile)
    fleet.write_inventory(inventory)
    hosts = fleet.hosts.items()
    return ({name: registry_without_winhttp_counter(entry.host.state["registry"]) for name, entry in hosts},
            {name: (winhttp_setting(entry.host, "64"), winhttp_setting(entry.host, "32")) for name, entry in hosts},
            {name: copy.deepcopy(entry.host.state["services"]) for name, entry in hosts})


def test_restore_returns_every_registry_to_the_original(fleet: Fleet, inventory: Path, tmp_path: Path) -> None:
    originals, original_proxies, original_services = fleet_of(fleet, inventory, PROFILE_NAMES)
    backups = tmp_path / "backups"

    remediate = run_playbook(inventory, REMEDIATE, extra_vars={"m365ops_backup_dir": str(backups)})
    assert remediate.rc == 0
    changed = remediate.changed_hosts() - {"localhost"}
    assert "win10-nla-disabled" in changed

    check = run_playbook(inventory, RESTORE, "--check", extra_vars={"m365ops_backup_dir": str(backups)})
    assert check.rc == 0 and check.changed_hosts() == changed

    restore = run_playbook(inventory, RESTORE, extra_vars={"m365ops_backup_dir": str(backups)})
    assert restore.rc == 0 and restore.changed_hosts() == changed
    for name, entry in fleet.hosts.items():
        assert registry_without_winhttp_counter(entry.host.state["registry"]) == originals[name], f"{name}: registry differs"
        assert (winhttp_setting(entry.host, "64"), winhttp_setting(entry.host, "32")) == original_proxies[name], f"{name}: WinHTTP proxy differs"
        assert entry.host.state["services"] == original_services[name], f"{name} differs from its original services"
    legacy = restore.result("win7sp1", RESTORE_TASK)
    assert any(change["before"] == "(key)" for change in legacy["changes"]), "the created TLS 1.2 key is removed"
    assert legacy["reboot_required"] is True
    # The restart the restored TLS values need is remembered on the host until it reboots.
    assert fleet.hosts["win7sp1"].host.registry.read(r"HKLM\SOFTWARE\m365ops\activation\RebootRequired", "64", None)["values"]

    again = run_playbook(inventory, RESTORE, extra_vars={"m365ops_backup_dir": str(backups)})
    assert again.rc == 0 and again.changed_hosts() == set()


def test_restore_after_two_remediations_goes_back_to_before_the_first(fleet: Fleet, inventory: Path, tmp_path: Path) -> None:
    fleet.add("pc", "win10-tls-hardened")
    fleet.write_inventory(inventory)
    original = copy.deepcopy(fleet.hosts["pc"].host.state["registry"])
    backups = tmp_path / "backups"
    assert run_playbook(inventory, REMEDIATE, extra_vars={"m365ops_backup_dir": str(backups)}).rc == 0
    # Someone breaks it again; the second remediation records the broken value as its "before".
    fleet.hosts["pc"].host.registry.write(
        r"HKLM\SYSTEM\CurrentControlSet\Control\SecurityProviders\SCHANNEL\Protocols\TLS 1.2\Client", "64", "Enabled", "dword", 0, True)
    assert run_playbook(inventory, REMEDIATE, extra_vars={"m365ops_backup_dir": str(backups)}).rc == 0
    assert len(list((backups / "pc").glob("*.json"))) == 2
    assert run_playbook(inventory, RESTORE, extra_vars={"m365ops_backup_dir": str(backups)}).rc == 0
    assert registry_without_winhttp_counter(fleet.hosts["pc"].host.state["registry"]) == registry_without_winhttp_counter(original)


# A remediation's changes of each kind: TLS values and a created key, services, NCSI; and the WinHTTP proxy on each.
FROM_HOST = ("win7sp1", "win10-nla-disabled", "win10-ncsi-off", "win10-tls-hardened")


def test_restore_from_the_hosts_journal_when_the_controller_kept_nothing(fleet: Fleet, inventory: Path) -> None:
    """As after an AWX job: the remediation ran with no backup directory (its container is gone); restore takes the
    records from each host's own journal, says so, and every host is as it was."""
    originals, original_proxies, original_services = fleet_of(fleet, inventory, FROM_HOST)
    remediate = run_playbook(inventory, REMEDIATE, extra_vars={"m365ops_winhttp_proxy": {"proxy": "proxy.branch.example:3128"}})
    assert remediate.rc == 0
    changed = remediate.changed_hosts() - {"localhost"}
    assert changed == set(FROM_HOST)
    assert all(winhttp_setting(entry.host, "64") != original_proxies[name][0] for name, entry in fleet.hosts.items())

    check = run_playbook(inventory, RESTORE, "--check")
    assert check.rc == 0 and check.changed_hosts() == changed
    restore = run_playbook(inventory, RESTORE)
    assert restore.rc == 0 and restore.changed_hosts() == changed, restore.stdout[-3000:]
    for name, entry in fleet.hosts.items():
        result = restore.result(name, RESTORE_TASK)
        assert result["restore"]["source"] == "host"
        assert result["restore"]["documents"][0].startswith("HKLM\\SOFTWARE\\m365ops\\activation\\History\\")
        assert any("no backups directory was given" in warning and "journal" in warning for warning in result["warnings"])
        assert registry_without_winhttp_counter(entry.host.state["registry"]) == originals[name], f"{name}: registry differs"
        assert (winhttp_setting(entry.host, "64"), winhttp_setting(entry.host, "32")) == original_proxies[name], f"{name}: proxy differs"
        assert entry.host.state["services"] == original_services[name], f"{name}: services differ"
    # Restore's own entries are not changes to undo: a second restore changes nothing.
    again = run_playbook(inventory, RESTORE, extra_vars={"m365ops_restore_source": "host"})
    assert again.rc == 0 and again.changed_hosts() == set()


@pytest.mark.parametrize("source", ["controller", "hots"])
def test_a_source_that_cannot_be_read_fails_before_contact(fleet: Fleet, inventory: Path, source: str) -> None:
    fleet.add("pc", "win11")
    fleet.write_inventory(inventory)
    run = run_playbook(inventory, RESTORE, extra_vars={"m365ops_restore_source": source})
    assert run.rc == 2 and "m365ops_backup_dir" in run.stdout and f"it is {source}" in run.stdout
    assert fleet.hosts["pc"].host.counters["requests"] == 0


def test_a_host_with_an_empty_journal_is_nothing_to_restore(fleet: Fleet, inventory: Path, tmp_path: Path) -> None:
    fleet.add("pc", "win10-tls-hardened")
    fleet.write_inventory(inventory)
    # The backup directory holds nothing of this host: auto falls back to the host's journal, which is empty too.
    (tmp_path / "backups").mkdir()
    run = run_playbook(inventory, RESTORE, extra_vars={"m365ops_backup_dir": str(tmp_path / "backups")})
    assert run.rc == 0
    result = run.result("pc", RESTORE_TASK)
    assert result["status"] == "nothing_to_restore" and result["changed"] is False
    assert any("no backup record of pc is under" in warning for warning in result["warnings"])


def test_a_tampered_backup_record_is_refused_before_the_host_is_contacted(fleet: Fleet, inventory: Path, tmp_path: Path) -> None:
    fleet.add("pc", "win10")
    fleet.write_inventory(inventory)
    backups = tmp_path / "backups"
    (backups / "pc").mkdir(parents=True)
    tampered = {"format": 1, "host": "pc", "module": "m365ops.activation.win_tls12", "created": "2026-11-02T00:00:00.000000Z",
                "records": [{"kind": "registry", "key": r"HKLM\SOFTWARE\Microsoft\Windows\CurrentVersion\Run", "view": "64",
                             "name": "Updater", "before": {"type": "string", "value": r"C:\Users\Public\evil.exe"}, "created_key": None}]}
    (backups / "pc" / "20261102T000000.000000Z_m365ops.activation.win_tls12.json").write_text(json.dumps(tampered), encoding="utf-8")
    run = run_playbook(inventory, RESTORE, extra_vars={"m365ops_backup_dir": str(backups)})
    assert run.rc == 2 and "record #0: it carries no signature" in run.stdout
    # Trusting unsigned records (as written before records were signed) still applies the forward rules.
    trusted = run_playbook(inventory, RESTORE, extra_vars={"m365ops_backup_dir": str(backups), "m365ops_restore_trust_unsigned": True})
    assert trusted.rc == 2 and "is not a value any concern of m365ops.activation manages" in trusted.stdout
    assert fleet.hosts["pc"].host.counters["requests"] == 0
    assert fleet.hosts["pc"].host.registry.read(r"HKLM\SOFTWARE\Microsoft\Windows\CurrentVersion\Run", "64", None)["values"] == {}


def test_an_edited_record_of_a_real_run_is_refused_naming_file_and_record(fleet: Fleet, inventory: Path, tmp_path: Path) -> None:
    """The remediation's own record, its "before" edited to a value the forward rules would allow: the signature refuses it."""
    fleet.add("pc", "win10-tls-hardened")
    fleet.write_inventory(inventory)
    backups = tmp_path / "backups"
    assert run_playbook(inventory, REMEDIATE, extra_vars={"m365ops_backup_dir": str(backups)}).rc == 0
    path, = (backups / "pc").glob("*.json")
    document = json.loads(path.read_text(encoding="utf-8"))
    assert document["records"][1]["before"] != {"type": "dword", "value": 5}
    document["records"][1]["before"] = {"type": "dword", "value": 5}
    path.write_text(json.dumps(document), encoding="utf-8")
    after_remediation = json.dumps(fleet.hosts["pc"].host.state["registry"], sort_keys=True)
    requests = fleet.hosts["pc"].host.counters["requests"]
    run = run_playbook(inventory, RESTORE, extra_vars={"m365ops_backup_dir": str(backups)})
    assert run.rc == 2 and f"{path} record #1: its signature does not match its content" in run.stdout
    assert fleet.hosts["pc"].host.counters["requests"] == requests
    assert json.dumps(fleet.hosts["pc"].host.state["registry"], sort_keys=True) == after_remediation


def test_restore_answers_to_tags_and_says_what_it_put_back(fleet: Fleet, inventory: Path, tmp_path: Path) -> None:
    host = fleet.add("pc", "win10-tls-hardened")
    _proxy_site(host.state)
    host.save()
    fleet.write_inventory(inventory)
    original = copy.deepcopy(host.state["registry"])
    backups = tmp_path / "backups"
    assert run_playbook(inventory, REMEDIATE, extra_vars={"m365ops_backup_dir": str(backups)}).rc == 0
    imported = winhttp_setting(host, "64")
    assert imported["access_type"] == "named"
    tls = r"HKLM\SYSTEM\CurrentControlSet\Control\SecurityProviders\SCHANNEL\Protocols\TLS 1.2\Client"
    requests = host.counters["requests"]
    nothing = run_playbook(inventory, RESTORE, "--tags", "office_update", extra_vars={"m365ops_backup_dir": str(backups)})
    assert nothing.rc == 2 and "whose changes can be put back (not office_credentials or office_update)" in nothing.stdout
    assert host.counters["requests"] == requests, "refused before any host is contacted"
    others = run_playbook(inventory, RESTORE, "--skip-tags", "tls12", extra_vars={"m365ops_backup_dir": str(backups)})
    assert others.rc == 0, others.stdout[-3000:]
    assert winhttp_setting(host, "64")["access_type"] == "direct", "--skip-tags tls12 restores the other concerns"
    assert host.registry.read(tls, "64", ["Enabled"])["values"] == {"Enabled": {"type": "dword", "value": 1}}, "and not TLS"
    run = run_playbook(inventory, RESTORE, "--tags", "tls12", extra_vars={"m365ops_backup_dir": str(backups)})
    assert run.rc == 0 and "restore: RESTORED [restart owed" in run.stdout
    assert host.registry.read(tls, "64", ["Enabled"])["values"] == {"Enabled": {"type": "dword", "value": 0}}
    assert registry_without_winhttp_counter(host.state["registry"]) == registry_without_winhttp_counter(original)


SCHANNEL_CLIENT = r"HKLM\SYSTEM\CurrentControlSet\Control\SecurityProviders\SCHANNEL\Protocols\TLS 1.2\Client"
WINHTTP_KEY = r"HKLM\SOFTWARE\Microsoft\Windows\CurrentVersion\Internet Settings\WinHttp"


def value_of(fleet: Fleet, host: str, key: str, name: str):
    found = fleet.hosts[host].host.registry.read(key, "64", [name])["values"].get(name)
    return None if found is None else found["value"]


def test_restore_never_overwrites_a_value_someone_changed_since(fleet: Fleet, inventory: Path, tmp_path: Path) -> None:
    host = fleet.add("pc", "win10-tls-hardened")
    fleet.write_inventory(inventory)
    original = registry_without_winhttp_counter(host.state["registry"])
    backups = {"m365ops_backup_dir": str(tmp_path / "backups")}
    assert run_playbook(inventory, REMEDIATE, extra_vars=backups).rc == 0
    # An administrator sets a newer SCHANNEL value after the remediation.
    host.registry.write(SCHANNEL_CLIENT, "64", "Enabled", "dword", 7, True)
    host.save()

    check = run_playbook(inventory, RESTORE, "--check", "--diff", extra_vars=backups)
    predicted = check.result("pc", RESTORE_TASK)
    assert predicted["status"] == "drift" and [item["target"] for item in predicted["restore"]["conflicts"]] == [SCHANNEL_CLIENT + "\\Enabled"]
    assert "Enabled" not in predicted["diff"]["after"] and "DisabledByDefault" in predicted["diff"]["after"]

    kept = run_playbook(inventory, RESTORE, extra_vars=backups)
    assert kept.rc == 0 and "restore: CONFLICT" in kept.stdout
    assert value_of(fleet, "pc", SCHANNEL_CLIENT, "Enabled") == 7
    assert value_of(fleet, "pc", SCHANNEL_CLIENT, "DisabledByDefault") == 1, "the values nobody touched are put back"

    forced = run_playbook(inventory, RESTORE, extra_vars={**backups, "m365ops_restore_on_conflict": "restore"})
    assert forced.rc == 0 and "restore: RESTORED" in forced.stdout
    assert registry_without_winhttp_counter(host.state["registry"]) == original


def test_restore_after_remediate_restore_change_remediate_brings_back_the_persons_value(fleet: Fleet, inventory: Path, tmp_path: Path) -> None:
    host = fleet.add("pc", "win10-tls-hardened")
    fleet.write_inventory(inventory)
    backups = {"m365ops_backup_dir": str(tmp_path / "backups")}
    assert run_playbook(inventory, REMEDIATE, extra_vars=backups).rc == 0
    assert run_playbook(inventory, RESTORE, extra_vars=backups).rc == 0
    assert value_of(fleet, "pc", WINHTTP_KEY, "DefaultSecureProtocols") == 0x280
    host.registry.write(WINHTTP_KEY, "64", "DefaultSecureProtocols", "dword", 0x2A0, True)
    host.save()
    assert run_playbook(inventory, REMEDIATE, extra_vars=backups).rc == 0
    assert value_of(fleet, "pc", WINHTTP_KEY, "DefaultSecureProtocols") == 0xAA0
    again = run_playbook(inventory, RESTORE, extra_vars=backups)
    assert again.rc == 0 and "restore: RESTORED" in again.stdout
    assert value_of(fleet, "pc", WINHTTP_KEY, "DefaultSecureProtocols") == 0x2A0, "the person's value, not the one from before the first run"
    assert value_of(fleet, "pc", SCHANNEL_CLIENT, "Enabled") == 0
    third = run_playbook(inventory, RESTORE, extra_vars=backups)
    assert third.changed_hosts() == set() and "restore: NOTHING LEFT TO RESTORE" in third.stdout


def test_a_host_with_no_records_is_nothing_to_restore(fleet: Fleet, inventory: Path, tmp_path: Path) -> None:
    fleet.add("pc", "win10-tls-hardened")
    fleet.write_inventory(inventory)
    (tmp_path / "backups").mkdir()
    run = run_playbook(inventory, RESTORE, extra_vars={"m365ops_backup_dir": str(tmp_path / "backups")})
    assert run.rc == 0 and run.result("pc", RESTORE_TASK)["status"] == "nothing_to_restore"
    assert "restore: NOTHING TO RESTORE" in run.stdout and "COMPLIANT" not in run.stdout


def test_restore_writes_a_report_and_ends_the_hosts_it_could_not_reach_unreachable(fleet: Fleet, inventory: Path, tmp_path: Path) -> None:
    fleet.add("pc", "win10-tls-hardened")
    fleet.add("empty", "win11")
    fleet.add("down", "win11")
    fleet.write_inventory(inventory)
    backups = {"m365ops_backup_dir": str(tmp_path / "backups")}
    assert run_playbook(inventory, REMEDIATE, extra_vars=backups).rc == 0
    fleet.take_offline("down")
    report = tmp_path / "restore.json"
    run = run_playbook(inventory, RESTORE, extra_vars={**backups, "m365ops_report_file": str(report)})
    assert run.rc == 4, "the host that could not be reached ends the run unreachable, after the report"
    assert (run.stats["down"]["unreachable"], run.stats["down"]["failures"]) == (1, 0)
    written = json.loads(report.read_text(encoding="utf-8"))
    assert {host: entry["result"] for host, entry in written["hosts"].items()} == {
        "pc": "RESTORED", "empty": "NOTHING TO RESTORE", "down": "UNREACHABLE"}
    assert written["totals"] == {"RESTORED": 1, "NOTHING TO RESTORE": 1, "UNREACHABLE": 1}
    assert written["hosts"]["pc"]["documents"] and written["hosts"]["pc"]["restored"]
