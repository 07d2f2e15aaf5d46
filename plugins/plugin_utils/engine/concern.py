# -*- coding: utf-8 -*-
# Copyright: m365ops.activation contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What a concern is, and what it decides with: the ``Concern`` protocol (its options, what it reads, how it plans,
what it writes), the ``HostState`` its probe leaves, the ``Plan`` it makes and the ``Reason`` codes of its
blockers and drift. No Ansible here but the errors a plan raises.

A reboot owed is recorded on the host, under ``HKLM\\SOFTWARE\\m365ops\\activation\\RebootRequired``,
one REG_SZ value per concern holding the boot time at which the change was made. While the host's
boot time is still that one, every later run reports the reboot as owed; a reboot clears it.
"""

from __future__ import annotations

import typing as t
from dataclasses import dataclass, field

from ansible.errors import AnsibleActionFail
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator

from ansible_collections.m365ops.activation.plugins.plugin_utils.engine.agent import OpResult
from ansible_collections.m365ops.activation.plugins.plugin_utils.engine.changes import Change
from ansible_collections.m365ops.activation.plugins.plugin_utils.engine.journal import Interrupted
from ansible_collections.m365ops.activation.plugins.plugin_utils.registry import (
    ManagedValues, RegistryKey, RegistryRef, RegistrySnapshot, RegistryValue, ValueChange,
)
from ansible_collections.m365ops.activation.plugins.plugin_utils.windows import WindowsHost


COMMON_ARGUMENT_SPEC: dict[str, dict[str, t.Any]] = {
    "backup_dir": {"type": "path"},
}


REBOOT_MARKERS = RegistryKey(r"HKLM\SOFTWARE\m365ops\activation\RebootRequired")


# The run id of the last apply batch on the host. A batch is sent on the condition (agent op expect) that the host still
# has the generation and the boot time its probe read: no run applies a plan made before another run changed the host or
# before a restart, and so no owed restart is remembered with a boot time that has already passed.
GENERATION = RegistryRef(RegistryKey(r"HKLM\SOFTWARE\m365ops\activation"), "Generation")


UNKNOWN_BOOT_TIME = "unknown"


@dataclass(frozen=True)
class HostState:
    """Everything the probe learned: the Windows release, the registry values asked for, and reboots owed.

    ``probes`` are the answers to the concern's own reads (``probe_ops``), by the names it gave them: read them with
    ``probe(name)``. ``reboots_owed`` maps a concern to the boot time at which it made a change that needs a restart,
    for the concerns whose reboot has not happened yet. ``followups`` are the answers to the read ops the concern
    asked for after seeing the probe (``followup_ops``), by the names it gave them: read them with ``followup(name)``;
    usually none.
    """

    windows: WindowsHost
    registry: RegistrySnapshot
    probes: t.Mapping[str, OpResult] = field(default_factory=dict)
    reboots_owed: dict[str, str] = field(default_factory=dict)
    followups: t.Mapping[str, OpResult] = field(default_factory=dict)
    # Earlier batches whose answer never came back, with what they left on the host (the journal, journal.py).
    interrupted: tuple[Interrupted, ...] = ()
    # The run id of the last apply batch on the host (GENERATION), as the probe read it.
    generation: str | None = None
    # The run ids whose records the host keeps under the journal's History, oldest first (pruned in the apply batch).
    history: tuple[str, ...] = ()
    # Hives an earlier execution loaded and has not unloaded (hives.py): SID to the time of the load.
    hive_markers: dict[str, str] = field(default_factory=dict)

    def probe(self, name: str) -> OpResult:
        """The answer to the read the concern's ``probe_ops`` named ``name``."""
        try:
            return self.probes[name]
        except KeyError:
            raise KeyError(f"no probe read is named '{name}' (asked: {', '.join(self.probes) or 'none'}); name it in probe_ops()") from None

    def followup(self, name: str) -> OpResult:
        """The answer to the read the concern's ``followup_ops`` named ``name``."""
        try:
            return self.followups[name]
        except KeyError:
            raise KeyError(f"no follow-up read is named '{name}' (asked: {', '.join(self.followups) or 'none'}); "
                           "name it in followup_ops()") from None

    def asked(self, name: str) -> bool:
        """Whether the concern's ``probe_ops`` asked for a read named ``name`` (some reads depend on its options)."""
        return name in self.probes


def reboots_owed(markers: OpResult, boot_time: str | None) -> dict[str, str]:
    """The markers whose boot time is the current one: their reboot has not happened yet.

    When the host's boot time is unknown every marker counts as owed: never rosier than the host.
    """
    owed = {}
    for concern, value in (markers.data.get("values") or {}).items():
        since = value.get("value") if isinstance(value, dict) else None
        # A marker written without a known boot time cannot be proven stale: it stays owed.
        if isinstance(since, str) and (boot_time is None or since in (boot_time, UNKNOWN_BOOT_TIME)):
            owed[concern] = since
    return owed


@dataclass(frozen=True)
class RebootMarker:
    """Bookkeeping write that remembers, on the host, a reboot this concern's changes made necessary."""

    concern: str
    boot_time: str
    reason: str = "remember the reboot these changes need"
    reboot_required: bool = False

    @property
    def target(self) -> str:
        return f"the reboot marker {REBOOT_MARKERS}\\{self.concern}"

    def to_op(self) -> dict[str, t.Any]:
        return {"op": "registry_write", "key": REBOOT_MARKERS.path, "view": REBOOT_MARKERS.view, "name": self.concern,
                "type": "string", "value": self.boot_time}

    def backup_record(self, applied: dict[str, t.Any]) -> None:
        # Not a setting of the host: restore must never remove the memory of a reboot still owed.
        return None


def with_reboot_marker(changes: t.Sequence[Change], marker: RebootMarker) -> list[t.Any]:
    """``changes`` with ``marker`` right after the first one that needs a restart.

    The agent skips the writes after a failed write, so the marker lands exactly when at least one
    change that needs a restart was made.
    """
    batch: list[t.Any] = list(changes)
    first = next((index for index, change in enumerate(changes) if change.reboot_required), None)
    if first is not None:
        batch.insert(first + 1, marker)
    return batch


class Reason(str):
    """A blocker or a drift entry: the sentence a person reads, and the code (``concern.reason``) that findings match,
    so rewording the sentence changes nothing they decide. Results carry the sentences as plain text; the facts
    (win_activation_facts) carry the codes beside them."""

    code: str

    def __new__(cls, code: str, text: str) -> "Reason":
        made = super().__new__(cls, text)
        made.code = code
        return made

    def __getnewargs__(self) -> tuple[str, str]:
        # Copied or pickled (a worker's result goes to the main process pickled), it is made again with both.
        return self.code, str(self)


def reason_codes(entries: t.Iterable[str]) -> list[str | None]:
    """The code of each blocker or drift entry, in order (None for one a concern wrote without a code)."""
    return [getattr(entry, "code", None) for entry in entries]


@dataclass
class Plan:
    """A concern's decision: the changes to make, what to tell the user, and its own report.

    ``blockers`` are conditions that keep the host non-compliant and that this module cannot
    fix (a missing update, a Group Policy); they are returned and also raised as warnings.
    ``drift`` names what differs from what the article needs and is left in place with the options
    given (a non-default NCSI probe host, a proxy site whose WinINet uses a PAC file): after a run,
    the concern is not fixed while anything is listed there. Each entry of both is a ``Reason``.
    """

    changes: list[Change] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    blockers: list[str] = field(default_factory=list)
    drift: list[str] = field(default_factory=list)
    facts: dict[str, t.Any] = field(default_factory=dict)
    failure: str | None = None
    # A status the concern itself decides when nothing else does (restore: nothing_to_restore).
    status: str | None = None

    def set_value(self, state: HostState, ref: RegistryRef, after: RegistryValue, reason: str, reboot_required: bool = False) -> None:
        """Record a change to ``after`` unless the host already has exactly that value and type."""
        before = state.registry.get(ref)
        if before != after:
            self.changes.append(ValueChange(ref, before, after, reason, reboot_required, state.registry.creates(ref.key)))

    def remove_value(self, state: HostState, ref: RegistryRef, reason: str, reboot_required: bool = False) -> None:
        """Record the removal of ``ref`` unless it is already absent."""
        before = state.registry.get(ref)
        if before is not None:
            self.changes.append(ValueChange(ref, before, None, reason, reboot_required))


def applied(changes: t.Sequence[t.Any], results: t.Sequence[OpResult]) -> list[t.Any]:
    """The changes the agent actually made (the reboot marker is bookkeeping, not a change)."""
    return [change for change, result in zip(changes, results)
            if result.ok and result.data.get("changed") and not isinstance(change, RebootMarker)]


def applied_records(changes: t.Sequence[t.Any], results: t.Sequence[OpResult]) -> list[dict[str, t.Any]]:
    """Backup records of the changes the agent actually made, from what it found just before each one."""
    records = (change.backup_record(result.data) for change, result in zip(changes, results) if result.ok and result.data.get("changed"))
    return [record for record in records if record is not None]


@dataclass(frozen=True)
class ProbeContext:
    """What a concern may need to know about the connection before it probes (the WinRM port of the session)."""

    management_ports: tuple[int, ...] = (5985, 5986)


class Concern:
    """What one concern is: its options, what it reads, how it plans, what it writes. No Ansible here.

    Hooks take the concern's validated options (``args``). A concern object holds no state between
    hosts, except where a subclass says otherwise (restore reads its backup records per host).
    """

    # The concern's name (as in the playbooks' m365ops_concerns); it also names the concern's reboot marker.
    NAME: t.ClassVar[str] = ""
    FACTS_KEY: t.ClassVar[str] = ""
    ARGUMENT_SPEC: t.ClassVar[dict[str, dict[str, t.Any]]] = {}
    # Whether a repair (repair_ops) needs a restart to finish, as System File Checker's queued replacements do.
    REPAIR_NEEDS_REBOOT: t.ClassVar[bool] = False
    # The registry values the concern may change: restore puts back only values some concern declares here.
    MANAGED: t.ClassVar[tuple[ManagedValues, ...]] = ()

    @property
    def module(self) -> str:
        """The module that runs this concern alone."""
        return f"m365ops.activation.win_{self.NAME}"

    def check_arguments(self, args: dict[str, t.Any]) -> None:
        """Cross-field checks beyond the argument spec; raise AnsibleActionFail naming the parameter."""

    def registry_refs(self, args: dict[str, t.Any]) -> t.Iterable[RegistryRef]:
        """Registry values the probe reads; none by default."""
        return ()

    def tree_keys(self, args: dict[str, t.Any]) -> t.Iterable[RegistryKey]:
        """Keys whose whole subtree the probe should measure (values and subkeys); none by default."""
        return ()

    def probe_ops(self, args: dict[str, t.Any], context: ProbeContext) -> dict[str, dict[str, t.Any]]:
        """Other read ops for the probe (services, proxy, ...), each under a name of the concern's choosing; their answers
        arrive by those names (``state.probe(name)``). An op two concerns ask for runs once."""
        return {}

    def followup_ops(self, args: dict[str, t.Any], state: HostState) -> dict[str, dict[str, t.Any]]:
        """Read ops that only the probe's answers can name (files a catalog points to), each under a name of the
        concern's choosing, in the order they run; when given, one more read-only agent run answers them by those names
        (``state.followup(name)``). Keep this for what cannot be known in advance."""
        return {}

    def plan(self, args: dict[str, t.Any], state: HostState) -> Plan:
        raise NotImplementedError

    def repair_ops(self, args: dict[str, t.Any], change: Change, outcome: OpResult) -> list[dict[str, t.Any]]:
        """Ops that may cure what made ``change`` fail; when given, they run and the rest is tried once more."""
        return []

    def verify_ops(self, args: dict[str, t.Any], plan: Plan) -> dict[str, dict[str, t.Any]]:
        """Read ops sent at the end of the apply batch to read back what the changes wrote, by name; none by default."""
        return {}

    def verify(self, args: dict[str, t.Any], plan: Plan, applied: t.Sequence[OpResult], checks: t.Mapping[str, OpResult]) -> list[str]:
        """Problems found in the read-back (``applied``: one result per planned change; ``checks``: the answers to the
        verify ops, by their names)."""
        return []


def validate_options(concern: Concern, raw: dict[str, t.Any], prefix: str = "") -> dict[str, t.Any]:
    """The concern's options validated by its own argument spec (and its cross-field checks); errors name ``prefix.option``."""
    spec = {**COMMON_ARGUMENT_SPEC, **concern.ARGUMENT_SPEC} if not prefix else dict(concern.ARGUMENT_SPEC)
    validated = ArgumentSpecValidator(spec).validate(raw)
    if validated.error_messages:
        messages = "; ".join(validated.error_messages)
        raise AnsibleActionFail(f"{prefix}: {messages}" if prefix else messages)
    args = validated.validated_parameters
    try:
        concern.check_arguments(args)
    except AnsibleActionFail as error:
        raise AnsibleActionFail(f"{prefix}.{error.message}" if prefix else error.message) from error
    return args
