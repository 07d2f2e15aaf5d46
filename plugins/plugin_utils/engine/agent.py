# -*- coding: utf-8 -*-
# Copyright: m365ops.activation contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The controller's side of the agent protocol: send ops, check the envelope, map errors."""

from __future__ import annotations

import typing as t
from dataclasses import dataclass, field

from ansible.errors import AnsibleError

# The op manifest: which ops are extended (sent with the extended entry point), and the error classes.
from ansible_collections.m365ops.activation.plugins.plugin_utils.engine.agent_ops import ERROR_CLASSES, EXTENDED_OPS

AGENT_MODULE = "m365ops.activation.win_agent"
# The same agent with the network probes and the user-session script: sent only for batches that use them, since
# every module_util a module requires travels with each execution.
EXTENDED_AGENT_MODULE = "m365ops.activation.win_agent_extended"
PROTOCOL = 1


class AgentError(AnsibleError):
    """The agent could not run or returned something the controller cannot trust.

    ``details`` carries what Ansible reported about a failed module run (``module_stdout``,
    ``module_stderr``, ``exception``, ``rc``) into the task result, so a compile error, a
    constrained-language host or an AMSI block can be diagnosed from the result alone.
    """

    def __init__(self, message: str, details: dict[str, t.Any] | None = None) -> None:
        super().__init__(message)
        self.details = dict(details or {})


class AgentOpError(AgentError):
    """One op failed on the host."""

    def __init__(self, result: "OpResult", target: str) -> None:
        advice = ERROR_CLASSES.get(result.error or "", "")
        super().__init__(f"{result.op} {target}: {result.message} ({result.error}{': ' + advice if advice else ''})")
        self.result = result


class AgentPrerequisiteError(AgentError):
    """The host cannot run the agent at all until a person installs something: the concern is blocked, not failed."""


# Ansible refuses hosts below PowerShell 5.1 with one of these messages (controller text, not Windows'): the bootstrap
# of ansible-core 2.19, or the exec wrapper of 2.16 to 2.18 for the agent's #Requires -Version 5.1.
POWERSHELL_FLOOR_MESSAGES = ("requires PowerShell v5.1", "requires a minimum PowerShell version of 5.1")
POWERSHELL_FLOOR_ADVICE = (
    "this host runs a PowerShell older than 5.1, on which Ansible runs no module: install Windows Management Framework 5.1 "
    "(on Windows 7 SP1 / Server 2008 R2 SP1 and Server 2012 after .NET Framework 4.5.2 or later; 4.6.1 or later recommended), "
    "restart, and run again. Nothing was checked on this host")


# What Ansible puts in a failed module result that helps a person see why the module could not run.
_FAILURE_DETAILS = ("module_stdout", "module_stderr", "exception", "rc")


@dataclass(frozen=True)
class OpResult:
    op: str
    ok: bool
    data: dict[str, t.Any] = field(default_factory=dict)
    error: str | None = None
    message: str | None = None

    @classmethod
    def from_agent(cls, op: dict[str, t.Any], entry: t.Any) -> "OpResult":
        if not isinstance(entry, dict) or "ok" not in entry:
            raise AgentError(f"the agent returned a malformed result for op {op.get('op')}: {entry!r}")
        data = {key: value for key, value in entry.items() if key not in ("ok", "op", "error", "message")}
        return cls(op=str(op.get("op")), ok=bool(entry["ok"]), data=data,
                   error=entry.get("error"), message=entry.get("message"))


class AgentClient:
    """Runs op batches through ``_execute_module`` so become, async and every Windows connection work.

    ``executions`` counts the agent runs of this task: the design budget is one probe and at most
    one apply per host and task.
    """

    def __init__(self, execute_module: t.Callable[..., dict[str, t.Any]], task_vars: dict[str, t.Any]) -> None:
        self._execute_module = execute_module
        self._task_vars = task_vars
        self.executions = 0

    def run(self, ops: list[dict[str, t.Any]]) -> list[OpResult]:
        self.executions += 1
        # strict=false: a failed op is judged by the calling concern, not by the module.
        module = EXTENDED_AGENT_MODULE if any(op.get("op") in EXTENDED_OPS for op in ops) else AGENT_MODULE
        answer = self._execute_module(module_name=module, module_args={"ops": ops, "strict": False}, task_vars=self._task_vars)
        if answer.get("failed") and any(message in str(answer.get("msg", "")) for message in POWERSHELL_FLOOR_MESSAGES):
            raise AgentPrerequisiteError(POWERSHELL_FLOOR_ADVICE)
        if answer.get("failed"):
            details = {key: answer[key] for key in _FAILURE_DETAILS if key in answer}
            raise AgentError(f"the m365ops.activation agent failed on the host: {answer.get('msg', 'no message')}", details)
        protocol = answer.get("protocol")
        if protocol != PROTOCOL:
            raise AgentError(f"the host's agent speaks protocol {protocol!r}, this controller needs {PROTOCOL}; "
                             "install matching versions of the collection")
        entries = answer.get("results")
        if not isinstance(entries, list) or len(entries) != len(ops):
            raise AgentError(f"the agent returned {len(entries) if isinstance(entries, list) else 'no'} results for {len(ops)} ops")
        return [OpResult.from_agent(op, entry) for op, entry in zip(ops, entries)]
