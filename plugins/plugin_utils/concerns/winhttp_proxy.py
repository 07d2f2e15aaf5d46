# -*- coding: utf-8 -*-
# Copyright: m365ops.activation contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The WinHTTP default proxy (article: "check whether you are behind a proxy", netsh winhttp set proxy).

Office's sign-in and licensing traffic goes through WinHTTP, which does not follow the browser's (WinINet)
proxy. The classic cause of 0xCAA70007 at proxy sites is WinHTTP going direct while WinINet names a proxy.

- By default (source ``auto`` without proxy or direct) nothing a site configured and that works is removed or replaced:
  a WinHTTP view that goes direct gets the static proxy WinINet names, when every WinINet source (the
  machine's when the ProxySettingsPerUser policy is 0, else every signed-in user's, read through
  HKEY_USERS) names the same one and it is not this machine. A PAC file, automatic detection, users
  who disagree, or WinHTTP naming another proxy than WinINet are reported as drift, and nothing changes.
- A proxy is imported only when it answers: the import is tested first, in one more read-only execution, by a request
  to the sign-in endpoint through that proxy; a proxy that does not answer from the host would turn a working direct
  route into a broken one, and is drift with the evidence (review G24). A host without a proxy to import costs no
  extra execution.
- A proxy a WinHTTP view names is replaced only where it does not answer from the host while every other source (the
  other view, each WinINet source) agrees on one route that carries a request, both tested in that same extra
  execution (review G25); where the sources disagree or nothing is proven, drift with the evidence.
- An explicit desired state replaces what is there: ``proxy`` (host:port or per scheme) or ``direct: true``.
  A blank string is an error, never "direct".
- On 64-bit Windows both registry views are read, compared, written (the 64-bit one through the WinHTTP
  API, the 32-bit one through the 32-bit netsh) and read back; a read-back that differs fails the task.
"""

from __future__ import annotations

import typing as t

from ansible.errors import AnsibleActionFail

from ansible_collections.m365ops.activation.plugins.plugin_utils.engine.agent import OpResult
from ansible_collections.m365ops.activation.plugins.plugin_utils.engine.concern import Concern, HostState, Plan, ProbeContext, Reason
from ansible_collections.m365ops.activation.plugins.plugin_utils.registry import RegistryKey, RegistryRef, dword_of
from ansible_collections.m365ops.activation.plugins.plugin_utils.user_sessions import signed_in_users
from ansible_collections.m365ops.activation.plugins.plugin_utils.winhttp import (
    VIEW_NAMES, ProxyChange, ProxyError, ProxySetting, WinInetProxy, blob_of, current_views, decode_connection_settings, is_loopback,
    normalize_bypass, normalize_proxy, settings_ref, split_proxy, verify_ops, verify_proxy, winhttp_error,
)

INTERNET_SETTINGS = r"Software\Microsoft\Windows\CurrentVersion\Internet Settings"
MACHINE_SETTINGS = RegistryKey("HKLM\\" + INTERNET_SETTINGS)
MACHINE_CONNECTIONS = RegistryRef(RegistryKey("HKLM\\" + INTERNET_SETTINGS + r"\Connections"), "DefaultConnectionSettings")
# Group Policy "Make proxy settings per-machine (rather than per-user)": 0 means every user gets the machine's settings.
PER_USER_POLICY = RegistryRef(RegistryKey(r"HKLM\SOFTWARE\Policies\Microsoft\Windows\CurrentVersion\Internet Settings"),
                              "ProxySettingsPerUser")
# How an import is proven first: a request to the sign-in endpoint through the proxy (any HTTP answer means it answers).
PROXY_TEST_URL = "https://login.microsoftonline.com/"
PROXY_TEST_AGENT = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) m365ops-activation-proxy-check"
PROXY_TEST_TIMEOUT_MS = 10000
# The WinHTTP errors of a request that say the proxy itself did not answer: its name, the connection, the wait. Any other
# answer (an HTTP status, a TLS failure through its tunnel: TLS 1.2 still off on this host) is the proxy answering.
PROXY_SILENT = frozenset({12002, 12007, 12029, 12030})
# The values Internet Options writes beside DefaultConnectionSettings; read when the blob is absent.
LEGACY_VALUES = ("ProxyEnable", "ProxyServer", "ProxyOverride", "AutoConfigURL")


def explicit_desired(args: dict[str, t.Any]) -> ProxySetting | None:
    """The desired state the options name, or None when they leave it to WinINet."""
    if args["direct"]:
        return ProxySetting("direct")
    if args.get("proxy") is None:
        return None
    try:
        return ProxySetting("named", normalize_proxy(args["proxy"]), tuple(normalize_bypass(args["bypass"])))
    except ProxyError as error:
        raise AnsibleActionFail(str(error)) from error


def check_proxy_arguments(args: dict[str, t.Any]) -> None:
    if args["direct"] and args.get("proxy") is not None:
        raise AnsibleActionFail("direct, proxy: give one desired state, a proxy or direct access")
    if args["bypass"] and args.get("proxy") is None:
        raise AnsibleActionFail("bypass: only meaningful with proxy; direct access and WinINet imports have no bypass option")
    explicit = args["direct"] or args.get("proxy") is not None
    if args["source"] == "options" and not explicit:
        raise AnsibleActionFail("source: 'options' needs proxy (host:port) or direct: true; nothing else means direct access")
    if args["source"] == "wininet" and explicit:
        raise AnsibleActionFail("source: 'wininet' imports the proxy WinINet names; do not also give proxy or direct")
    if args.get("wininet_user") is not None and (explicit or args["source"] == "options"):
        raise AnsibleActionFail("wininet_user: names whose WinINet settings to import; not used with proxy or direct")
    if args.get("wininet_user") is not None and not args["wininet_user"].strip():
        raise AnsibleActionFail("wininet_user: blank; give a signed-in user's name (DOMAIN\\user or user) or SID")
    explicit_desired(args)


class WinHttpProxy(Concern):
    NAME = "winhttp_proxy"
    FACTS_KEY = "winhttp"
    ARGUMENT_SPEC = {
        "proxy": {"type": "str"},
        "bypass": {"type": "list", "elements": "str", "default": []},
        "direct": {"type": "bool", "default": False},
        "source": {"type": "str", "default": "auto", "choices": ["auto", "wininet", "options"]},
        "wininet_user": {"type": "str"},
        "dead_proxy": {"type": "str", "default": "replace", "choices": ["replace", "report"]},
    }

    def check_arguments(self, args: dict[str, t.Any]) -> None:
        check_proxy_arguments(args)

    def registry_refs(self, args: dict[str, t.Any]) -> t.Iterable[RegistryRef]:
        yield settings_ref("64")
        yield settings_ref("32")
        yield PER_USER_POLICY
        yield MACHINE_CONNECTIONS
        yield from (RegistryRef(MACHINE_SETTINGS, name) for name in LEGACY_VALUES)

    def probe_ops(self, args: dict[str, t.Any], context: ProbeContext) -> dict[str, dict[str, t.Any]]:
        return {
            "winhttp_proxy": {"op": "winhttp_proxy_read"},
            "sessions": {"op": "user_sessions"},
            "user_connections": {"op": "registry_read_user_hives", "subkey": INTERNET_SETTINGS + r"\Connections", "names": ["DefaultConnectionSettings"]},
            "user_settings": {"op": "registry_read_user_hives", "subkey": INTERNET_SETTINGS, "names": list(LEGACY_VALUES)},
        }

    def followup_ops(self, args: dict[str, t.Any], state: HostState) -> dict[str, dict[str, t.Any]]:
        """The requests that prove a change before the default makes it: through the proxy it would import (G24), and
        through a view's proxy and the route every other source agrees on (G25). None on a host without a proxy."""
        candidate = import_candidate(args, state)
        ops = {"proxy_answers": route_test(candidate)} if candidate is not None else {}
        for current, route in replacement_candidates(args, state).values():
            ops.update({route_test_name(current): route_test(current), route_test_name(route): route_test(route)})
        return ops

    def plan(self, args: dict[str, t.Any], state: HostState) -> Plan:
        return plan_proxy(args, state)

    def verify_ops(self, args: dict[str, t.Any], plan: Plan) -> dict[str, dict[str, t.Any]]:
        return verify_ops(plan.changes)

    def verify(self, args: dict[str, t.Any], plan: Plan, applied: t.Sequence[OpResult], checks: t.Mapping[str, OpResult]) -> list[str]:
        return verify_proxy(plan.changes, applied, checks)


def _legacy_settings(values: t.Mapping[str, t.Any]) -> dict[str, t.Any]:
    """What Internet Options' plain values say, for a configuration without a DefaultConnectionSettings blob."""
    def value(name: str) -> t.Any:
        entry = values.get(name)
        return entry.get("value") if isinstance(entry, t.Mapping) else None
    return {"manual_proxy": value("ProxyEnable") == 1, "proxy": value("ProxyServer"), "bypass": value("ProxyOverride"),
            "pac": bool(value("AutoConfigURL")), "pac_url": value("AutoConfigURL"), "auto_detect": False}


def _settings(blob: t.Any, legacy: t.Mapping[str, t.Any]) -> dict[str, t.Any]:
    decoded = decode_connection_settings(blob["value"]) if isinstance(blob, t.Mapping) and blob.get("type") == "binary" else None
    return decoded if decoded is not None else _legacy_settings(legacy)


def wininet_sources(args: dict[str, t.Any], state: HostState, plan: Plan) -> tuple[str, list[WinInetProxy]]:
    """Whose WinINet settings count ("machine", "user" or "users"), and what each names."""
    if dword_of(state.registry.get(PER_USER_POLICY)) == 0:
        legacy = {name: value.as_dict() for name in LEGACY_VALUES if (value := state.registry.get(RegistryRef(MACHINE_SETTINGS, name)))}
        blob = state.registry.get(MACHINE_CONNECTIONS)
        settings = _settings(blob.as_dict() if blob else None, legacy)
        return "machine", [WinInetProxy.from_settings("the machine (policy ProxySettingsPerUser=0)", settings)]
    sessions, connections, legacy_values = (state.probe(name).data for name in ("sessions", "user_connections", "user_settings"))
    users = signed_in_users(sessions)
    wanted = args.get("wininet_user")
    if wanted is not None:
        key = wanted.strip().lower()
        match = {sid: user for sid, user in users.items() if key in (sid.lower(), user.lower(), user.rsplit("\\", 1)[-1].lower())}
        if not match:
            signed_in = ", ".join(sorted(users.values())) or "nobody"
            plan.failure = (f"wininet_user: '{wanted}' has no interactive session on this host (signed in: {signed_in}); "
                            "the WinINet settings of a user who is not signed in are in a profile hive that is not loaded")
            return "user", []
        users = match
    sources = []
    for sid, user in sorted(users.items(), key=lambda item: item[1].lower()):
        hive = (connections.get("hives") or {}).get(sid, {})
        legacy = ((legacy_values.get("hives") or {}).get(sid) or {}).get("values") or {}
        settings = _settings((hive.get("values") or {}).get("DefaultConnectionSettings"), legacy)
        sources.append(WinInetProxy.from_settings(f"{user} ({sid})", settings))
    if wanted is None:
        # A signed-in user the host could not identify has settings nobody read: no source can be said to agree.
        sources += [WinInetProxy(str(item.get("user")), problem=f"the settings of {item.get('user')}, signed in, could not be read: the host "
                                 "could not find the SID of that user") for item in sessions.get("unresolved") or []]
    return ("user" if wanted is not None else "users"), sources


def importable(sources: t.Sequence[WinInetProxy]) -> tuple[ProxySetting | None, str | None]:
    """The one static proxy every source names, or why there is none to import."""
    if not sources:
        return None, "no WinINet settings were found to compare (no user is signed in)"
    if any(source.pac_url for source in sources):
        return None, "WinINet uses a PAC file, which WinHTTP's default configuration cannot hold"
    unusable = [source for source in sources if source.problem]
    if unusable:
        return None, unusable[0].problem
    settings = [source.setting for source in sources]
    first = settings[0]
    if first is None or any(setting is None or not setting.same_as(first) for setting in settings):
        return None, "the WinINet settings do not all name the same static proxy"
    if is_loopback(first.proxy or ""):
        return None, f"WinINet names a proxy on this machine ({first.proxy}), which is not the site's proxy"
    return first, None


def import_candidate(args: dict[str, t.Any], state: HostState) -> ProxySetting | None:
    """The proxy the default would import into a WinHTTP view that goes direct, or None (nothing to test)."""
    if explicit_desired(args) is not None:
        return None
    scratch = Plan()
    _scope, sources = wininet_sources(args, state, scratch)
    return None if scratch.failure else candidate_of(current_views(state, state.probe("winhttp_proxy")), sources)


def candidate_of(views: t.Mapping[str, ProxySetting], sources: t.Sequence[WinInetProxy]) -> ProxySetting | None:
    """WinINet's agreed static proxy where a WinHTTP view goes direct: what the default would import."""
    agreed, _why_not = importable(sources)
    return agreed if agreed is not None and any(view.access_type == "direct" for view in views.values()) else None


def https_server(setting: ProxySetting) -> str:
    """The server a proxy setting sends HTTPS to: its ``https=`` entry, else its one server."""
    canonical, _ignored = split_proxy(str(setting.proxy))
    entries = dict(entry.split("=", 1) for entry in canonical.split(";") if "=" in entry)
    return entries.get("https") or entries.get("http") or canonical


def route_test(setting: ProxySetting) -> dict[str, t.Any]:
    """The request that tests a route from the host: to the sign-in endpoint, directly or through the proxy."""
    return {"op": "http_request", "urls": [PROXY_TEST_URL], "user_agent": PROXY_TEST_AGENT,
            "proxy": "direct" if setting.access_type == "direct" else https_server(setting), "timeout_ms": PROXY_TEST_TIMEOUT_MS}


def route_test_name(setting: ProxySetting) -> str:
    return "route_test direct" if setting.access_type == "direct" else f"route_test {https_server(setting)}"


def tested(state: HostState, name: str) -> tuple[bool, bool, str]:
    """(whether the route answered at all, whether it carried the request to an HTTP answer, the evidence) from the
    follow-up request ``name``; a route that was not tested did neither."""
    if name not in state.followups:
        return False, False, "it was not tested"
    request = next(iter(state.followup(name).data.get("requests") or []), {})
    if request.get("status"):
        return True, True, f"it answered HTTP {request['status']} to {PROXY_TEST_URL}"
    if request and request.get("error_code") not in PROXY_SILENT:
        return True, False, f"it answered; the request to {PROXY_TEST_URL} through it then failed with {winhttp_error(request)}"
    return False, False, f"it did not answer from this host ({winhttp_error(request)} for {PROXY_TEST_URL})"


def proxy_answers(state: HostState) -> tuple[bool, str]:
    """Whether the import's proxy answered the test request of the follow-up, and the evidence either way."""
    answered, _works, evidence = tested(state, "proxy_answers")
    return answered, evidence


def other_routes(views: t.Mapping[str, ProxySetting], sources: t.Sequence[WinInetProxy], view: str) -> list[ProxySetting | None]:
    """The route each source but WinHTTP's ``view`` gives: the other view's setting, each WinINet source's static proxy
    or direct access (automatic detection alone is Windows' default); None where a source names no route that can be
    written (a PAC file, a proxy WinHTTP cannot use, another access type, settings nobody could read)."""
    routes: list[ProxySetting | None] = [other if other.access_type in ("direct", "named") else None for name, other in views.items() if name != view]
    routes += [None if source.pac_url or source.problem else (source.setting or ProxySetting("direct")) for source in sources]
    return routes


def replacement_candidates(args: dict[str, t.Any], state: HostState) -> dict[str, tuple[ProxySetting, ProxySetting]]:
    """What the default would replace (``replacements``), from the probe's answers; nothing for an explicit desired state."""
    if explicit_desired(args) is not None:
        return {}
    scratch = Plan()
    _scope, sources = wininet_sources(args, state, scratch)
    return {} if scratch.failure else replacements(current_views(state, state.probe("winhttp_proxy")), sources)


def replacements(views: t.Mapping[str, ProxySetting], sources: t.Sequence[WinInetProxy]) -> dict[str, tuple[ProxySetting, ProxySetting]]:
    """Per WinHTTP view that names a proxy: (that proxy, the one other route every other source agrees on), only where
    some WinINet setting was read; the follow-up then proves the proxy silent and the route working before anything
    changes (review G25)."""
    if not sources:
        return {}
    found = {}
    for view, current in views.items():
        routes = other_routes(views, sources, view)
        agreed = routes[0] if routes else None
        if current.access_type != "named" or agreed is None or any(route is None or not route.same_as(agreed) for route in routes):
            continue
        if not agreed.same_as(current) and not (agreed.access_type == "named" and is_loopback(agreed.proxy or "")):
            found[view] = (current, agreed)
    return found


def plan_replacements(plan: Plan, state: HostState, views: t.Mapping[str, ProxySetting], sources: t.Sequence[WinInetProxy],
                      replace: bool = True) -> set[str]:
    """Replace a view's proxy that did not answer from the host with the route every other source agrees on, where that
    route carried the test request (unless ``replace`` is off: dead_proxy report); otherwise say why not. Returns the
    views replaced."""
    replaced = set()
    for view, (current, route) in replacements(views, sources).items():
        answered, _works, silence = tested(state, route_test_name(current))
        _answered, works, carried = tested(state, route_test_name(route))
        label = f"WinHTTP ({VIEW_NAMES[view]} view)"
        proven = not answered and works
        plan.facts.setdefault("route_tests", {})[view] = {"proxy": current.describe(), "proxy_evidence": silence, "route": route.describe(),
                                                          "route_evidence": carried, "proven_dead": proven, "replaced": proven and replace}
        if proven and not replace:
            plan.drift.append(Reason(
                "winhttp_proxy.dead_proxy_reported",
                f"{label} names {current.describe()}, and {silence}; every other source agrees on {route.describe()}, and {carried}. "
                "Left in place (dead_proxy: report): set the proxy the site wants explicitly (proxy: host:port, or direct: true)."))
            continue
        if proven:
            plan.changes.append(ProxyChange(current, route, f"{label} names {current.describe()}, and {silence}; every other source "
                                                            f"agrees on {route.describe()}, and {carried}: replaced by it", view))
            replaced.add(view)
        else:
            why = f"the proxy answered from this host ({silence})" if answered else f"{route.describe()} did not carry a request from this host ({carried})"
            plan.drift.append(Reason(
                "winhttp_proxy.proxy_not_replaced",
                f"{label} names {current.describe()}, while every other source agrees on {route.describe()}; not replaced, because "
                f"{why}. Set the proxy explicitly (proxy: host:port, or direct: true)."))
    return replaced


def plan_proxy(args: dict[str, t.Any], state: HostState) -> Plan:
    plan = Plan()
    views = current_views(state, state.probe("winhttp_proxy"))
    scope, sources = wininet_sources(args, state, plan)
    desired = explicit_desired(args)
    plan.facts = {
        "views": {view: setting.as_agent() for view, setting in views.items()},
        "registry_blobs": {view: blob_of(state, view) for view in views},
        "wininet": {"scope": scope, "sources": [source.as_fact() for source in sources]},
        "desired": None if desired is None else desired.as_agent(),
        "imported_from": [],
    }
    if plan.failure:
        return plan
    for source in sources:
        if source.ignored:
            plan.warnings.append(f"WinINet of {source.source} has entries WinHTTP ignores (no SOCKS support): {'; '.join(source.ignored)}")
    if desired is not None:
        for view, current in views.items():
            if not current.same_as(desired):
                plan.changes.append(ProxyChange(current, desired, f"WinHTTP ({VIEW_NAMES[view]} view) uses {current.describe()}, "
                                                                  f"not {desired.describe()} as asked", view))
        return plan
    if args["source"] == "wininet" and not sources:
        plan.failure = "source: 'wininet' found no WinINet settings to import (no user is signed in); nothing was changed"
        return plan
    replaced = plan_replacements(plan, state, views, sources, replace=args["dead_proxy"] == "replace")
    plan_import(plan, views, sources, proxy_answers(state) if candidate_of(views, sources) is not None else (True, ""), replaced)
    return plan


def plan_import(plan: Plan, views: dict[str, ProxySetting], sources: t.Sequence[WinInetProxy], answered: tuple[bool, str],
                replaced: t.AbstractSet[str] = frozenset()) -> None:
    """Add WinINet's agreed static proxy to direct views when it answered from the host (``answered``: whether, and the
    evidence); report every disagreement, and a proxy that does not answer, as drift; change nothing else but the views
    ``replaced`` already changed (plan_replacements)."""
    agreed, why_not = importable(sources)
    if agreed is not None and not answered[0]:
        agreed, why_not = None, (f"{agreed.describe()} is not imported because {answered[1]}: importing it would break the route "
                                 "this host has")
    if answered[1]:
        plan.facts["import_test"] = {"answered": answered[0], "evidence": answered[1]}
    evidence = "; ".join(f"{source.source}: {source.describe()}" for source in sources)
    for view, current in views.items():
        label = f"WinHTTP ({VIEW_NAMES[view]} view)"
        if view in replaced:
            continue
        if current.access_type == "other":
            plan.drift.append(Reason(
                "winhttp_proxy.unknown_setting",
                f"{label} reports {current.describe()}; left in place. Set the proxy explicitly (proxy: host:port, "
                "or direct: true) to replace it."))
            continue
        if current.access_type == "direct":
            if agreed is not None:
                plan.changes.append(ProxyChange(current, agreed, f"{label} goes direct while WinINet names {agreed.describe()} "
                                                                 f"({evidence}): imported, as 'netsh winhttp import proxy' does", view))
                plan.facts["imported_from"] = [source.source for source in sources]
            elif any(source.setting or source.pac_url or source.problem for source in sources):
                plan.drift.append(Reason(
                    "winhttp_proxy.wininet_not_imported",
                    f"{label} goes direct while WinINet does not ({evidence}); not imported: {why_not}. "
                    "Set the proxy explicitly (proxy: host:port)."))
            # WinINet's automatic detection alone is Windows' default and says nothing about a proxy: it stays in the facts.
            continue
        for source in sources:
            if source.setting is not None and not source.setting.same_as(current):
                plan.drift.append(Reason(
                    "winhttp_proxy.wininet_differs",
                    f"{label} names {current.describe()} while WinINet of {source.source} names "
                    f"{source.setting.describe()}; set the one the site wants explicitly (proxy: host:port)"))
    if len(views) == 2 and not views["64"].same_as(views["32"]):
        after = {change.view: change.after for change in plan.changes}
        if not after.get("64", views["64"]).same_as(after.get("32", views["32"])):
            plan.drift.append(Reason(
                "winhttp_proxy.views_differ",
                f"the 64-bit and 32-bit WinHTTP views differ ({views['64'].describe()} / {views['32'].describe()}); "
                "32-bit Office uses the 32-bit one. Set the proxy explicitly (proxy: host:port, or direct: true)."))
