# -*- coding: utf-8 -*-
# Copyright: m365ops.activation contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Winsock and TCP/IP reset (article: "reset Winsock").

A reset is an action, so it is made idempotent by evidence of damage, or forced with a once-token that is
recorded on the host. 'netsh winsock reset' removes every third-party provider, so a provider outside the
system directory is not evidence by itself (Apple Bonjour, VPN and security products install one on
purpose): those are reported, and reset only when asked. Evidence is a layered protocol (an LSP, chain
length 0, or a chain over a base protocol; deprecated since Windows 8), a protocol catalog without the
system's base provider, or an entry whose DLL is not on disk (a product removed without unregistering it).
The system's provider files are looked at in the probe; files of other products named by the catalog take
one more read-only agent run, only on hosts that have such providers. The evidence a reset acted on is
recorded (a hash of the catalog), so a product that puts its provider back makes a blocker, not a reset and
an owed reboot on every run. 'netsh int ip reset' rewrites the TCP/IP parameters and can turn a static
address or static DNS servers into DHCP after the reboot, cutting management off: it is refused on such
hosts unless explicitly allowed; its exit code 1 after doing most of its work is a partial reset, reported,
not a failure to repeat. netsh is judged by its exit code only; its text is localized.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import struct
import typing as t

from ansible.errors import AnsibleActionFail

from ansible_collections.m365ops.activation.plugins.plugin_utils.engine.concern import Concern, HostState, Plan, ProbeContext, Reason
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
# Hashes of the catalogs a reset acted on: the same catalog again means a product re-registers its provider.
RESET_CATALOGS = RegistryRef(RegistryKey(r"HKLM\SOFTWARE\m365ops\activation"), "WinsockResetCatalogs")
NETSH = r"%SystemRoot%\System32\netsh.exe"
MAX_PATH = 260
# WSAPROTOCOL_INFOW.ProtocolChain.ChainLen, after dwServiceFlags1-4, dwProviderFlags, ProviderId and dwCatalogEntryId.
CHAIN_LENGTH_OFFSET = MAX_PATH + 40
BASE_PROVIDER = "mswsock.dll"
# The providers Windows 7 to 11 register themselves (Hyper-V and VM sockets included), looked at in every probe.
SYSTEM_PROVIDER_DLLS = ("mswsock.dll", "hvsocket.dll", "vsocklib.dll", "rsvpsp.dll", "nlaapi.dll", "napinsp.dll", "pnrpnsp.dll",
                        "winrnr.dll", "wshbth.dll")
SYSTEM_PROVIDER_FILES = tuple(f"%SystemRoot%\\{folder}\\{dll}" for folder in ("System32", "SysWOW64") for dll in SYSTEM_PROVIDER_DLLS)


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


def chain_length(value: RegistryValue) -> int | None:
    """ProtocolChain.ChainLen of a protocol entry: 1 base protocol, 0 layered protocol, more a chain over a base one."""
    try:
        return int(struct.unpack_from("<i", base64.b64decode(value.value), CHAIN_LENGTH_OFFSET)[0])
    except (binascii.Error, TypeError, struct.error):
        return None


def is_system_provider(path: str, system_root: str) -> bool:
    lowered = path.lower().replace("/", "\\")
    roots = {"%systemroot%", "%windir%", system_root.lower().rstrip("\\")}
    return any(lowered.startswith(f"{root}\\{folder}\\") for root in roots for folder in ("system32", "syswow64"))


def catalog_read(key: str) -> str:
    """A catalog's name, as its entries report it and its probe read is named: the last two parts of its key."""
    return "\\".join(key.split("\\")[-2:])


def catalog_entries(state: HostState) -> list[dict[str, t.Any]]:
    """Every entry of the four catalogs: catalog, entry, provider path, chain length (protocol entries) and origin."""
    root = _system_root(state)
    entries = []
    for key, name in CATALOGS:
        for entry, details in sorted(state.probe(catalog_read(key)).data.get("subkeys", {}).items()):
            stored = RegistryValue.from_agent(details["values"].get(name))
            path = provider_path(stored) if stored is not None else ""
            entries.append({"catalog": catalog_read(key), "entry": entry, "path": path,
                            "chain_length": chain_length(stored) if stored is not None and stored.type == "binary" else None,
                            "system": bool(path) and is_system_provider(path, root)})
    return entries


def _system_root(state: HostState) -> str:
    stored = state.registry.get(SYSTEM_ROOT)
    return str(stored.value) if stored is not None else r"C:\Windows"


def provider_file(item: dict[str, t.Any], wow64: bool) -> str:
    """The file a catalog entry loads. A 32-bit catalog entry under system32 loads from SysWOW64 on 64-bit Windows."""
    path = item["path"]
    if wow64 and item["system"] and not item["catalog"].endswith("64"):
        folder = "\\system32\\"
        index = path.lower().replace("/", "\\").find(folder)
        if index >= 0:
            path = f"{path[:index]}\\SysWOW64\\{path[index + len(folder):]}"
    return path


def _file_key(path: str, system_root: str) -> str:
    lowered = path.lower().replace("/", "\\")
    for variable in ("%systemroot%", "%windir%"):
        lowered = lowered.replace(variable, system_root.lower().rstrip("\\"))
    return lowered


def provider_files(state: HostState) -> dict[str, bool]:
    """Whether each file asked about exists, by normalised path (the probe's system files, then any followup)."""
    root = _system_root(state)
    answers = [state.probe("system_files"), *state.followups.values()]
    return {_file_key(path, root): bool(entry.get("exists")) for answer in answers for path, entry in answer.data.get("files", {}).items()}


def missing_files(state: HostState, entries: t.Sequence[dict[str, t.Any]]) -> tuple[list[str], list[dict[str, t.Any]]]:
    """(files the catalog names that nobody has looked at yet, entries whose file is known not to exist)."""
    known = provider_files(state)
    root = _system_root(state)
    unknown, missing = [], []
    for item in entries:
        if not item["path"]:
            continue
        wanted = provider_file(item, state.windows.has_wow64)
        seen = known.get(_file_key(wanted, root))
        if seen is None:
            unknown.append(wanted)
        elif not seen:
            missing.append({**item, "file": wanted})
    return sorted(set(unknown), key=str.lower), missing


def damage(entries: t.Sequence[dict[str, t.Any]], missing: t.Sequence[dict[str, t.Any]] = ()) -> list[str]:
    """What says the catalog is broken: layered protocols, protocol catalogs without the system's base provider, and
    entries whose DLL is not on disk."""
    found = [f"{item['catalog']} {item['entry']}: layered protocol {item['path'] or '(no path)'} (chain length {item['chain_length']})"
             for item in entries if item["chain_length"] is not None and item["chain_length"] != 1]
    found += [f"{item['catalog']} {item['entry']}: provider {item['file']} does not exist" for item in missing]
    for catalog in sorted({item["catalog"] for item in entries if item["catalog"].startswith("Protocol_Catalog9")}):
        if not any(item["catalog"] == catalog and item["chain_length"] == 1 and item["path"].lower().endswith(BASE_PROVIDER)
                   for item in entries):
            found.append(f"{catalog}: no base protocol provider ({BASE_PROVIDER})")
    return found


def catalog_hash(entries: t.Sequence[dict[str, t.Any]]) -> str:
    """A fingerprint of the catalog's providers, to recognise the same catalog after a product restored it."""
    text = "\n".join(sorted(f"{item['catalog']}|{item['path'].lower()}|{item['chain_length']}" for item in entries))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def _guid(text: t.Any) -> str:
    return str(text or "").strip("{}").lower()


def static_interfaces(state: HostState) -> list[dict[str, t.Any]]:
    """Interfaces of present adapters with a static address (IPv4 from the registry, IPv4 and IPv6 as Windows reports
    them) or static DNS servers: what 'netsh int ip reset' turns into DHCP. Keys of removed adapters are left out."""
    probe = state.probe("interfaces")
    adapters = state.probe("adapters").data.get("adapters") or []
    present = {_guid(adapter.get("guid")): adapter for adapter in adapters}
    static = []
    for interface, details in sorted(probe.data.get("subkeys", {}).items()):
        adapter = present.pop(_guid(interface), None)
        if adapters and adapter is None:
            continue
        values = details["values"]
        dhcp = values.get("EnableDHCP", {}).get("value")
        addresses = [address for address in values.get("IPAddress", {}).get("value") or [] if address and address != "0.0.0.0"]
        servers = [server for server in str(values.get("NameServer", {}).get("value") or "").replace(",", " ").split() if server]
        manual = [address for address in (adapter or {}).get("manual_addresses") or [] if address not in addresses]
        if (dhcp == 0 and addresses) or servers or manual:
            static.append({"interface": (adapter or {}).get("name") or interface, "addresses": (addresses if dhcp == 0 else []) + manual,
                           "dns_servers": servers})
    # An adapter whose registry key was not read (none should be) still counts with what Windows reports.
    for adapter in present.values():
        if adapter.get("manual_addresses"):
            static.append({"interface": adapter.get("name"), "addresses": list(adapter["manual_addresses"]), "dns_servers": []})
    return static


class WinsockReset(Concern):
    NAME = "winsock_reset"
    FACTS_KEY = "winsock"
    MANAGED = (ManagedValues(TOKENS.key.path, (TOKENS.name, RESET_CATALOGS.name), kinds=("multi_string",), max_text=256),)
    ARGUMENT_SPEC = {
        "winsock": {"type": "bool", "default": True},
        "ip": {"type": "bool", "default": False},
        "force_token": {"type": "str"},
        "allow_static_ip_reset": {"type": "bool", "default": False},
        "reset_third_party": {"type": "bool", "default": False},
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
        return [SYSTEM_ROOT, TOKENS, RESET_CATALOGS]

    def probe_ops(self, args: dict[str, t.Any], context: ProbeContext) -> dict[str, dict[str, t.Any]]:
        reads = {catalog_read(key): {"op": "registry_read_subkeys", "key": key, "view": "64", "names": [name]} for key, name in CATALOGS}
        return {**reads, "interfaces": {"op": "registry_read_subkeys", "key": INTERFACES, "view": "64", "names": ["EnableDHCP", "IPAddress", "NameServer"]},
                "system_files": {"op": "file_stat", "paths": list(SYSTEM_PROVIDER_FILES)}, "adapters": {"op": "adapter_list"}}

    def followup_ops(self, args: dict[str, t.Any], state: HostState) -> dict[str, dict[str, t.Any]]:
        unknown, _missing = missing_files(state, catalog_entries(state))
        return {"catalog_files": {"op": "file_stat", "paths": unknown}} if unknown else {}

    def plan(self, args: dict[str, t.Any], state: HostState) -> Plan:
        return plan_reset(args, state)


def _strings(state: HostState, ref: RegistryRef) -> list[str]:
    stored = state.registry.get(ref)
    return list(stored.value) if stored is not None and stored.type == "multi_string" else []


def plan_reset(args: dict[str, t.Any], state: HostState) -> Plan:
    plan = Plan()
    entries = catalog_entries(state)
    _unknown, missing = missing_files(state, entries)
    broken = damage(entries, missing)
    absent = {(item["catalog"], item["entry"]) for item in missing}
    third_party = [item for item in entries if item["path"] and not item["system"] and item["chain_length"] in (1, None)
                   and (item["catalog"], item["entry"]) not in absent]
    static = static_interfaces(state)
    tokens = _strings(state, TOKENS)
    reset_catalogs = _strings(state, RESET_CATALOGS)
    fingerprint = catalog_hash(entries)
    token = args.get("force_token")
    new_token = token is not None and token not in tokens
    evidence = broken + ([f"third-party provider {item['path']} ({item['catalog']})" for item in third_party] if args["reset_third_party"] else [])
    plan.facts = {"damage": broken, "third_party_providers": third_party, "static_interfaces": static, "tokens": tokens,
                  "catalog_hash": fingerprint, "reset_because": "damage" if evidence else "token" if new_token else None}
    if third_party and not args["reset_third_party"]:
        plan.warnings.append("the Winsock catalog holds third-party providers, left in place: "
                             + ", ".join(sorted({item["path"] for item in third_party}))
                             + " (a reset would remove them; reset_third_party: true to include them)")
    if evidence and fingerprint in reset_catalogs and not new_token:
        plan.blockers.append(Reason(
            "winsock_reset.provider_returns",
            f"the Winsock catalog was reset once already in this state ({evidence[0]}), and its provider came back: "
            "a product re-registers it. Remove or update that product; another reset would not last."))
        return plan
    if not evidence and not new_token:
        return plan
    why = f"{evidence[0]}" + (f" and {len(evidence) - 1} more" if len(evidence) > 1 else "") if evidence else f"forced once with token '{token}'"
    if args["ip"] and static and not args["allow_static_ip_reset"]:
        shown = ", ".join(f"{item['interface']} ({', '.join(item['addresses'] + item['dns_servers'])})" for item in static)
        plan.failure = (f"refusing 'netsh int ip reset': {shown} has a static address or static DNS servers that the reset would turn "
                        "into DHCP after the reboot, which can cut the WinRM management connection. Set allow_static_ip_reset: true "
                        "to accept that, or reset Winsock only (ip: false).")
        return plan
    timeout = args["timeout"]
    if args["winsock"]:
        plan.changes.append(ProgramRun(NETSH, ("winsock", "reset"), f"netsh winsock reset: {why}", True, (0,), timeout))
    # Recorded once the Winsock reset is done, before the TCP/IP reset: a partial or failed TCP/IP reset does not
    # make the next run reset again with the same token or for the same catalog.
    if new_token:
        plan.set_value(state, TOKENS, RegistryValue("multi_string", [*tokens, token]), f"record token '{token}' so it never resets again")
    if evidence:
        plan.set_value(state, RESET_CATALOGS, RegistryValue("multi_string", [*reset_catalogs, fingerprint]),
                       f"record catalog {fingerprint} so the same catalog is never reset twice")
    if args["ip"]:
        plan.changes.append(ProgramRun(NETSH, ("int", "ip", "reset"), f"netsh int ip reset: {why}", True, (0, 1), timeout,
                                       partial_exit_codes=(1,)))
    return plan
