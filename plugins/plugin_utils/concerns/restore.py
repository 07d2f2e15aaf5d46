# -*- coding: utf-8 -*-
# Copyright: m365ops.activation contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Put back what the collection's modules changed, from the backup records they wrote.

The records come from the controller's backup files or from the host's own journal (``source``). Each holds what a run
found and what it wrote; restore walks each target's records newest run first, three-way (``unwind``): a run is undone
where the host still holds what it wrote, skipped where it holds what it found, and a value the host holds as neither
is a conflict, named and kept unless asked otherwise. Registry values get their value back (or go when they did not
exist), keys a run created go once nothing is left below them, services are stopped again (dependents first) and get
their start mode back, the WinHTTP default proxy of each view and adapters' IPv6 binding come back. Records of earlier
restores are not changes to undo, so a second restore changes nothing. A value in the hive of a user who is not signed
in is put back through that hive, loaded around the change; values of a user whose profile is gone are named, not
written.

Records are data from outside: each must carry the signature of the controller's backup key for this host
(integrity.py) and pass the forward rules (``record_problem``: only values a concern declares it manages, of the
types and lengths it writes, no record stopping what Windows and the management connection need), or nothing is
restored and the task names the file or journal entry, the record and the problem.
"""

from __future__ import annotations

import glob
import json
import os
import typing as t
from dataclasses import dataclass, field, replace

from ansible.errors import AnsibleActionFail

from ansible_collections.m365ops.activation.plugins.plugin_utils.adapters import Adapter, BindingChange
from ansible_collections.m365ops.activation.plugins.plugin_utils.concerns import ipv6, ncsi, office_license, tls12, winsock_reset
from ansible_collections.m365ops.activation.plugins.plugin_utils.engine.agent import OpResult
from ansible_collections.m365ops.activation.plugins.plugin_utils.engine.backup import (
    APPLIED, BACKUP_FORMAT, PLANNED, backup_document, host_directory,
)
from ansible_collections.m365ops.activation.plugins.plugin_utils.engine.concern import Concern, HostState, Plan, ProbeContext, Reason
from ansible_collections.m365ops.activation.plugins.plugin_utils.engine.integrity import BackupKey, record_signature_problem
from ansible_collections.m365ops.activation.plugins.plugin_utils.engine.journal import (
    HISTORY, HISTORY_OP, JOURNAL, OPEN_ENTRIES_OP, JournalError, RunRecords, entries,
)
from ansible_collections.m365ops.activation.plugins.plugin_utils.engine.status import NOTHING_TO_RESTORE
from ansible_collections.m365ops.activation.plugins.plugin_utils.hives import PROFILE_LIST, around, hive_sid, loaded_around, signed_out_profiles
from ansible_collections.m365ops.activation.plugins.plugin_utils.registry import (
    KeyRemoval, ManagedValues, RegistryKey, RegistryRef, RegistryValue, read_ops, snapshot, tree_ops, value_problem,
)
from ansible_collections.m365ops.activation.plugins.plugin_utils.services import (
    SERVICE_NAME, START_MODES, STATUSES, ServiceState, ServiceStop, StartModeChange, dependency_order,
)
from ansible_collections.m365ops.activation.plugins.plugin_utils.winhttp import (
    ProxyChange, ProxyError, ProxySetting, current_views, normalize_bypass, normalize_proxy, settings_ref, split_bypass, verify_ops, verify_proxy,
)

RESTORE_MODULE = "m365ops.activation.win_restore"
# Services restore never stops: the connection it runs over (WinRM needs RpcSs and HTTP too, which are protected by
# being depended on by a running WinRM).
NEVER_STOP = {"winrm"}
# Services no record may stop or disable: Windows' RPC and the management connection (a record saying so was not written
# by a forward run, which only starts and enables services).
NEVER_DISABLE = {"rpcss", "dcomlaunch", "rpceptmapper", "winrm", "http", "lsm", "samss"}
# Every registry value a concern of the collection may change; nothing else is ever restored.
MANAGED: tuple[ManagedValues, ...] = (*tls12.Tls12.MANAGED, *ncsi.Ncsi.MANAGED, *ipv6.Ipv6.MANAGED,
                                      *winsock_reset.WinsockReset.MANAGED, *office_license.OfficeLicense.MANAGED)


# One recorded change of a value: the run that made it, the value before it and the value it wrote.
Step = t.Tuple[str, t.Any, t.Any]


@dataclass
class RestoreTargets:
    """What the records say happened: per value the recorded changes, newest first (``Step``), and created keys."""

    values: dict[RegistryRef, list[Step]] = field(default_factory=dict)
    reboot: set[RegistryRef] = field(default_factory=set)
    start_modes: dict[str, list[Step]] = field(default_factory=dict)
    statuses: dict[str, list[Step]] = field(default_factory=dict)
    winhttp: dict[str, list[Step]] = field(default_factory=dict)
    bindings: dict[str, list[Step]] = field(default_factory=dict)
    # The adapter's interface GUID where the record has one: names are localized and can be changed.
    binding_guids: dict[str, str] = field(default_factory=dict)
    created_keys: list[RegistryKey] = field(default_factory=list)
    documents: list[str] = field(default_factory=list)


def backup_paths(source: str, host: str) -> list[str]:
    """A single record file, or the host's records under a backup directory."""
    source = os.path.expanduser(source)
    if os.path.isfile(source):
        return [source]
    if not os.path.isdir(source):
        raise AnsibleActionFail(f"backups: {source} is neither a backup record file nor a directory of them")
    # The host's directory as the writer names it (backup.host_directory): the same function both ways.
    return sorted(glob.glob(os.path.join(glob.escape(host_directory(source, host)), "*.json")))


def trust_problem(key: BackupKey | None, host: str, record: t.Any, trust_unsigned: bool) -> str | None:
    """Why restore will not act on ``record``: its signature (integrity.py), then the forward rules (``record_problem``)."""
    if not isinstance(record, dict):
        return "a record must be a mapping"
    return record_signature_problem(key, host, record, trust_unsigned) or record_problem(record)


def host_history(history: OpResult, still_open: OpResult, host: str, key: BackupKey | None = None,
                 trust_unsigned: bool = False) -> list[tuple[str, dict[str, t.Any]]]:
    """The host's journal as backup documents: one per run that ended on the host (``History``) and one per batch whose
    answer never came back (``Journal``, its planned records: three-way, a change that was not made is skipped). Every
    record is checked as a file's would be: one the forward rules refuse stops the restore, naming entry and record."""
    documents = []
    for root, run in [*((HISTORY, run) for run in entries(history, HISTORY)), *((JOURNAL, run) for run in entries(still_open, JOURNAL))]:
        where = f"{root}\\{run.run_id}"
        for index, record in enumerate(run.records):
            problem = trust_problem(key, host, record, trust_unsigned)
            if problem:
                raise JournalError(f"the host's journal entry {where} record #{index}: {problem}; nothing was restored")
        documents.append((where, history_document(run, host, APPLIED if root == HISTORY else PLANNED)))
    return sorted(documents, key=lambda item: item[1].get("created", ""))


def history_document(run: RunRecords, host: str, state: str) -> dict[str, t.Any]:
    """A journal entry as the backup document a file would hold: the run's own time, and ``state`` (applied when it ended
    on the host, planned when its answer never came back)."""
    return {**backup_document(host, run.module, list(run.records), run_id=run.run_id, state=state), "created": run.created}


def load_documents(paths: t.Sequence[str], host: str, key: BackupKey | None = None,
                   trust_unsigned: bool = False) -> list[tuple[str, dict[str, t.Any]]]:
    documents = []
    for path in paths:
        try:
            with open(path, encoding="utf-8") as stream:
                document = json.load(stream)
        except (OSError, ValueError, RecursionError) as error:
            # RecursionError: JSON nested deeper than any record the collection writes.
            raise AnsibleActionFail(f"backups: cannot read backup record {path}: {str(error)[:200]}") from error
        if not isinstance(document, dict) or document.get("format") != BACKUP_FORMAT or not isinstance(document.get("records"), list):
            raise AnsibleActionFail(f"backups: {path} is not a format {BACKUP_FORMAT} backup record of m365ops.activation")
        if not isinstance(document.get("created", ""), str) or not isinstance(document.get("module", ""), str):
            raise AnsibleActionFail(f"backups: {path} has a created or module that is not text, as no record of the collection has")
        if document.get("host") != host:
            raise AnsibleActionFail(f"backups: {path} records host {document.get('host')!r}, not {host!r}")
        for index, record in enumerate(document["records"]):
            problem = trust_problem(key, host, record, trust_unsigned)
            if problem:
                raise AnsibleActionFail(f"backups: {path} record #{index}: {problem}; nothing was restored")
        documents.append((path, document))
    return sorted(documents, key=lambda item: item[1].get("created", ""))


def _proxy_problem(setting: t.Any) -> str | None:
    if not isinstance(setting, dict) or setting.get("access_type") not in ("direct", "named"):
        return "a WinHTTP proxy record needs before.access_type 'direct' or 'named'"
    if setting["access_type"] == "direct":
        return None
    try:
        normalize_proxy(str(setting.get("proxy") or ""), "before.proxy")
        normalize_bypass(split_bypass(setting.get("bypass")), "before.bypass")
    except ProxyError as error:
        return str(error)
    return None


def _registry_problem(record: dict[str, t.Any]) -> str | None:
    if not all(isinstance(record.get(name), str) for name in ("key", "name")) or str(record.get("view", "64")) not in ("64", "32"):
        return "a registry record needs key, name and view 64 or 32"
    ref = RegistryRef(RegistryKey(record["key"], str(record.get("view", "64"))), record["name"])
    managed = next((entry for entry in MANAGED if entry.covers(ref)), None)
    if managed is None:
        return f"{ref} is not a value any concern of m365ops.activation manages, so restore will not write it"
    for side in ("before", "after"):
        if record.get(side) is not None and (problem := value_problem(record[side]) or managed.value_problem(record[side])):
            return f"{ref}: {side}: {problem}"
    created = record.get("created_key")
    if created is not None:
        if not isinstance(created, str) or created.count("\\") < 2:
            return f"created_key {created!r} is not a key below a hive's top-level key"
        if not _inside(ref.key, RegistryKey(created, ref.key.view)):
            return f"created_key {created} does not hold {ref}"
    return None


def record_problem(record: t.Any) -> str | None:
    """Why a backup record cannot be trusted, or None."""
    if not isinstance(record, dict):
        return "a record must be a mapping"
    kind = record.get("kind")
    if kind == "registry":
        return _registry_problem(record)
    if kind == "registry_key":
        return None if isinstance(record.get("key"), str) else "a registry_key record needs a key"
    if kind in ("service_start_mode", "service_status"):
        allowed = START_MODES if kind == "service_start_mode" else STATUSES
        if not isinstance(record.get("service"), str) or not SERVICE_NAME.fullmatch(record["service"]):
            return f"{kind}: service {record.get('service')!r} is not a service name"
        if record["service"].lower() in NEVER_DISABLE and record.get("before") in ("disabled", "stopped"):
            # The forward run only ever starts and enables services; these the host and its management need running.
            return f"{kind}: restore never stops or disables {record['service']}: Windows and the management connection need it"
        return None if record.get("before") in allowed else f"{kind}: before must be one of {', '.join(allowed)}"
    if kind == "winhttp_proxy":
        if str(record.get("view", "64")) not in ("64", "32"):
            return "winhttp_proxy: view must be 64 or 32"
        return _proxy_problem(record.get("before"))
    if kind == "adapter_binding":
        ok = (isinstance(record.get("adapter"), str) and record.get("component_id") == "ms_tcpip6"
              and isinstance(record.get("before"), (bool, type(None))) and isinstance(record.get("guid"), (str, type(None))))
        return None if ok else "adapter_binding: needs adapter, component_id ms_tcpip6, a true/false before and a text guid"
    if kind == "action":
        return None
    return f"kind {kind!r} is not one the collection writes"


# The value a record from before the collection recorded what it wrote has for "after": whatever the host holds.
WROTE_UNKNOWN = object()


def _step(run: str, record: t.Mapping[str, t.Any], before: t.Any, after: t.Any) -> Step:
    return (run, before, after if "after" in record else WROTE_UNKNOWN)


def restore_targets(documents: t.Sequence[tuple[str, dict[str, t.Any]]], modules: t.Sequence[str] | None,
                    run: str | None = None) -> RestoreTargets:
    """Per value, every recorded change of it, newest first: the chain restore walks back (``unwind``). Records of
    earlier restores are not changes to undo; with ``run`` only that run's records count."""
    targets = RestoreTargets()
    for path, document in reversed(list(documents)):
        run_id = str(document.get("run_id") or os.path.splitext(os.path.basename(path))[0])
        if document.get("module") == RESTORE_MODULE or (run and run not in (run_id, os.path.basename(path))):
            continue
        # A win_activation document holds the records of several concerns, each naming the module of its concern.
        records = [record for record in document["records"] if not modules or record.get("module", document.get("module")) in modules]
        if not records:
            continue
        targets.documents.append(path)
        for record in records:
            kind = record.get("kind")
            if kind == "service_start_mode":
                targets.start_modes.setdefault(record["service"], []).append(_step(run_id, record, record["before"], record.get("after")))
            elif kind == "service_status":
                targets.statuses.setdefault(record["service"], []).append(_step(run_id, record, record["before"], record.get("after")))
            elif kind == "winhttp_proxy":
                after = ProxySetting.from_agent(record["after"]) if isinstance(record.get("after"), dict) else None
                targets.winhttp.setdefault(str(record.get("view", "64")), []).append(
                    _step(run_id, record, ProxySetting.from_agent(record["before"]), after))
            elif kind == "adapter_binding" and isinstance(record.get("before"), bool):
                targets.bindings.setdefault(record["adapter"], []).append(_step(run_id, record, record["before"], record.get("after")))
                if isinstance(record.get("guid"), str):
                    targets.binding_guids.setdefault(record["adapter"], record["guid"].lower())
            if kind != "registry":
                continue
            key = RegistryKey(record["key"], str(record.get("view", "64")))
            ref = RegistryRef(key, record["name"])
            targets.values.setdefault(ref, []).append(
                _step(run_id, record, RegistryValue.from_agent(record.get("before")), RegistryValue.from_agent(record.get("after"))))
            if record.get("reboot_required"):
                targets.reboot.add(ref)
            created = record.get("created_key")
            if isinstance(created, str) and created:
                created_key = RegistryKey(created, key.view)
                if created_key not in targets.created_keys:
                    targets.created_keys.append(created_key)
    targets.documents.reverse()
    return targets


@dataclass(frozen=True)
class Unwound:
    """Where walking a value's recorded changes back from what the host holds ends: the value to put back (``target``),
    and, when the host holds neither what the newest change wrote nor what it found, the conflict."""

    target: t.Any
    conflict: Step | None = None


def unwind(current: t.Any, steps: t.Sequence[Step], same: t.Callable[[t.Any, t.Any], bool] = lambda one, other: one == other) -> Unwound:
    """Three-way, newest change first: where the host still holds what a change wrote, that change is undone and the walk
    goes on to the one before it; where it holds what the change found, that change is already undone (or never
    landed). The first change whose values the host holds neither of stops the walk: on the newest change it is a
    conflict (someone changed the value since), on an older one it is where a person's own change begins."""
    target = current
    for index, step in enumerate(steps):
        _run, before, after = step
        if after is WROTE_UNKNOWN or same(target, after):
            target = before
        elif not same(target, before):
            return Unwound(current, step) if index == 0 else Unwound(target)
    return Unwound(target)


def _same_proxy(one: t.Any, other: t.Any) -> bool:
    return isinstance(one, ProxySetting) and isinstance(other, ProxySetting) and one.same_as(other)


def _inside(key: RegistryKey, root: RegistryKey) -> bool:
    path, top = key.path.lower().rstrip("\\"), root.path.lower().rstrip("\\")
    return key.view == root.view and (path == top or path.startswith(top + "\\"))


def _conflict(plan: Plan, what: str, current: str, step: Step, shown: t.Callable[[t.Any], str], force: bool) -> None:
    run, before, after = step
    said = (f"{what} is {current}, which is neither what run {run} wrote ({shown(after)}) nor what it found ({shown(before)}): "
            "it was changed since")
    plan.facts["conflicts"].append({"target": what, "run": run, "current": current, "written": shown(after), "found": shown(before),
                                    "restored": force})
    if force:
        plan.warnings.append(f"{said}; put back as on_conflict: restore asks")
    else:
        plan.drift.append(Reason("restore.conflict", f"{said}; left as it is (on_conflict: restore would put back {shown(before)})"))


def _shown_value(value: RegistryValue | None) -> str:
    return "(absent)" if value is None else value.render()


def resolve(plan: Plan, what: str, current: t.Any, steps: t.Sequence[Step], force: bool, shown: t.Callable[[t.Any], str],
            same: t.Callable[[t.Any, t.Any], bool] = lambda one, other: one == other) -> t.Any:
    """The value to put back for one target (``current`` when nothing is to change), conflicts told in ``plan``."""
    unwound = unwind(current, steps, same)
    if unwound.conflict is None:
        return unwound.target
    _conflict(plan, what, shown(current), unwound.conflict, shown, force)
    return unwound.conflict[1] if force else current


def plan_restore(targets: RestoreTargets, state: HostState, force: bool = False) -> Plan:
    plan = Plan(facts={"documents": list(targets.documents), "values": len(targets.values), "conflicts": []})
    originals: dict[RegistryRef, RegistryValue | None] = {}
    for ref, steps in targets.values.items():
        current = state.registry.get(ref)
        original = originals[ref] = resolve(plan, str(ref), current, steps, force, _shown_value)
        if original == current:
            continue
        if original is None:
            plan.remove_value(state, ref, f"{ref} did not exist before the recorded changes", ref in targets.reboot)
        else:
            plan.set_value(state, ref, original, f"{ref} was {original.render()} before the recorded changes", ref in targets.reboot)
    # Deepest first, so an inner created key goes before the key that holds it.
    for key in sorted(targets.created_keys, key=lambda item: item.path.count("\\"), reverse=True):
        tree = state.registry.tree(key)
        if not tree["exists"]:
            continue
        values_after = tree["values"]
        for ref, original in originals.items():
            if _inside(ref.key, key):
                present = state.registry.get(ref) is not None
                values_after += (original is not None) - present
        if values_after == 0:
            plan.changes.append(KeyRemoval(key, f"{key} was created by a recorded change and holds no values any more"))
    if targets.start_modes or targets.statuses:
        plan_service_restore(plan, targets, state.probe("services"), force)
    if targets.winhttp:
        views = current_views(state, state.probe("winhttp_proxy"))
        for view, steps in sorted(targets.winhttp.items()):
            current = views.get(view)
            if current is None:
                continue
            original = resolve(plan, f"the WinHTTP default proxy ({view}-bit view)", current, steps, force,
                               lambda setting: setting.describe() if isinstance(setting, ProxySetting) else "(unknown)", _same_proxy)
            if not current.same_as(original):
                plan.changes.append(ProxyChange(current, original, f"WinHTTP used {original.describe()} before the recorded changes", view))
    if targets.bindings:
        management = state.probe("management").data if state.asked("management") else {}
        known = bool(management.get("supported"))
        listed = [Adapter.from_agent(item, management.get("addresses") or ()) for item in state.probe("adapters").data.get("adapters", [])]
        by_guid = {adapter.guid.lower(): adapter for adapter in listed if adapter.guid}
        by_name = {adapter.name.lower(): adapter for adapter in listed}
        for name, steps in targets.bindings.items():
            adapter = by_guid.get(targets.binding_guids.get(name, "")) or by_name.get(name.lower())
            if adapter is None or adapter.ipv6_bound is None:
                continue
            bound = resolve(plan, f"the IPv6 binding of adapter '{adapter.name}'", adapter.ipv6_bound, steps, force,
                            lambda value: "bound" if value else "unbound")
            if not bound and bound != adapter.ipv6_bound and (adapter.management or not known):
                # The forward path's guard: IPv6 is never turned off on the adapter the management connection uses.
                plan.drift.append(Reason(
                    "restore.management_adapter",
                    f"IPv6 was unbound on adapter '{adapter.name}' before the recorded changes, but "
                    + ("it carries the management connection" if known else "which adapter carries the management "
                       "connection is unknown") + ": left bound; unbind it yourself if you mean to"))
                continue
            if bound != adapter.ipv6_bound:
                state_word = "bound" if bound else "unbound"
                plan.changes.append(BindingChange(adapter, bound, f"IPv6 was {state_word} on adapter '{adapter.name}' before the recorded changes"))
    return plan


def plan_service_restore(plan: Plan, targets: RestoreTargets, query: OpResult, force: bool = False) -> None:
    """Stop what was stopped before (dependents first), then put start modes back; ``query`` is the services' probe read."""
    answers = query.data["services"]
    services = [ServiceState.from_agent(name, answers.get(name, {})) for name in service_names(targets)]
    present = [service for service in services if service.exists]
    statuses = {service.name: resolve(plan, f"service {service.name} status", service.status, targets.statuses[service.name], force, str)
                for service in present if service.name in targets.statuses}
    start_modes = {service.name: resolve(plan, f"service {service.name} start mode", service.start_mode, targets.start_modes[service.name],
                                         force, str)
                   for service in present if service.name in targets.start_modes}
    stopping = {service.name.lower() for service in present if statuses.get(service.name) == "stopped" and service.status != "stopped"}
    for service in reversed(dependency_order(present)):
        if service.name.lower() not in stopping:
            continue
        # Stopping a service stops every running service that depends on it: only when restore stops those too.
        others = [name for name in service.dependents_running if name.lower() not in stopping]
        if service.name.lower() in NEVER_STOP or others:
            why = "the management connection needs it" if service.name.lower() in NEVER_STOP else \
                f"running services depend on it ({', '.join(others)}) and would be stopped with it"
            plan.warnings.append(f"{service.name} was stopped before the recorded changes but is left running: {why}")
            continue
        plan.changes.append(ServiceStop(service, f"{service.name} was stopped before the recorded changes"))
    for service in present:
        original = start_modes.get(service.name)
        if original and original != service.start_mode:
            plan.changes.append(StartModeChange(service, original, f"{service.name} started as {original} before the recorded changes"))


def _user_of(path: str) -> str:
    """The SID (upper case) of the user hive a registry path is in, or ''."""
    return (hive_sid(path) or "").upper()


def _change_key(change: t.Any) -> str:
    """The registry key a change writes, or '' for a change that is not a registry one."""
    if isinstance(change, KeyRemoval):
        return change.key.path
    ref = getattr(change, "ref", None)
    return ref.key.path if isinstance(ref, RegistryRef) else ""


def service_names(targets: RestoreTargets) -> list[str]:
    return sorted(set(targets.start_modes) | set(targets.statuses))


# The follow-up reads' names: of what the host's records name (values per key, created keys, the other reads of the
# targets) and of the values in signed-out users' hives; each numbered in the order of its keys.
HOST_VALUES, HOST_TREE, HOST_READ = "host_values ", "host_tree ", "host_read "
OFFLINE_VALUES, OFFLINE_TREE = "offline_values ", "offline_tree "


def named(prefix: str, ops: t.Sequence[dict[str, t.Any]]) -> dict[str, dict[str, t.Any]]:
    """``ops`` by name: ``prefix`` and the position of each."""
    return {f"{prefix}{index}": op for index, op in enumerate(ops)}


class Restore(Concern):
    NAME = "restore"
    FACTS_KEY = "restore"
    ARGUMENT_SPEC = {
        "backups": {"type": "path"},
        "source": {"type": "str", "default": "auto", "choices": ["auto", "controller", "host"]},
        "modules": {"type": "list", "elements": "str"},
        "on_conflict": {"type": "str", "default": "keep", "choices": ["keep", "restore"]},
        "run": {"type": "str"},
        "trust_unsigned": {"type": "bool", "default": False},
    }

    def __init__(self, host: str, key: BackupKey | None = None) -> None:
        # One per host and run: the backup records it restores are that host's, signed with ``key``.
        self._host = host
        self._key = key
        self._targets = RestoreTargets()
        # Where the records come from: the controller's backup files, or the host's journal (read by the probe).
        self._source = "controller"
        self._fallback: str | None = None
        self._context = ProbeContext()

    def check_arguments(self, args: dict[str, t.Any]) -> None:
        source, backups = args.get("source") or "auto", args.get("backups")
        if source == "controller" and not backups:
            raise AnsibleActionFail("backups: required with source: controller (the directory the modules wrote their records to)")
        if source == "host" and backups:
            raise AnsibleActionFail("backups: not read with source: host (the records come from the host's journal); "
                                    "leave it out, or use source: auto")
        self._fallback = None
        if source != "host" and backups:
            documents = load_documents(backup_paths(backups, self._host), self._host, self._key, args.get("trust_unsigned", False))
            if documents or source == "controller":
                self._source = "controller"
                self._take(documents, args)
                return
            self._fallback = f"no backup record of {self._host} is under {backups}"
        elif source == "auto":
            self._fallback = "no backups directory was given"
        # The host's journal: its History entries are read in the probe, their targets in one more read-only execution.
        self._source = "host"
        self._targets = RestoreTargets()

    def _take(self, documents: t.Sequence[tuple[str, dict[str, t.Any]]], args: dict[str, t.Any]) -> None:
        self._targets = restore_targets(documents, args.get("modules"), args.get("run"))
        if args.get("run") and not self._targets.documents:
            raise AnsibleActionFail(f"run: no backup record of {self._host} belongs to run {args['run']!r}"
                                    + (" in the host's journal" if self._source == "host" else ""))

    def registry_refs(self, args: dict[str, t.Any]) -> t.Iterable[RegistryRef]:
        return self._target_refs() if self._source == "controller" else []

    def tree_keys(self, args: dict[str, t.Any]) -> t.Iterable[RegistryKey]:
        return list(self._targets.created_keys) if self._source == "controller" else []

    def probe_ops(self, args: dict[str, t.Any], context: ProbeContext) -> list[dict[str, t.Any]]:
        self._context = context
        if self._source == "host":
            # The profiles come now, so the hives of users who are not signed in can be read in the follow-up.
            return {"history": HISTORY_OP, "open_entries": OPEN_ENTRIES_OP, "profiles": PROFILE_LIST}
        return self._target_ops()

    def _target_refs(self) -> list[RegistryRef]:
        refs = list(self._targets.values)
        return refs + [settings_ref("32")] if self._targets.winhttp else refs

    def _target_ops(self, profiles: bool = True) -> dict[str, dict[str, t.Any]]:
        """The reads besides registry values that planning the targets needs (services, proxy, adapters, profiles)."""
        names = service_names(self._targets)
        ops: dict[str, dict[str, t.Any]] = {"services": {"op": "service_query", "names": names}} if names else {}
        if self._targets.winhttp:
            ops["winhttp_proxy"] = {"op": "winhttp_proxy_read"}
        if self._targets.bindings:
            ops.update(adapters={"op": "adapter_list"}, management={"op": "management_addresses", "ports": list(self._context.management_ports)})
        if profiles and self._user_keys():
            ops["profiles"] = PROFILE_LIST
        return ops

    def _host_reads(self) -> tuple[list[RegistryKey], dict[str, dict[str, t.Any]]]:
        """With records from the host: the reads the probe makes of a controller's targets (values, created keys, other
        reads but the profiles, which the probe read), as the follow-up sends them, by name; the keys read, in order."""
        keys, reads = read_ops(self._target_refs())
        return keys, {**named(HOST_VALUES, reads), **named(HOST_TREE, tree_ops(self._targets.created_keys)),
                      **{f"{HOST_READ}{name}": op for name, op in self._target_ops(profiles=False).items()}}

    def _host_state(self, state: HostState) -> HostState:
        """With records from the host: ``state`` as the controller source's probe would have left it (the follow-up's reads
        of the targets in place of the probe's), its follow-ups being the reads of signed-out users' hives."""
        keys, reads = self._host_reads()
        trees = list(self._targets.created_keys)
        values = [state.followup(f"{HOST_VALUES}{index}") for index in range(len(keys))]
        measured = [state.followup(f"{HOST_TREE}{index}") for index in range(len(trees))]
        others = {name: state.followup(f"{HOST_READ}{name}") for name in self._target_ops(profiles=False)}
        registry = snapshot(self._target_refs(), keys, values, trees, measured)
        return replace(state, registry=state.registry.overlay(registry, [*keys, *trees]), probes={**others, "profiles": state.probe("profiles")},
                       followups={name: answer for name, answer in state.followups.items() if name not in reads})

    def _user_keys(self) -> dict[str, list[RegistryKey]]:
        """Per user SID, the keys of the targets in that user's hive."""
        found: dict[str, list[RegistryKey]] = {}
        for key in [*(ref.key for ref in self._targets.values), *self._targets.created_keys]:
            sid = _user_of(key.path)
            if sid and key not in found.setdefault(sid, []):
                found[sid].append(key)
        return found

    def _offline(self, state: HostState) -> tuple[list[dict[str, t.Any]], list[str]]:
        """The profiles whose hive must be loaded to restore their values, and the SIDs that have no profile any more."""
        users = self._user_keys()
        if not users:
            return [], []
        answer = state.probe("profiles").data
        loaded = {str(profile.get("sid")).upper() for profile in answer.get("profiles") or [] if profile.get("loaded")}
        # The profiles whose hive is not loaded and can be: every other SID's profile is gone (or its NTUSER.DAT is).
        loadable = {profile["sid"].upper(): profile for profile in signed_out_profiles(answer, loaded, every=True)}
        offline = [loadable[sid] for sid in sorted(users) if sid in loadable]
        gone = [sid for sid in sorted(users) if sid not in loaded and sid not in loadable]
        return offline, gone

    def _offline_reads(self, profiles: t.Sequence[t.Mapping[str, t.Any]]) -> tuple[
            list[RegistryRef], list[RegistryKey], list[RegistryKey], dict[str, dict[str, t.Any]]]:
        """The refs and created keys in the hives of ``profiles``, and the reads of them by name (values, then trees)."""
        sids = {profile["sid"].upper() for profile in profiles}
        refs = [ref for ref in self._targets.values if _user_of(ref.key.path) in sids]
        trees = [key for key in self._targets.created_keys if _user_of(key.path) in sids]
        keys, reads = read_ops(refs)
        return refs, keys, trees, {**named(OFFLINE_VALUES, reads), **named(OFFLINE_TREE, tree_ops(trees))}

    def followup_ops(self, args: dict[str, t.Any], state: HostState) -> dict[str, dict[str, t.Any]]:
        """The hives of users who are not signed in, loaded to read what restore would put back there, and unloaded;
        with records from the host's journal, first the reads of what those records name."""
        host_reads: dict[str, dict[str, t.Any]] = {}
        if self._source == "host":
            try:
                self._take(host_history(state.probe("history"), state.probe("open_entries"), self._host, self._key,
                                        args.get("trust_unsigned", False)), args)
            except AnsibleActionFail as error:
                raise JournalError(error.message) from error
            if not self._targets.documents:
                return {}
            host_reads = self._host_reads()[1]
        profiles, _gone = self._offline(state)
        return {**host_reads, **around(profiles, self._offline_reads(profiles)[3])}

    def plan(self, args: dict[str, t.Any], state: HostState) -> Plan:
        if self._source == "host" and self._targets.documents:
            state = self._host_state(state)
        profiles, gone = self._offline(state)
        targets = self._targets
        if gone:
            # The user and their hive are gone: there is nothing to put their values back into.
            targets = replace(targets, values={ref: value for ref, value in targets.values.items() if _user_of(ref.key.path) not in gone},
                              created_keys=[key for key in targets.created_keys if _user_of(key.path) not in gone])
        if profiles:
            refs, keys, trees, _reads = self._offline_reads(profiles)
            read = snapshot(refs, keys, [state.followup(f"{OFFLINE_VALUES}{index}") for index in range(len(keys))],
                            trees, [state.followup(f"{OFFLINE_TREE}{index}") for index in range(len(trees))])
            state = replace(state, registry=state.registry.overlay(read, [*keys, *trees]))
        plan = plan_restore(targets, state, args.get("on_conflict") == "restore")
        plan.facts["source"] = self._source
        if self._fallback:
            plan.warnings.append(f"{self._fallback}: the records were taken from the host's own journal ({HISTORY})")
        if not targets.documents:
            plan.status = NOTHING_TO_RESTORE
        if gone:
            plan.warnings.append(f"values recorded in the hives of {', '.join(gone)} are not restored: no profile of that user is on this "
                                 "host any more")
        for profile in profiles:
            mine = [change for change in plan.changes if _user_of(_change_key(change)) == profile["sid"].upper()]
            others = [change for change in plan.changes if change not in mine]
            plan.changes = [*loaded_around(profile, mine, "its hive is loaded to put its values back"), *others]
        return plan

    def verify_ops(self, args: dict[str, t.Any], plan: Plan) -> dict[str, dict[str, t.Any]]:
        return verify_ops(plan.changes)

    def verify(self, args: dict[str, t.Any], plan: Plan, applied: t.Sequence[OpResult], checks: t.Mapping[str, OpResult]) -> list[str]:
        return verify_proxy(plan.changes, applied, checks)
