# -*- coding: utf-8 -*-
# Copyright: m365ops.activation contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The WinHTTP default proxy (article: "check whether you are behind a proxy", netsh winhttp set proxy).

Office's sign-in and licensing traffic goes through WinHTTP, which does not use the browser's proxy.
The module reads and writes through the WinHTTP API only; the registry blob behind it is decoded for
the result, to explain state, and never written. Proxies compare semantically: case, spacing, scheme
order and bypass order make no change. The source can be the task's own options or the Internet
Explorer/WinINet settings of the connecting user (what 'netsh winhttp import proxy source=ie' does).
"""

from __future__ import annotations

import typing as t

from ansible.errors import AnsibleActionFail

from ansible_collections.m365ops.activation.plugins.plugin_utils.action import ConcernAction, HostState, Plan
from ansible_collections.m365ops.activation.plugins.plugin_utils.registry import RegistryKey, RegistryRef
from ansible_collections.m365ops.activation.plugins.plugin_utils.winhttp import (
    ProxyChange, ProxyError, ProxySetting, decode_winhttp_settings, normalize_bypass, normalize_proxy,
)

WINHTTP_SETTINGS = RegistryRef(RegistryKey(r"HKLM\SOFTWARE\Microsoft\Windows\CurrentVersion\Internet Settings\Connections"),
                               "WinHttpSettings")
USER_SETTINGS = RegistryKey(r"HKCU\Software\Microsoft\Windows\CurrentVersion\Internet Settings")
IE_VALUES = ("ProxyEnable", "ProxyServer", "ProxyOverride", "AutoConfigURL")


def desired_from_options(args: dict[str, t.Any]) -> ProxySetting:
    proxy = (args.get("proxy") or "").strip()
    if not proxy:
        if args["bypass"]:
            raise AnsibleActionFail("bypass: only meaningful with proxy; direct access has no bypass list")
        return ProxySetting("direct")
    try:
        return ProxySetting("named", normalize_proxy(proxy), tuple(normalize_bypass(args["bypass"])))
    except ProxyError as error:
        raise AnsibleActionFail(str(error)) from error


def desired_from_ie(state: HostState, plan: Plan) -> ProxySetting | None:
    values = {name: state.registry.get(RegistryRef(USER_SETTINGS, name)) for name in IE_VALUES}
    if values["AutoConfigURL"] is not None:
        plan.warnings.append(f"the user's Internet settings use a PAC file ({values['AutoConfigURL'].value}); WinHTTP's default "
                             "configuration cannot hold one, so only the static proxy part is imported")
    enabled = values["ProxyEnable"]
    server = values["ProxyServer"]
    if enabled is None or enabled.value != 1 or server is None or not str(server.value).strip():
        return ProxySetting("direct")
    override = str(values["ProxyOverride"].value) if values["ProxyOverride"] is not None else ""
    try:
        return ProxySetting("named", normalize_proxy(str(server.value)), tuple(normalize_bypass(override.split(";"))))
    except ProxyError as error:
        plan.failure = f"the user's Internet settings hold a proxy WinHTTP cannot use ({error}); nothing was changed"
        return None


class ActionModule(ConcernAction):
    CONCERN = "winhttp_proxy"
    FACTS_KEY = "winhttp"
    ARGUMENT_SPEC = {
        "proxy": {"type": "str"},
        "bypass": {"type": "list", "elements": "str", "default": []},
        "source": {"type": "str", "default": "options", "choices": ["options", "ie"]},
    }

    def check_arguments(self, args: dict[str, t.Any]) -> None:
        if args["source"] == "ie" and (args.get("proxy") or args["bypass"]):
            raise AnsibleActionFail("source: 'ie' imports proxy and bypass from the user's Internet settings; do not also give proxy or bypass")
        if args["source"] == "options":
            desired_from_options(args)

    def registry_refs(self, args: dict[str, t.Any]) -> t.Iterable[RegistryRef]:
        yield WINHTTP_SETTINGS
        if args["source"] == "ie":
            yield from (RegistryRef(USER_SETTINGS, name) for name in IE_VALUES)

    def probe_ops(self, args: dict[str, t.Any]) -> list[dict[str, t.Any]]:
        return [{"op": "winhttp_proxy_read"}]

    def plan(self, args: dict[str, t.Any], state: HostState) -> Plan:
        return plan_proxy(args, state)


def plan_proxy(args: dict[str, t.Any], state: HostState) -> Plan:
    plan = Plan()
    current = ProxySetting.from_agent(state.probes[0].data)
    desired = desired_from_ie(state, plan) if args["source"] == "ie" else desired_from_options(args)
    blob = state.registry.get(WINHTTP_SETTINGS)
    plan.facts = {
        "current": current.as_agent(),
        "desired": None if desired is None else desired.as_agent(),
        "registry_blob": decode_winhttp_settings(blob.value) if blob is not None and blob.type == "binary" else None,
    }
    if desired is not None and not current.same_as(desired):
        plan.changes.append(ProxyChange(current, desired, f"WinHTTP uses {current.describe()}, not {desired.describe()}"))
    return plan
