# -*- coding: utf-8 -*-
# Copyright: m365ops.activation contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Findings: why a host may fail Microsoft 365 activation, each with the article's step, its evidence and its fix.

Pure Python over ``ansible_facts.m365ops_activation`` (win_activation_facts). Each finding is a row of ``RULES``: an id,
the article step it belongs to, a severity, and a test that returns the evidence when the finding applies. The fix is a
role of the collection (with the option that matters) or, where the collection must not act, who must: a Group Policy
owner, a proxy administrator, whoever installs updates. Findings that need the endpoint check from the host come with it.
"""

from __future__ import annotations

import typing as t
from dataclasses import dataclass

HIGH, MEDIUM, INFO = "high", "medium", "info"
SEVERITIES = (HIGH, MEDIUM, INFO)
Facts = t.Mapping[str, t.Any]


def _concern(facts: Facts, name: str) -> Facts:
    return (facts.get("concerns") or {}).get(name) or {}


def _own(facts: Facts, name: str) -> Facts:
    return _concern(facts, name).get("facts") or {}


@dataclass(frozen=True)
class Rule:
    id: str
    step: str
    severity: str
    summary: str
    fix: str
    evidence: t.Callable[[Facts], t.Any]
    # The concern whose change fixes it, when the collection does (remediation in findings mode applies these only).
    concern: str | None = None


def _agent_unavailable(facts: Facts) -> t.Any:
    return facts.get("message") if facts.get("agent_unavailable") else None


def _failed_concerns(facts: Facts) -> t.Any:
    failed = {name: entry.get("failure") for name, entry in (facts.get("concerns") or {}).items() if entry.get("status") == "failed"}
    return failed or None


def _kb3140245(facts: Facts) -> t.Any:
    tls = _own(facts, "tls12")
    if tls.get("kb3140245") != "missing":
        return None
    return {"os": (facts.get("os") or {}).get("name"), "decided_by": tls.get("kb3140245_evidence"),
            "winhttp_dll_versions": tls.get("winhttp_dll_versions")}


def _would_change(name: str) -> t.Callable[[Facts], t.Any]:
    def evidence(facts: Facts) -> t.Any:
        return list(_concern(facts, name).get("would_change") or []) or None
    return evidence


def _dead_proxy(facts: Facts) -> t.Any:
    """The WinHTTP views whose proxy is silent from the host while the route the other sources agree on carried the
    request (G25): the default replaces it, or reports it with dead_proxy: report."""
    tests = _own(facts, "winhttp_proxy").get("route_tests") or {}
    return [{"view": view, **test} for view, test in sorted(tests.items()) if test.get("proven_dead")] or None


def _proxy_import(facts: Facts) -> t.Any:
    """What the default would import into WinHTTP, unless the change it would make replaces a dead proxy instead."""
    return None if _dead_proxy(facts) else _would_change("winhttp_proxy")(facts)


def _reasons(kind: str, name: str, codes: t.Sequence[str]) -> t.Callable[[Facts], t.Any]:
    """The concern's blockers or drift (``kind``) whose code is one of ``codes`` (every one when none is given), matched by
    code, never by the words of the sentence; the sentences are the evidence."""
    def evidence(facts: Facts) -> t.Any:
        concern = _concern(facts, name)
        entries = concern.get(kind) or []
        found = [entry for entry, code in zip(entries, ((concern.get("codes") or {}).get(kind) or [None] * len(entries)))
                 if not codes or code in codes]
        return found or None
    return evidence


def _blockers(name: str, *codes: str) -> t.Callable[[Facts], t.Any]:
    return _reasons("blockers", name, codes)


def _drift(name: str, *codes: str) -> t.Callable[[Facts], t.Any]:
    return _reasons("drift", name, codes)


def _work_accounts(facts: Facts) -> t.Any:
    found = []
    for entry in _own(facts, "office_credentials").get("users") or []:
        account = entry.get("work_account") or {}
        if account.get("join_type") == "workplace":
            found.append(f"{entry.get('user')}: {account.get('user_email') or account.get('join_user_email')} ({account.get('tenant_name')})")
    return found or None


def _ncsi_policy(facts: Facts) -> t.Any:
    ncsi = _own(facts, "ncsi")
    policy = ncsi.get("policy_no_active_probe")
    if policy in (None, 0):
        return None
    return {"NoActiveProbe": policy, "source": ncsi.get("policy_source")}


def _ncsi_no_internet(facts: Facts) -> t.Any:
    """Windows itself concludes there is no internet while probing is on and no change of ours is waiting for a restart."""
    ncsi = _concern(facts, "ncsi")
    networks = (ncsi.get("facts") or {}).get("connectivity")
    if not networks or ncsi.get("would_change") or ncsi.get("blockers") or "ncsi" in (facts.get("reboot_owed_by") or []):
        return None
    if any(network.get("ipv4") == "internet" or network.get("ipv6") == "internet" for network in networks):
        return None
    return {"connectivity": networks}


def _winsock_damage(facts: Facts) -> t.Any:
    return list(_own(facts, "winsock_reset").get("damage") or []) or None


def _reboot_owed(facts: Facts) -> t.Any:
    return list(facts.get("reboot_owed_by") or []) or None


def _interrupted(facts: Facts) -> t.Any:
    return list(facts.get("interrupted") or []) or None


def _pending_reboot(facts: Facts) -> t.Any:
    return list(facts.get("pending_reboot") or []) or None


def _winrm_quota_low(facts: Facts) -> t.Any:
    return list((facts.get("winrm_quotas") or {}).get("low") or []) or None


def _winrm_quota_unread(facts: Facts) -> t.Any:
    return list((facts.get("winrm_quotas") or {}).get("unread") or []) or None


# The collection's judgement: two monthly patch cycles missed.
UPDATES_MAX_AGE_DAYS = 60


def _updates_old(facts: Facts) -> t.Any:
    update = facts.get("windows_update") or {}
    days = update.get("days_since_last_install")
    if update.get("history_available") and (days is None or days > UPDATES_MAX_AGE_DAYS):
        return {"last_installed": update.get("last_installed"), "days_since_last_install": days, "more_than_days": UPDATES_MAX_AGE_DAYS}
    return None


def _update_history_unreadable(facts: Facts) -> t.Any:
    update = facts.get("windows_update") or {}
    return {"hresult": update.get("hresult")} if update and update.get("history_available") is False else None


def _not_click_to_run(facts: Facts) -> t.Any:
    office = facts.get("click_to_run")
    if not isinstance(office, t.Mapping) or office.get("installed", True) or (facts.get("os") or {}).get("server"):
        return None
    return {"click_to_run": False}


def _proxy_configured(facts: Facts) -> bool:
    """Whether the host reaches the internet through a proxy: WinHTTP names one, or some user's WinINet does (or a PAC)."""
    proxy = _own(facts, "winhttp_proxy")
    if any(view.get("access_type") == "named" for view in (proxy.get("views") or {}).values()):
        return True
    return any(source.get("proxy") or source.get("pac_url") for source in (proxy.get("wininet") or {}).get("sources") or [])


def _checked(facts: Facts, *purposes: str) -> list[Facts]:
    entries = (facts.get("endpoints") or {}).get("checked") or []
    return [entry for entry in entries if not purposes or entry.get("purpose", "activation") in purposes]


def _dns_failed(facts: Facts) -> t.Any:
    failed = [{"host": entry["host"], "error": (entry.get("stages") or {}).get("dns", {}).get("error") or entry.get("error")}
              for entry in _checked(facts, "activation", "crl") if entry.get("dns") == "fail"]
    return list({item["host"]: item for item in failed}.values()) or None


def _tcp_failed(at_proxy_site: bool) -> t.Callable[[Facts], t.Any]:
    def evidence(facts: Facts) -> t.Any:
        if _proxy_configured(facts) != at_proxy_site:
            return None
        # CRL endpoints have their own finding when only they fail; at a proxy site every direct connection counts.
        purposes = ("activation", "crl") if at_proxy_site else ("activation",)
        failed = [{"endpoint": f"{entry['host']}:{entry['port']}", "error": (entry.get("stages") or {}).get("tcp", {}).get("error")}
                  for entry in _checked(facts, *purposes) if entry.get("tcp") == "fail"]
        return list({item["endpoint"]: item for item in failed}.values()) or None
    return evidence


# The routes of the facts last asked about: several rules ask of the same host's facts in turn (findings()), and a fleet
# report asks of every host. The facts are held, so that no other mapping can take their id while this is kept.
_LAST_ROUTES: list[t.Any] = [None, None]


def _routes(facts: Facts) -> dict[str, list[Facts]]:
    """Every HTTP answer per way out: WinHTTP as configured ("direct" or its proxy) and each WinINet proxy tried."""
    if _LAST_ROUTES[0] is facts:
        return _LAST_ROUTES[1]
    _LAST_ROUTES[:] = [facts, _routes_of(facts)]
    return _LAST_ROUTES[1]


def _routes_of(facts: Facts) -> dict[str, list[Facts]]:
    routes: dict[str, list[Facts]] = {}
    for entry in _checked(facts):
        http = (entry.get("stages") or {}).get("http") or {}
        if http.get("result") in ("pass", "fail"):
            routes.setdefault(f"WinHTTP {http.get('route')}", []).append({**http, "url": entry["url"], "purpose": entry.get("purpose")})
        for other in entry.get("wininet") or []:
            if other.get("result") in ("pass", "fail"):
                routes.setdefault(f"WinINet {other.get('proxy')}", []).append({**other, "url": entry["url"], "purpose": entry.get("purpose")})
    return routes


CONNECT_ERRORS = ("ERROR_WINHTTP_CANNOT_CONNECT", "ERROR_WINHTTP_NAME_NOT_RESOLVED", "ERROR_WINHTTP_TIMEOUT")


def _proxy_unreachable(facts: Facts) -> t.Any:
    dead = [{"route": name, "error": answers[0].get("error")} for name, answers in _routes(facts).items()
            if not name.endswith(" direct") and all(answer.get("error") in CONNECT_ERRORS for answer in answers)]
    return dead or None


def _proxy_status(code: str) -> t.Callable[[Facts], t.Any]:
    """The ways out whose answers carry ``code`` (the endpoint check's code of a proxy's answer), with their endpoints."""
    def evidence(facts: Facts) -> t.Any:
        found = [{"route": name, "endpoints": sorted({answer["url"] for answer in answers if answer.get("code") == code})}
                 for name, answers in _routes(facts).items()]
        return [item for item in found if item["endpoints"]] or None
    return evidence


def _proxy_auth(outcome: str) -> t.Callable[[Facts], t.Any]:
    """A proxy's 407 to the management logon, by what the signed-in users' own requests got (``users_sign_in``):
    ``refused`` where one got 407 too, ``accepted`` where every one got another HTTP answer, else ``untested``."""
    def evidence(facts: Facts) -> t.Any:
        asked = _proxy_status("proxy_auth_required")(facts)
        if not asked:
            return None
        users = (facts.get("endpoints") or {}).get("users_sign_in") or []
        answered = [user for user in users if user.get("status")]
        refused = [user for user in answered if user["status"] == 407]
        found = ("refused" if refused else "accepted" if answered and len(answered) == len(users) else "untested")
        if found != outcome:
            return None
        return {"management_logon": asked, "users": users} if users else asked
    return evidence


def _endpoints_by(field: str, label: str) -> t.Callable[[Facts], t.Any]:
    """The checked endpoints grouped by what their ``field`` names (a CA, a root), each group as ``{label: ..., endpoints}``."""
    def evidence(facts: Facts) -> t.Any:
        found: dict[str, list[str]] = {}
        for entry in _checked(facts):
            if entry.get(field):
                found.setdefault(entry[field], []).append(entry["url"])
        return [{label: name, "endpoints": urls} for name, urls in sorted(found.items())] or None
    return evidence


# The CA that intercepts TLS; the public root a chain stops short of, which the host's store lacks.
_intercepted = _endpoints_by("intercepted_by", "ca")
_root_missing = _endpoints_by("root_missing", "root")


def _tls_failed(facts: Facts) -> t.Any:
    failed = [{"endpoint": f"{entry['host']}:{entry['port']}", "error": entry["stages"]["tls"].get("error")}
              for entry in _checked(facts) if entry.get("tls") == "fail" and not entry.get("intercepted_by") and not entry.get("root_missing")]
    return failed or None


def _winhttp_tls_refused(facts: Facts) -> t.Any:
    """WinHTTP's HTTPS requests fail in TLS, and no interception explains it: WinHTTP does not offer TLS 1.2."""
    refused = [{"url": entry["url"], "error": entry["stages"]["http"].get("error"), "route": entry["stages"]["http"].get("route")}
               for entry in _checked(facts) if (entry.get("stages") or {}).get("http", {}).get("tls_refused") and not entry.get("intercepted_by")
               and not entry.get("root_missing")]
    return refused or None


def _crl_unreachable(facts: Facts) -> t.Any:
    """The CRL downloads fail while HTTPS endpoints answer through the same WinHTTP configuration."""
    if not any(entry.get("http") == "pass" for entry in _checked(facts, "activation")):
        return None
    failed = [{"url": entry["url"], "error": entry["stages"]["http"].get("error")} for entry in _checked(facts, "crl") if entry.get("http") == "fail"]
    return failed or None


def _ncsi_probe_unreachable(facts: Facts) -> t.Any:
    """The web probe NCSI uses fails, while activation endpoints answer through the same way out (or its name is unknown)."""
    reached = any(entry.get("http") == "pass" for entry in _checked(facts, "activation"))
    failed = [{"url": entry["url"], "stage": "dns" if entry.get("dns") == "fail" else "http",
               "error": entry["stages"]["dns" if entry.get("dns") == "fail" else "http"].get("error")}
              for entry in _checked(facts, "ncsi") if entry.get("dns") == "fail" or (reached and entry.get("http") == "fail")]
    return failed or None


RULES: tuple[Rule, ...] = (
    Rule("agent-unavailable", "prerequisites", HIGH, "the collection's agent cannot run on this host",
         "needs a person: install WMF 5.1 (and .NET Framework 4.5.2 or later first on Windows 7 / 2008 R2); "
         "playbook prerequisites.yml says what is missing", _agent_unavailable),
    Rule("concern-failed", "any", HIGH, "reading what a concern needs failed", "see the failure; usually the account's rights", _failed_concerns),
    Rule("tls12-update-missing", "Windows 8.1 and earlier: TLS 1.2", HIGH,
         "KB3140245 is not in place, so WinHTTP cannot use TLS 1.2 by default",
         "needs a person: install KB3140245 (ansible.windows.win_updates) and restart", _kb3140245),
    Rule("tls12-off", "Windows 8.1 and earlier: TLS 1.2", HIGH, "TLS 1.2 is off or missing in SCHANNEL, WinHTTP or WinINet",
         "role tls12 (or remediate.yml --tags tls12), then restart", _would_change("tls12"), concern="tls12"),
    Rule("tls12-policy", "Windows 8.1 and earlier: TLS 1.2", HIGH, "Group Policy leaves TLS 1.2 out of WinINet",
         "needs a person: the GPO 'Turn off encryption support'", _blockers("tls12", "tls12.group_policy", "tls12.user_group_policy")),
    Rule("tls12-user-wininet", "Windows 8.1 and earlier: TLS 1.2", MEDIUM,
         "a signed-in user's own 'Use TLS 1.2' box (WinINet, per user) is off",
         "role tls12 with tls12_wininet_users: set (adds TLS 1.2 to those users' values)", _drift("tls12", "tls12.user_wininet"),
         concern="tls12"),
    Rule("winhttp-proxy-missing", "check whether you are behind a proxy", HIGH,
         "WinHTTP goes direct while the users' WinINet names the site's proxy",
         "role winhttp_proxy (imports the agreed proxy)", _proxy_import, concern="winhttp_proxy"),
    Rule("winhttp-proxy-dead", "check whether you are behind a proxy", HIGH,
         "WinHTTP names a proxy that does not answer from this host, while every other source agrees on a route that does",
         "role winhttp_proxy (replaces that proxy with the route the other sources agree on; with dead_proxy: report, a person sets it)",
         _dead_proxy, concern="winhttp_proxy"),
    Rule("winhttp-proxy-disagrees", "check whether you are behind a proxy", MEDIUM,
         "the WinHTTP proxy and WinINet's (or the two WinHTTP views) disagree, or WinINet uses a PAC file",
         "needs a decision: set m365ops_winhttp_proxy's proxy (or direct: true) to what the site wants", _drift("winhttp_proxy")),
    Rule("ncsi-policy-off", "proxy, firewall and Group Policy: NCSI", HIGH,
         "Group Policy turns NCSI active tests off, so Windows may report no internet to Office",
         "needs a person: the GPO named in the evidence ('Turn off Windows Network Connectivity Status Indicator active tests')",
         _ncsi_policy),
    Rule("ncsi-probing-off", "proxy, firewall and Group Policy: NCSI", HIGH, "NCSI active probing is off",
         "role ncsi, then restart", _would_change("ncsi"), concern="ncsi"),
    Rule("ncsi-probe-host-changed", "proxy, firewall and Group Policy: NCSI", MEDIUM,
         "NCSI probes a target Windows does not ship", "needs a decision: m365ops_ncsi with restore_probe_defaults: true, or keep the site's probe server",
         _drift("ncsi", "ncsi.probe_target")),
    Rule("ncsi-no-internet", "proxy, firewall and Group Policy: NCSI", HIGH,
         "Windows concludes it has no internet although active probing is on",
         "needs the endpoint check from the host: a proxy or firewall blocks the probe or the endpoints", _ncsi_no_internet),
    Rule("services-stopped", "make sure required services are running", HIGH, "a service activation needs is stopped or disabled",
         "role required_services", _would_change("required_services"), concern="required_services"),
    Rule("services-blocked", "make sure required services are running", HIGH, "a required service cannot be fixed by the collection",
         "needs a person: see the evidence", _blockers("required_services")),
    Rule("winsock-damage", "reset Winsock", HIGH, "the Winsock catalog is damaged", "role winsock_reset, then restart", _winsock_damage,
         concern="winsock_reset"),
    Rule("winsock-blocked", "reset Winsock", MEDIUM, "the Winsock catalog came back after a reset: a product re-registers its provider",
         "needs a person: remove or update that product", _blockers("winsock_reset")),
    Rule("office-credentials-cached", "remove Office credentials", MEDIUM, "signed-in users have Office credentials cached",
         "role office_credentials (or m365ops_concerns with office_credentials)", _would_change("office_credentials"),
         concern="office_credentials"),
    Rule("office-work-account-added", "remove Office credentials", INFO,
         "a signed-in user added a work or school account that is not how Windows is signed in; Office may activate with it",
         "needs a person: if Office should use another account, the user disconnects it (Settings > Accounts > Access work or school)",
         _work_accounts),
    Rule("office-activation-state", "reset Microsoft 365 Apps activation state", MEDIUM,
         "signed-in users have Office activation state (license caches, Licensing and Identity keys) that a reset clears",
         "role office_license (or m365ops_concerns with office_license)", _would_change("office_license"), concern="office_license"),
    Rule("office-below-minimum", "update Microsoft 365 Apps", MEDIUM, "Microsoft 365 Apps is older than the site's minimum version",
         "role office_update, or m365ops_office_update with minimum_version", _would_change("office_update"), concern="office_update"),
    Rule("endpoint-dns-failed", "firewall and endpoint allow-list", HIGH, "names activation needs do not resolve on this host",
         "needs a person: the DNS resolvers this host uses must resolve the article's endpoints", _dns_failed),
    Rule("endpoint-blocked", "firewall and endpoint allow-list", HIGH,
         "direct connections to endpoints activation needs fail, and the host uses no proxy",
         "needs a person: the firewall must allow the article's endpoints (TCP 443, CRLs on 80)", _tcp_failed(False)),
    Rule("endpoint-direct-blocked-proxy-site", "firewall and endpoint allow-list", INFO,
         "direct connections fail at a site whose traffic goes through a proxy (expected there)",
         "nothing by itself: the requests through the proxy (stage http, and wininet) decide", _tcp_failed(True)),
    Rule("crl-unreachable", "firewall and endpoint allow-list", HIGH,
         "the certificate revocation lists cannot be downloaded, while the HTTPS endpoints answer",
         "needs a person: the firewall or proxy must allow crl.microsoft.com and www.microsoft.com on port 80", _crl_unreachable),
    Rule("proxy-unreachable", "check whether you are behind a proxy", HIGH, "a proxy this host is set to use does not answer",
         "needs a decision: m365ops_winhttp_proxy with the site's working proxy, or the users' Internet Options",
         _proxy_unreachable),
    # Measured from the management logon (WinRM's network logon), which has no credentials a proxy's NTLM or Kerberos
    # challenge could be answered with; Office in the user's session may well get through (review G6): at risk, not
    # known to fail.
    Rule("proxy-auth-required", "check whether you are behind a proxy", MEDIUM,
         "the proxy asks the management logon for authentication (HTTP 407); whether it lets the users' sign-in through was not tested "
         "from their session (nobody is signed in, or their session gave no answer)",
         "needs a check: as a signed-in user, open https://login.microsoftonline.com through the proxy; if it asks for credentials "
         "there too, the proxy administrator lets the article's endpoints through without authentication",
         _proxy_auth("untested")),
    # The same request made again from each signed-in user's session, with their proxy settings and logon (review G6).
    Rule("proxy-auth-refused", "check whether you are behind a proxy", HIGH,
         "the proxy asks for authentication and refuses the signed-in users' own logon too (HTTP 407 from their session)",
         "needs a person: the proxy administrator lets the article's endpoints through without authentication, or accepts the users' "
         "Windows logon", _proxy_auth("refused")),
    Rule("proxy-auth-management-only", "check whether you are behind a proxy", INFO,
         "the proxy asks the management logon for authentication and lets the signed-in users' own sign-in through",
         "nothing: the users' sessions, where Office signs in, get through", _proxy_auth("accepted")),
    Rule("proxy-blocks-msoidcrl", "check whether you are behind a proxy", HIGH,
         "the proxy refuses the MSOIDCRL user agent sign-in uses, and lets another through",
         "needs a person: the proxy administrator allows the user agent MSOIDCRL (the article's explicit rule)", _proxy_status("msoidcrl_refused")),
    Rule("tls-intercepted", "check whether you are behind a proxy", HIGH,
         "TLS to the endpoints is intercepted: the certificate chains to a CA that is not a public root Microsoft uses",
         "needs a person: the proxy or firewall administrator exempts the article's endpoints from TLS inspection", _intercepted),
    Rule("root-missing", "check whether you are behind a proxy", HIGH,
         "the certificate chains of the endpoints stop at a public intermediate: this host's store lacks the public root they were issued under",
         "needs a person: allow automatic root certificate update (the policy 'Turn off Automatic Root Certificates Update'), or deploy "
         "the root named in the evidence to the machine's Trusted Root Certification Authorities", _root_missing),
    Rule("client-certificate-requested", "firewall and endpoint allow-list", MEDIUM,
         "a server on the way to the endpoints asks for a client certificate, also when answered without one",
         "needs a person: the proxy or firewall that asks for it (the evidence names the way out) exempts the article's endpoints",
         _proxy_status("client_cert_requested")),
    Rule("tls-handshake-failed", "Windows 8.1 and earlier: TLS 1.2", HIGH, "a TLS 1.2 handshake with an endpoint fails",
         "see the evidence: TLS 1.2 off in SCHANNEL (role tls12), or a device in the path", _tls_failed),
    Rule("winhttp-tls12-refused", "Windows 8.1 and earlier: TLS 1.2", HIGH,
         "HTTPS through WinHTTP fails in the TLS handshake: WinHTTP does not offer TLS 1.2, which the endpoints require",
         "role tls12 (WinHTTP DefaultSecureProtocols, SCHANNEL; KB3140245 where it applies), then restart", _winhttp_tls_refused),
    Rule("ncsi-probe-unreachable", "proxy, firewall and Group Policy: NCSI", MEDIUM,
         "the web probe NCSI uses does not answer, so Windows may conclude there is no internet",
         "needs a decision: m365ops_ncsi with restore_probe_defaults: true for a retired probe host, or allow it through the firewall",
         _ncsi_probe_unreachable),
    Rule("windows-updates-old", "Windows updates", MEDIUM, "no update (but Defender definitions) installed for over 60 days",
         "needs a person, or ansible.windows.win_updates: install the pending updates, then restart", _updates_old),
    Rule("windows-update-history-unreadable", "Windows updates", INFO, "the Windows Update Agent cannot be asked (its service disabled?)",
         "nothing by itself: how current the host is was not checked; see the HRESULT", _update_history_unreadable),
    Rule("winrm-quota-low", "preflight", MEDIUM, "a WinRM quota is set below what a large run of the collection needs",
         "needs a person: raise it (winrm set winrm/config/...) or the Group Policy that sets it", _winrm_quota_low),
    Rule("winrm-quota-unread", "preflight", INFO, "a WinRM quota could not be read, so whether it is too low was not checked",
         "nothing by itself: see the error (the account's rights on the WinRM configuration, or the WinRM service)", _winrm_quota_unread),
    Rule("interrupted-run", "any", HIGH, "a run of the collection changed this host and its answer never came back",
         "run remediate.yml (not in check mode, with m365ops_backup_dir): it reads what the interrupted run left, keeps its "
         "backup and closes its journal entry", _interrupted),
    Rule("reboot-owed", "restart", HIGH, "a change of the collection waits for a restart", "restart (ansible.windows.win_reboot)", _reboot_owed),
    Rule("windows-reboot-pending", "restart", MEDIUM, "Windows itself waits for a restart", "restart (ansible.windows.win_reboot)", _pending_reboot),
    Rule("not-click-to-run", "Microsoft 365 Apps", INFO, "no Click-to-Run Microsoft 365 Apps on this workstation",
         "nothing to fix here for these errors: they come from Microsoft 365 Apps", _not_click_to_run),
)


def concerns_named(found: t.Iterable[t.Mapping[str, t.Any]]) -> list[str]:
    """The concerns whose change fixes one of ``found``, in the order they run."""
    named = {item.get("concern") for item in found}
    return list(dict.fromkeys(rule.concern for rule in RULES if rule.concern in named and rule.concern is not None))


def findings(facts: Facts) -> list[dict[str, t.Any]]:
    """Every finding that applies to one host's facts, most severe first, each with its evidence and fix."""
    found = []
    for rule in RULES:
        evidence = rule.evidence(facts)
        if evidence:
            found.append({"id": rule.id, "step": rule.step, "severity": rule.severity, "summary": rule.summary,
                          "evidence": evidence, "fix": rule.fix, "concern": rule.concern})
    return sorted(found, key=lambda item: SEVERITIES.index(item["severity"]))
