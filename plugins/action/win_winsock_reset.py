# -*- coding: utf-8 -*-
# Copyright: m365ops.activation contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Winsock and TCP/IP reset (article: "reset Winsock").

A reset is an action, so it is made idempotent by evidence: it runs only when the Winsock catalog
holds a provider outside the system directory (a third-party Layered Service Provider, deprecated
since Windows 8), or when forced with a once-token that is then recorded on the host, so the same
token never resets twice. 'netsh int ip reset' rewrites the TCP/IP parameters and can turn a static
address into DHCP after the reboot, cutting management off: it is refused on hosts with a
statically configured adapter unless explicitly allowed. netsh is judged by its exit code only;
its text is localized.
"""

from __future__ import annotations

import base64
import binascii
import typing as t

from ansible.errors import AnsibleActionFail

from ansible_collections.m365ops.activation.plugins.plugin_utils.action import ConcernAction, HostState, Plan
from ansible_collections.m365ops.activation.plugins.plugin_utils.programs import ProgramRun
from ansible_collections.m365ops.activation.plugins.plugin_utils.registry import ManagedValues, RegistryKey, RegistryRef, RegistryValue

WINSOCK = r"HKLM\SYSTEM\CurrentControlSet\Services\WinSock2\Parameters"
# (catalog key, value holding the provider DLL): protocol entries pack the path into a binary blob.
CATALOGS = (
    (WINSOCK + r"\Protocol_Catalog9\Catalog_Entries", "PackedCatalogItem"),
    (WINSOCK + r"\Protocol_Catalog9\Catalog_Entries64", "PackedCatalogItem"),
    (WINSOCK + r"\NameSpace_Catalog5\Catalog_Entries", "LibraryPath"),
    (WINSOCK + r"\NameSpace_Catalog5\Catalog_Entries64", "LibraryPath"),
)
INTERFACES = r"HKLM\SYSTEM\CurrentControlSet\Services\Tcpip\Parameters\Interfaces"
SYSTEM_ROOT = RegistryRef(RegistryKey(r"HKLM\SOFTWARE\Microsoft\Windows NT\CurrentVersion"), "SystemRoot")
TOKENS = RegistryRef(RegistryKey(r"HKLM\SOFTWARE\m365ops\activation"), "WinsockResetTokens")
NETSH = r"%SystemRoot%\System32\netsh.exe"
MAX_PATH = 260


def provider_path(value: RegistryValue) -> str:
    """The DLL path of a catalog entry: PackedCatalogItem starts with it as char[MAX_PATH], NUL-terminated."""
    if value.type == "binary":
        try:
            raw = base64.b64decode(value.value)[:MAX_PATH]
        except (binascii.Error, TypeError):
            return ""
        # The ANSI code page is the host's; only the ASCII system-directory prefix is ever compared.
        return raw.split(b"\0", 1)[0].decode("latin-1")
    return str(value.value)


def is_system_provider(path: str, system_root: str) -> bool:
    lowered = path.lower().replace("/", "\\")
    roots = {"%systemroot%", "%windir%", system_root.lower().rstrip("\\")}
    return any(lowered.startswith(f"{root}\\{folder}\\") for root in roots for folder in ("system32", "syswow64"))


def foreign_providers(state: HostState) -> list[dict[str, str]]:
    system_root = state.registry.get(SYSTEM_ROOT)
    root = str(system_root.value) if system_root is not None else r"C:\Windows"
    found = []
    for (key, name), probe in zip(CATALOGS, state.probes):
        for entry, details in sorted(probe.data.get("subkeys", {}).items()):
            stored = RegistryValue.from_agent(details["values"].get(name))
            path = provider_path(stored) if stored is not None else ""
            if path and not is_system_provider(path, root):
                found.append({"catalog": "\\".join(key.split("\\")[-2:]), "entry": entry, "path": path})
    return found


def static_interfaces(state: HostState) -> list[dict[str, t.Any]]:
    probe = state.probes[len(CATALOGS)]
    static = []
    for interface, details in sorted(probe.data.get("subkeys", {}).items()):
        values = details["values"]
        dhcp = values.get("EnableDHCP", {}).get("value")
        addresses = [address for address in values.get("IPAddress", {}).get("value") or [] if address and address != "0.0.0.0"]
        if dhcp == 0 and addresses:
            static.append({"interface": interface, "addresses": addresses})
    return static


class ActionModule(ConcernAction):
    CONCERN = "winsock_reset"
    FACTS_KEY = "winsock"
    MANAGED = (ManagedValues(TOKENS.key.path, (TOKENS.name,)),)
    ARGUMENT_SPEC = {
        "winsock": {"type": "bool", "default": True},
        "ip": {"type": "bool", "default": False},
        "force_token": {"type": "str"},
        "allow_static_ip_reset": {"type": "bool", "default": False},
        "timeout": {"type": "int", "default": 300},
    }

    def check_arguments(self, args: dict[str, t.Any]) -> None:
        if not args["winsock"] and not args["ip"]:
            raise AnsibleActionFail("winsock, ip: at least one of them must be true")
        token = args.get("force_token")
        if token is not None and (not token.strip() or len(token) > 128 or "\0" in token):
            raise AnsibleActionFail("force_token: a non-empty label of at most 128 characters, such as a change or incident number")
        if not 10 <= args["timeout"] <= 3600:
            raise AnsibleActionFail(f"timeout: must be 10 to 3600 seconds, not {args['timeout']}")

    def registry_refs(self, args: dict[str, t.Any]) -> t.Iterable[RegistryRef]:
        return [SYSTEM_ROOT, TOKENS]

    def probe_ops(self, args: dict[str, t.Any]) -> list[dict[str, t.Any]]:
        reads = [{"op": "registry_read_subkeys", "key": key, "view": "64", "names": [name]} for key, name in CATALOGS]
        return [*reads, {"op": "registry_read_subkeys", "key": INTERFACES, "view": "64", "names": ["EnableDHCP", "IPAddress"]}]

    def plan(self, args: dict[str, t.Any], state: HostState) -> Plan:
        return plan_reset(args, state)


def plan_reset(args: dict[str, t.Any], state: HostState) -> Plan:
    plan = Plan()
    foreign = foreign_providers(state)
    static = static_interfaces(state)
    stored = state.registry.get(TOKENS)
    tokens = list(stored.value) if stored is not None and stored.type == "multi_string" else []
    token = args.get("force_token")
    new_token = token is not None and token not in tokens
    plan.facts = {"foreign_providers": foreign, "static_interfaces": static, "tokens": tokens,
                  "reset_because": "third_party_provider" if foreign else "token" if new_token else None}
    if not foreign and not new_token:
        return plan
    why = (f"the Winsock catalog holds {len(foreign)} provider(s) outside the system directory ({foreign[0]['path']})"
           if foreign else f"forced once with token '{token}'")
    if args["ip"] and static and not args["allow_static_ip_reset"]:
        shown = ", ".join(f"{item['interface']} ({', '.join(item['addresses'])})" for item in static)
        plan.failure = (f"refusing 'netsh int ip reset': {shown} has a static address that the reset would turn into DHCP after "
                        "the reboot, which can cut the WinRM management connection. Set allow_static_ip_reset: true to accept "
                        "that, or reset Winsock only (ip: false).")
        return plan
    timeout = args["timeout"]
    if args["winsock"]:
        plan.changes.append(ProgramRun(NETSH, ("winsock", "reset"), f"netsh winsock reset: {why}", True, (0,), timeout))
    if args["ip"]:
        plan.changes.append(ProgramRun(NETSH, ("int", "ip", "reset"), f"netsh int ip reset: {why}", True, (0,), timeout))
    if new_token:
        plan.set_value(state, TOKENS, RegistryValue("multi_string", [*tokens, token]), f"record token '{token}' so it never resets again")
    return plan
