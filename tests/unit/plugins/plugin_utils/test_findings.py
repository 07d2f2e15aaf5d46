"""Findings from activation facts: each rule fires on its evidence and only on it."""
from __future__ import annotations

import pytest

from ansible_collections.m365ops.activation.plugins.plugin_utils.findings import RULES, findings

COMPLIANT = {"status": "compliant", "would_change": [], "blockers": [], "drift": [], "facts": {}}
ENDPOINT_OK = {"host": "login.microsoftonline.com", "port": 443, "dns": "pass", "tcp": "pass", "tls": "not_tested", "http": "not_tested"}
ENDPOINT_DNS_FAIL = {"host": "ols.officeapps.live.com", "port": 443, "dns": "fail", "tcp": "not_tested", "error": "HostNotFound"}
ENDPOINT_TCP_FAIL = {"host": "login.windows.net", "port": 443, "dns": "pass", "tcp": "fail", "error": "TimedOut"}


def endpoint(host_name: str, purpose: str = "activation", route: str = "direct", http: str = "pass", error: str | None = None,
             tls: str = "pass", tls_error: str | None = None, intercepted_by: str | None = None, wininet: tuple = (),
             dns: str = "pass", tls_refused: bool = False, code: str | None = None, root_missing: str | None = None) -> dict:
    """One endpoint as the endpoint check reports it, with the stages the rules read."""
    scheme, port = ("http", 80) if purpose in ("crl", "ncsi") else ("https", 443)
    http_stage = {"result": http, "route": route, "error": error, "tls_refused": tls_refused, **({"code": code} if code else {})}
    return {"url": f"{scheme}://{host_name}/", "host": host_name, "port": port, "purpose": purpose, "dns": dns, "tcp": "pass",
            "tls": tls if scheme == "https" else "not_tested", "http": http, "intercepted_by": intercepted_by, "wininet": list(wininet),
            "root_missing": root_missing,
            "stages": {"dns": {"result": dns, "error": None if dns == "pass" else "HostNotFound"}, "tcp": {"result": "pass"},
                       "tls": {"result": tls, "error": tls_error}, "http": http_stage}}


PROXY = "proxy.corp.example:8080"
SIGN_IN_OK = endpoint("login.microsoftonline.com")
CONCERNS = ("tls12", "winhttp_proxy", "ncsi", "required_services", "winsock_reset", "office_credentials", "office_license", "office_update")
WORKSTATION = {"os": {"name": "Windows 10", "server": False}, "pending_reboot": [], "reboot_owed_by": [],
               "click_to_run": {"installed": True}, "concerns": {name: dict(COMPLIANT) for name in CONCERNS}}


def host(**concerns) -> dict:
    facts = {**WORKSTATION, "concerns": {**WORKSTATION["concerns"]}}
    for name, entry in concerns.items():
        if name in facts["concerns"]:
            facts["concerns"][name] = {**COMPLIANT, **entry}
        else:
            facts[name] = entry
    return facts


CASES = [
    ("healthy", host(), []),
    ("agent unavailable", {"agent_unavailable": True, "message": "PowerShell 4.0", "concerns": {}}, ["agent-unavailable"]),
    ("tls off", host(tls12={"would_change": ["Enabled is 0"]}), ["tls12-off"]),
    ("update missing by file", host(tls12={"blockers": ["KB3140245 is not in place"], "facts": {"kb3140245": "missing"}}),
     ["tls12-update-missing"]),
    ("a user's box is off", host(tls12={"drift": ["CORP\\alice's WinINet SecureProtocols (Internet Options 'Use TLS 1.2') is 0xa0"],
                                        "codes": {"drift": ["tls12.user_wininet"]}}),
     ["tls12-user-wininet"]),
    ("the same box, told in other words", host(tls12={"drift": ["Alice has TLS 1.2 unticked"], "codes": {"drift": ["tls12.user_wininet"]}}),
     ["tls12-user-wininet"]),
    ("wininet policy", host(tls12={"blockers": ["Group Policy sets WinINet SecureProtocols to 0x80"], "codes": {"blockers": ["tls12.group_policy"]}}),
     ["tls12-policy"]),
    ("a sentence that names Group Policy is not the code", host(tls12={"blockers": ["Group Policy sets WinINet SecureProtocols to 0x80"],
                                                                       "codes": {"blockers": ["tls12.kb3140245_missing"]}}), []),
    ("proxy to import", host(winhttp_proxy={"would_change": ["goes direct while WinINet names proxy"]}), ["winhttp-proxy-missing"]),
    ("proxy disagrees", host(winhttp_proxy={"drift": ["views differ"]}), ["winhttp-proxy-disagrees"]),
    ("a dead proxy the other sources route around", host(winhttp_proxy={
        "would_change": ["names proxy old:3128, which did not answer; replaced by direct access"],
        "facts": {"route_tests": {"64": {"proxy": "proxy old:3128", "route": "direct access", "proven_dead": True, "replaced": True}}}}),
     ["winhttp-proxy-dead"]),
    ("a dead proxy not proven so", host(winhttp_proxy={
        "drift": ["not replaced"], "facts": {"route_tests": {"64": {"proven_dead": False, "replaced": False}}}}),
     ["winhttp-proxy-disagrees"]),
    ("a dead proxy left in place on purpose (dead_proxy: report)", host(winhttp_proxy={
        "drift": ["left in place"], "facts": {"route_tests": {"64": {"proven_dead": True, "replaced": False}}}}),
     ["winhttp-proxy-dead", "winhttp-proxy-disagrees"]),
    ("ncsi policy", host(ncsi={"blockers": ["policy"], "facts": {"policy_no_active_probe": 1, "policy_source": {"source": "unknown"}}}),
     ["ncsi-policy-off"]),
    ("probing off", host(ncsi={"would_change": ["NlaSvc EnableActiveProbing is 0"]}), ["ncsi-probing-off"]),
    ("ncsi policy 0 is fine", host(ncsi={"facts": {"policy_no_active_probe": 0}}), []),
    ("no internet although probing is on", host(ncsi={"facts": {"connectivity": [{"ipv4": "local_network", "ipv6": "disconnected"}]}}),
     ["ncsi-no-internet"]),
    ("internet on one network", host(ncsi={"facts": {"connectivity": [{"ipv4": "local_network"}, {"ipv4": "internet"}]}}), []),
    ("no internet while our change waits for a restart", {**host(ncsi={"facts": {"connectivity": [{"ipv4": "local_network"}]}}),
                                                          "reboot_owed_by": ["ncsi"]}, ["reboot-owed"]),
    ("service stopped", host(required_services={"would_change": ["start NlaSvc"]}), ["services-stopped"]),
    ("winsock damage", host(winsock_reset={"facts": {"damage": ["layered protocol"]}, "would_change": ["netsh winsock reset"]}),
     ["winsock-damage"]),
    ("windows wants a restart", {**host(), "pending_reboot": ["windows_update"]}, ["windows-reboot-pending"]),
    ("no click-to-run on a workstation", host(click_to_run={"installed": False}), ["not-click-to-run"]),
    ("no click-to-run on a server is nothing", {**host(click_to_run={"installed": False}), "os": {"server": True}}, []),
    ("a concern that could not read", host(tls12={"status": "failed", "failure": "access denied"}), ["concern-failed"]),
    ("retired probe host", host(ncsi={"drift": ["NCSI probes a target Windows does not ship (ActiveWebProbeHost='x')"],
                                      "codes": {"drift": ["ncsi.probe_target"]}}),
     ["ncsi-probe-host-changed"]),
    ("service beyond reach", host(required_services={"blockers": ["Dhcp is Disabled"]}), ["services-blocked"]),
    ("catalog came back", host(winsock_reset={"blockers": ["reset once already"]}), ["winsock-blocked"]),
    ("reboot owed", {**host(), "reboot_owed_by": ["tls12"]}, ["reboot-owed"]),
    ("an interrupted run", {**host(), "interrupted": [{"run_id": "20261204T070000Z-0000abcd", "planned": 5, "in_effect": 1}]},
     ["interrupted-run"]),
    ("a name does not resolve", host(endpoints={"checked": [ENDPOINT_DNS_FAIL, ENDPOINT_OK]}), ["endpoint-dns-failed"]),
    ("the firewall blocks sign-in", host(endpoints={"checked": [ENDPOINT_TCP_FAIL, ENDPOINT_OK]}), ["endpoint-blocked"]),
    ("direct blocked at a proxy site", host(endpoints={"checked": [ENDPOINT_TCP_FAIL]},
                                            winhttp_proxy={"facts": {"wininet": {"sources": [{"proxy": "proxy:8080"}]}}}),
     ["endpoint-direct-blocked-proxy-site"]),
    ("endpoints all pass", host(endpoints={"checked": [ENDPOINT_OK]}), []),
    ("WinRM quota below the collection's minimum", host(winrm_quotas={"low": [{"setting": "MaxEnvelopeSizekb", "value": 150}]}),
     ["winrm-quota-low"]),
    ("WinRM quotas fine", host(winrm_quotas={"low": [], "values": {"MaxEnvelopeSizekb": 500}}), []),
    # A quota that was not read is not known to be fine (review G22).
    ("a WinRM quota the account could not read", host(winrm_quotas={"low": [], "unread": [
        {"setting": "MaxEnvelopeSizekb", "error": {"type": "System.UnauthorizedAccessException", "hresult": -2147024891}}]}),
     ["winrm-quota-unread"]),
    ("updates old", host(windows_update={"history_available": True, "days_since_last_install": 61}), ["windows-updates-old"]),
    ("updates recent", host(windows_update={"history_available": True, "days_since_last_install": 60}), []),
    ("never an update but definitions", host(windows_update={"history_available": True, "days_since_last_install": None}),
     ["windows-updates-old"]),
    ("history unreadable", host(windows_update={"history_available": False, "hresult": "0x80070422"}),
     ["windows-update-history-unreadable"]),
    ("office credentials cached", host(office_credentials={"would_change": ["CORP\\alice has 2 Office credential(s)"]}),
     ["office-credentials-cached"]),
    ("a work account added beside", host(office_credentials={"facts": {"users": [
        {"user": "CORP\\bob", "work_account": {"join_type": "workplace", "user_email": "bob@fabrikam.example", "tenant_name": "Fabrikam"}},
        {"user": "CORP\\alice", "work_account": {"join_type": "device", "user_email": "alice@corp.example", "tenant_name": "Corp"}},
        {"user": "CORP\\carol", "work_account": None}]}}), ["office-work-account-added"]),
    ("activation state to reset", host(office_license={"would_change": ["CORP\\alice has a license cache"]}), ["office-activation-state"]),
    ("office too old", host(office_update={"would_change": ["Microsoft 365 Apps 16.0.1 is below 16.0.2"]}), ["office-below-minimum"]),
    ("every stage passes", host(endpoints={"checked": [SIGN_IN_OK, endpoint("crl.microsoft.com", "crl"),
                                                       endpoint("www.msftconnecttest.com", "ncsi")]}), []),
    ("only the CRLs fail", host(endpoints={"checked": [SIGN_IN_OK, endpoint("crl.microsoft.com", "crl", http="fail",
                                                                            error="ERROR_WINHTTP_TIMEOUT")]}), ["crl-unreachable"]),
    ("everything fails: not a CRL finding", host(endpoints={"checked": [
        endpoint("login.microsoftonline.com", http="fail", error="ERROR_WINHTTP_TIMEOUT"),
        endpoint("crl.microsoft.com", "crl", http="fail", error="ERROR_WINHTTP_TIMEOUT")]}), []),
    ("the WinHTTP proxy is dead", host(endpoints={"checked": [
        endpoint("login.microsoftonline.com", route=PROXY, http="fail", error="ERROR_WINHTTP_CANNOT_CONNECT", tls="not_tested")]}),
     ["proxy-unreachable"]),
    ("a proxy that answers some requests is not dead", host(endpoints={"checked": [
        endpoint("login.microsoftonline.com", route=PROXY, http="fail", error="ERROR_WINHTTP_CANNOT_CONNECT"),
        endpoint("go.microsoft.com", route=PROXY)]}), []),
    ("the users' proxy is dead", host(endpoints={"checked": [endpoint("login.microsoftonline.com", wininet=(
        {"proxy": PROXY, "result": "fail", "error": "ERROR_WINHTTP_NAME_NOT_RESOLVED"},))]}), ["proxy-unreachable"]),
    ("407", host(endpoints={"checked": [endpoint("login.microsoftonline.com", route=PROXY, http="fail",
                                                 error="proxy authentication required (HTTP 407) of the management logon", code="proxy_auth_required")]}),
     ["proxy-auth-required"]),
    ("407 told in other words", host(endpoints={"checked": [endpoint("login.microsoftonline.com", route=PROXY, http="fail",
                                                                     error="the proxy asks for credentials", code="proxy_auth_required")]}),
     ["proxy-auth-required"]),
    ("407 to the management logon, the users' sessions get through", host(endpoints={
        "checked": [endpoint("login.microsoftonline.com", route=PROXY, http="fail", code="proxy_auth_required", error="407")],
        "users_sign_in": [{"user": "CORP\\alice", "status": 200}, {"user": "CORP\\bob", "status": 302}]}),
     ["proxy-auth-management-only"]),
    ("407 to the management logon and to a user's own session", host(endpoints={
        "checked": [endpoint("login.microsoftonline.com", route=PROXY, http="fail", code="proxy_auth_required", error="407")],
        "users_sign_in": [{"user": "CORP\\alice", "status": 200}, {"user": "CORP\\bob", "status": 407}]}),
     ["proxy-auth-refused"]),
    ("407 to the management logon, a user's session gave no answer", host(endpoints={
        "checked": [endpoint("login.microsoftonline.com", route=PROXY, http="fail", code="proxy_auth_required", error="407")],
        "users_sign_in": [{"user": "CORP\\alice", "status": 200}, {"user": "CORP\\bob", "status": None, "error": "timeout"}]}),
     ["proxy-auth-required"]),
    ("users' answers without a 407 are no proxy finding", host(endpoints={"checked": [endpoint("login.microsoftonline.com")],
                                                                          "users_sign_in": [{"user": "CORP\\alice", "status": 407}]}), []),
    ("MSOIDCRL refused", host(endpoints={"checked": [endpoint("login.microsoftonline.com", route=PROXY, http="fail",
                                                              error="the proxy refuses the MSOIDCRL user agent (HTTP 403)",
                                                              code="msoidcrl_refused")]}),
     ["proxy-blocks-msoidcrl"]),
    ("WinHTTP refuses TLS, nothing intercepts", host(endpoints={"checked": [
        endpoint("login.microsoftonline.com", http="fail", error="ERROR_WINHTTP_SECURE_FAILURE", tls_refused=True)]}),
     ["winhttp-tls12-refused"]),
    ("WinHTTP refuses TLS because a proxy intercepts", host(endpoints={"checked": [
        endpoint("login.microsoftonline.com", route=PROXY, http="fail", tls_refused=True, intercepted_by="Contoso CA")]}),
     ["tls-intercepted"]),
    ("TLS intercepted", host(endpoints={"checked": [endpoint("login.microsoftonline.com", tls="fail", intercepted_by="Contoso CA")]}),
     ["tls-intercepted"]),
    # A chain that stops at a public intermediate is a missing root, neither interception nor a TLS refusal (review G13).
    ("the host's store lacks the public root", host(endpoints={"checked": [endpoint(
        "login.microsoftonline.com", tls="fail", tls_error="the chain ends at ...", http="fail", error="ERROR_WINHTTP_SECURE_FAILURE",
        tls_refused=True, root_missing="DigiCert Global Root G2")]}), ["root-missing"]),
    # A server that asks for a client certificate says nothing of TLS 1.2 (review G14).
    ("a client certificate is asked for",
     host(endpoints={"checked": [endpoint("login.microsoftonline.com", http="fail", route=PROXY, code="client_cert_requested")]}),
     ["client-certificate-requested"]),
    ("TLS refused, no interception", host(endpoints={"checked": [endpoint("login.microsoftonline.com", tls="fail",
                                                                          tls_error="HandshakeFailed")]}), ["tls-handshake-failed"]),
    ("the NCSI probe does not answer", host(endpoints={"checked": [SIGN_IN_OK, endpoint("ncsi.example", "ncsi", http="fail",
                                                                                        error="ERROR_WINHTTP_TIMEOUT")]}),
     ["ncsi-probe-unreachable"]),
    ("the NCSI probe host does not resolve", host(endpoints={"checked": [endpoint("ncsi.example", "ncsi", dns="fail", http="fail")]}),
     ["ncsi-probe-unreachable"]),
    ("a dead probe with everything else dead is not an NCSI finding", host(endpoints={"checked": [
        endpoint("login.microsoftonline.com", http="fail", error="ERROR_WINHTTP_TIMEOUT"),
        endpoint("www.msftconnecttest.com", "ncsi", http="fail", error="ERROR_WINHTTP_TIMEOUT")]}), []),
]


@pytest.mark.parametrize(("facts", "expected"), [case[1:] for case in CASES], ids=[case[0] for case in CASES])
def test_each_rule_fires_on_its_evidence_and_only_on_it(facts: dict, expected: list) -> None:
    found = findings(facts)
    assert sorted(item["id"] for item in found) == sorted(expected)
    assert all(item["evidence"] and item["fix"] and item["step"] for item in found)


def test_findings_come_most_severe_first_and_every_rule_is_reachable() -> None:
    found = findings({**host(winhttp_proxy={"drift": ["x"]}, tls12={"would_change": ["y"]})})
    assert [item["severity"] for item in found] == ["high", "medium"]
    assert {rule.id for rule in RULES} <= {finding_id for _name, _facts, ids in CASES for finding_id in ids}


def test_a_407_to_the_management_logon_puts_the_host_at_risk_and_says_where_it_was_measured() -> None:
    """Review G6: WinRM's network logon has no credentials for a proxy's challenge; the users' sessions may pass."""
    found = findings(host(endpoints={"checked": [endpoint("login.microsoftonline.com", route=PROXY, http="fail", code="proxy_auth_required",
                                                          error="proxy authentication required (HTTP 407) of the management logon")]}))
    assert [(item["id"], item["severity"]) for item in found] == [("proxy-auth-required", "medium")]
    assert "management logon" in found[0]["summary"] and "as a signed-in user" in found[0]["fix"]
