"""diagnose.yml over WinRM against winsim: each host's causes with evidence and nothing else, one agent execution per host."""
from __future__ import annotations

import json
from pathlib import Path

from conftest import ROOT, give_wrong_password, run_playbook
from winsim.fleet import Fleet

DIAGNOSE = ROOT / "playbooks" / "diagnose.yml"
AGENT = "ansible_collections.m365ops.activation.plugins.modules.win_agent"
# Each profile's causes, as the diagnosis must name them: no more, no fewer.
EXPECTED = {
    "win11": [],
    # The SCHANNEL switch is off: the handshake fails, and WinHTTP offers no TLS 1.2 either.
    "win10-tls-hardened": ["tls12-off", "tls-handshake-failed", "winhttp-tls12-refused"],
    # Without the update WinHTTP offers SSL 3.0 and TLS 1.0 only; SCHANNEL itself can still do TLS 1.2 when asked.
    "win7sp1-nokb": ["tls12-update-missing", "tls12-off", "winhttp-tls12-refused"],
    "win10-ncsi-off": ["ncsi-policy-off", "ncsi-probing-off", "ncsi-probe-host-changed", "ncsi-probe-unreachable"],
    "win10-nla-disabled": ["services-stopped"],
    # Direct connections fail at a proxy site, as expected there: said, as information, not as the cause.
    "win10-proxy-site": ["winhttp-proxy-missing", "endpoint-direct-blocked-proxy-site"],
    "win10-firewall-sign-in": ["endpoint-blocked"],
    "win10-dns-filtered": ["endpoint-dns-failed"],
    # The retired proxy does not answer and every other source goes direct, which works: the default replaces it (G25).
    "win10-stale-proxy": ["winhttp-proxy-dead", "proxy-unreachable"],
    "win10-provider-missing": ["winsock-damage"],
    "win10-crl-blocked": ["crl-unreachable"],
    "win10-tls-inspected": ["tls-intercepted"],
    # Not interception, nor a TLS refusal: the chain stops at a public intermediate (review G13).
    "win10-root-missing": ["root-missing"],
    # A client certificate asked for is not a TLS refusal (review G14).
    "win10-proxy-client-cert": ["client-certificate-requested", "endpoint-direct-blocked-proxy-site"],
    # The 407 is the management logon's; alice's own session, with her logon, gets through (review G6).
    "win10-ja-proxy-auth": ["proxy-auth-management-only", "endpoint-direct-blocked-proxy-site"],
    "win10-proxy-msoidcrl": ["proxy-blocks-msoidcrl", "endpoint-direct-blocked-proxy-site"],
    "win10-proxy-inspecting": ["tls-intercepted", "endpoint-direct-blocked-proxy-site"],
    "win10-proxy-right": ["endpoint-direct-blocked-proxy-site"],
    "win10-ja": [],
    "win10-winrm-tight": ["winrm-quota-low"],
    "win10-msi-office": ["not-click-to-run"],
    "win10-reboot-pending": ["windows-reboot-pending"],
    "win10-tls-policy": ["tls12-policy"],
    "win10-users-tls": ["tls12-user-wininet"],
    "win81-ps4": ["agent-unavailable"],
    "win10-unpatched": ["windows-updates-old"],
    "win10-wu-disabled": ["windows-update-history-unreadable"],
    "ws2022": [],
}


# Findings no freshly built profile can show, and the test that produces each on the simulated fleet.
SHOWN_ELSEWHERE = {
    "winrm-quota-unread": "test_a_quota_that_could_not_be_read_is_unread_not_fine",
    "concern-failed": "test_fleet: a read the WinRM account is denied",
    "reboot-owed": "test_remediate_findings and the concerns' tests: after a change that needs a restart",
    "interrupted-run": "test_faults: a batch whose answer never came back, before the next remediation settles it",
    "winsock-blocked": "test_winsock_reset: a catalog that comes back after the reset",
    "services-blocked": "test_services: a disabled dependency with enable_dependencies false",
    "ncsi-no-internet": "unit tests only: the simulator's connectivity follows the probing switch, not the network",
    "office-credentials-cached": "test_the_office_steps_are_diagnosed_when_named: the Office steps are diagnosed when named",
    "office-activation-state": "test_the_office_steps_are_diagnosed_when_named",
    "office-below-minimum": "test_the_office_steps_are_diagnosed_when_named",
    "office-work-account-added": "test_the_office_steps_are_diagnosed_when_named",
    "winhttp-proxy-disagrees": "test_winhttp_proxy: a PAC site, views that differ, a dead proxy the sources disagree about",
    "proxy-auth-refused": "test_a_407_is_asked_again_from_the_users_sessions",
    "proxy-auth-required": "test_a_407_is_asked_again_from_the_users_sessions",
}


def test_every_finding_is_produced_by_some_profile_or_named_test() -> None:
    from ansible_collections.m365ops.activation.plugins.plugin_utils.findings import RULES
    shown = {finding for ids in EXPECTED.values() for finding in ids}
    assert {rule.id for rule in RULES} - shown == set(SHOWN_ELSEWHERE)


def test_every_host_gets_its_causes_and_nothing_else(fleet: Fleet, inventory: Path, tmp_path: Path) -> None:
    for name in EXPECTED:
        fleet.add(name, name)
    fleet.write_inventory(inventory)
    report_file = tmp_path / "findings.json"
    run = run_playbook(inventory, DIAGNOSE, extra_vars={"m365ops_report_file": str(report_file)})
    assert run.rc == 0, run.stdout[-3000:]
    report = json.loads(report_file.read_text(encoding="utf-8"))
    found = {host: sorted(item["id"] for item in items) for host, items in report["hosts"].items()}
    assert found == {host: sorted(ids) for host, ids in EXPECTED.items()}
    assert all(item["evidence"] and item["fix"] for items in report["hosts"].values() for item in items)
    policy = next(item for item in report["hosts"]["win10-ncsi-off"] if item["id"] == "ncsi-policy-off")
    assert policy["evidence"]["source"]["gpos"] == ["Workstation Baseline"]
    assert report["summary"]["hosts_without_findings"] == ["win10-ja", "win11", "ws2022"]
    assert report["summary"]["hosts_not_diagnosed"] == []
    assert report["summary"]["findings"]["tls12-off"] == ["win10-tls-hardened", "win7sp1-nokb"]
    # Read-only, one agent execution per host; one more, read-only, only where a setting points at something the first
    # could not know: another product's Winsock DLL, a WinINet proxy that is not WinHTTP's, a WinHTTP proxy every other
    # source routes around, an NCSI probe host Windows does not ship, the CA of a proxy whose TLS WinHTTP refused, a 407
    # asked again from the users' sessions.
    executions = {name: entry.host.counters["executions"].get(AGENT, 0) for name, entry in fleet.hosts.items()}
    second_run = {"win10-provider-missing", "win10-proxy-site", "win10-ncsi-off", "win10-proxy-inspecting", "win10-stale-proxy",
                  "win10-ja-proxy-auth"}
    assert executions == {name: 0 if name == "win81-ps4" else 2 if name in second_run else 1 for name in EXPECTED}
    assert run.changed_hosts() == set()


def test_a_407_is_asked_again_from_the_users_sessions(fleet: Fleet, inventory: Path, tmp_path: Path) -> None:
    """Review G6: the management logon has no credentials for a proxy's challenge; the users' own sessions decide."""
    fleet.add("accepts", "win10-ja-proxy-auth")
    fleet.add("refuses", "win10-ja-proxy-auth")
    fleet.add("nobody", "win10-ja-proxy-auth")
    refuses, nobody = fleet.hosts["refuses"].host, fleet.hosts["nobody"].host
    for proxy in refuses.state["network"]["proxies"].values():
        proxy["refuses_users"] = True
    refuses.save()
    nobody.state["sessions"] = []
    nobody.save()
    fleet.write_inventory(inventory)
    report_file = tmp_path / "findings.json"
    run = run_playbook(inventory, DIAGNOSE, extra_vars={"m365ops_report_file": str(report_file)})
    assert run.rc == 0, run.stdout[-3000:]
    hosts = json.loads(report_file.read_text(encoding="utf-8"))["hosts"]
    said = {host: {item["id"]: item for item in items if item["id"].startswith("proxy-auth")} for host, items in hosts.items()}
    assert {host: sorted(found) for host, found in said.items()} == {
        "accepts": ["proxy-auth-management-only"], "refuses": ["proxy-auth-refused"], "nobody": ["proxy-auth-required"]}
    refused = said["refuses"]["proxy-auth-refused"]
    assert refused["severity"] == "high"
    assert refused["evidence"]["users"] == [{"user": "CORP\\alice", "sid": "S-1-5-21-1004336348-1177238915-682003330-1104", "status": 407,
                                             "access_type": "automatic", "credentials_offered": True, "error": None}]
    assert said["accepts"]["proxy-auth-management-only"]["severity"] == "info"
    assert said["nobody"]["proxy-auth-required"]["severity"] == "medium"


def test_hosts_not_diagnosed_are_told_apart_and_never_clean(fleet: Fleet, inventory: Path, tmp_path: Path) -> None:
    fleet.add("up", "win11")
    fleet.add("down", "win11")
    fleet.add("locked", "win11")
    fleet.take_offline("down")
    fleet.write_inventory(inventory)
    # One host answers, but not to these credentials.
    give_wrong_password(inventory, "locked")
    report_file = tmp_path / "findings.json"
    run = run_playbook(inventory, DIAGNOSE, extra_vars={"m365ops_report_file": str(report_file)})
    report = json.loads(report_file.read_text(encoding="utf-8"))
    # Both end unreachable after the report (ansible-playbook's exit code 4), neither counted failed.
    assert run.rc == 4 and [run.stats[host]["unreachable"] for host in ("down", "locked")] == [1, 1]
    assert [run.stats[host]["failures"] for host in ("down", "locked")] == [0, 0]
    summary = report["summary"]
    assert summary["hosts_not_diagnosed"] == ["down", "locked"] and summary["hosts_without_findings"] == ["up"]
    assert summary["not_diagnosed"] == {"auth_failed": ["locked"], "unreachable": ["down"]}
    assert fleet.hosts["locked"].host.counters["auth_failures"] >= 1 and fleet.hosts["locked"].host.counters["executions"] == {}


def test_endpoint_evidence_names_the_endpoint_the_stage_and_the_error(fleet: Fleet, inventory: Path, tmp_path: Path) -> None:
    fleet.add("fw", "win10-firewall-sign-in")
    fleet.add("dns", "win10-dns-filtered")
    fleet.write_inventory(inventory)
    report_file = tmp_path / "findings.json"
    run_playbook(inventory, DIAGNOSE, extra_vars={"m365ops_report_file": str(report_file)})
    report = json.loads(report_file.read_text(encoding="utf-8"))
    blocked, = report["hosts"]["fw"]
    assert blocked["evidence"] == [{"endpoint": f"{name}:443", "error": "TimedOut"}
                                   for name in ("login.windows.net", "login.microsoft.com", "login.microsoftonline.com")]
    unresolved, = report["hosts"]["dns"]
    filtered = {"ols.officeapps.live.com", "activation.sls.microsoft.com", "odc.officeapps.live.com", "cdn.odc.officeapps.live.com"}
    assert {item["host"] for item in unresolved["evidence"]} == filtered
    facts = run_playbook(inventory, ROOT / "tests" / "integration" / "playbooks" / "facts_task.yml",
                         extra_vars={"facts_endpoints": {}}).result("dns", "Run win_activation_facts")["ansible_facts"]["m365ops_activation"]
    checked = {entry["host"]: entry for entry in facts["endpoints"]["checked"]}
    # A stage that was not run is never shown as passed.
    assert checked["ols.officeapps.live.com"]["tcp"] == "not_tested" and checked["ols.officeapps.live.com"]["dns"] == "fail"
    assert checked["ols.officeapps.live.com"]["tls"] == "not_tested"
    # WinHTTP goes direct here and resolves with the same resolver: the request fails at the name.
    assert checked["ols.officeapps.live.com"]["stages"]["http"] == {
        "result": "fail", "route": "direct", "status": None, "error": "ERROR_WINHTTP_NAME_NOT_RESOLVED", "tls_refused": False,
        "elapsed_ms": 3}
    sign_in = checked["login.microsoftonline.com"]
    assert [sign_in[stage] for stage in ("dns", "tcp", "tls", "http")] == ["pass"] * 4
    assert sign_in["stages"]["tls"]["root"] == "DigiCert Global Root G2" and sign_in["intercepted_by"] is None
    # Plain HTTP has no TLS stage to pass.
    assert {entry["tls"] for entry in checked.values() if entry["port"] == 80} == {"not_tested"}


def test_the_office_steps_are_diagnosed_when_named(fleet: Fleet, inventory: Path, tmp_path: Path) -> None:
    for name in ("win10-office-creds", "win10-office-license", "win10-office-behind", "win11"):
        fleet.add(name, name)
    fleet.write_inventory(inventory)
    report_file = tmp_path / "findings.json"
    run = run_playbook(inventory, DIAGNOSE, extra_vars={
        "m365ops_report_file": str(report_file), "m365ops_concerns": ["tls12", "office_credentials", "office_license", "office_update"],
        "m365ops_office_update": {"minimum_version": "16.0.17928.20156"}})
    assert run.rc == 0, run.stdout[-3000:]
    found = {host: sorted(item["id"] for item in items) for host, items in json.loads(report_file.read_text(encoding="utf-8"))["hosts"].items()}
    assert found == {"win10-office-creds": ["office-credentials-cached", "office-work-account-added"], "win10-office-license": ["office-activation-state"],
                     "win10-office-behind": ["office-below-minimum"], "win11": []}
    # Read-only: nothing was removed, moved or updated.
    assert run.changed_hosts() == set()
    assert fleet.hosts["win10-office-creds"].host.state["credentials"]["S-1-5-21-1004336348-1177238915-682003330-1104"]


def test_a_quota_that_could_not_be_read_is_unread_not_fine(fleet: Fleet, inventory: Path, tmp_path: Path) -> None:
    """Review G22: a WSMan drive the account may not read says why per quota; the quota is not counted fine."""
    fleet.add("pc", "win11")
    fleet.hosts["pc"].host.state["wsman_unreadable"] = ["MaxEnvelopeSizekb"]
    fleet.hosts["pc"].host.save()
    fleet.write_inventory(inventory)
    report_file = tmp_path / "findings.json"
    run = run_playbook(inventory, DIAGNOSE, extra_vars={"m365ops_report_file": str(report_file)})
    assert run.rc == 0, run.stdout[-3000:]
    found = {item["id"]: item for item in json.loads(report_file.read_text(encoding="utf-8"))["hosts"]["pc"]}
    assert list(found) == ["winrm-quota-unread"] and found["winrm-quota-unread"]["severity"] == "info"
    assert found["winrm-quota-unread"]["evidence"] == [
        {"setting": "MaxEnvelopeSizekb", "error": {"type": "System.UnauthorizedAccessException", "hresult": -2147024891}}]
