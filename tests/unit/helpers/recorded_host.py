"""The agent's side of an action run in-process: the simulator answers _execute_module, and every batch is kept."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from unittest.mock import MagicMock

from ansible_collections.m365ops.activation.plugins.action.win_tls12 import ActionModule
from winsim import agent
from winsim.host import SimHost
from winsim.profiles import PROFILES


class RecordedHost:
    """Answers _execute_module the way the agent does, and keeps every batch it was sent."""

    def __init__(self, tmp_path: Path, profile: str) -> None:
        self.host = SimHost("host", PROFILES[profile].build("host"), tmp_path / "host.json")
        self.batches: list[list[dict[str, Any]]] = []
        self.answer_override: dict[str, Any] | None = None

    def execute_module(self, module_name: str, module_args: dict[str, Any], task_vars: dict[str, Any]) -> dict[str, Any]:
        # The extended entry point where a batch holds an extended op (the network probes); the agent's otherwise.
        extended = any(op.get("op") in agent.EXTENDED_OPS for op in module_args["ops"])
        assert module_name == ("m365ops.activation.win_agent_extended" if extended else "m365ops.activation.win_agent")
        self.batches.append(module_args["ops"])
        if self.answer_override is not None:
            return self.answer_override
        return json.loads(json.dumps(agent.run_ops(self.host, module_args["ops"], check_mode=self.check_mode)))

    check_mode = False


def make_action(recorded: RecordedHost, args: dict[str, Any] | None = None, check_mode: bool = False, diff: bool = False,
                action_class: type = ActionModule, module: str = "m365ops.activation.win_tls12") -> Any:
    """The concern action (win_tls12 unless told otherwise) as Ansible builds it, its agent runs answered by ``recorded``."""
    task = MagicMock()
    task.args = dict(args or {})
    task.async_val = 0
    task.check_mode = check_mode
    task.diff = diff
    task.action = task.resolved_action = module
    connection = MagicMock()
    connection._shell.tmpdir = None
    action = action_class(task, connection, MagicMock(), MagicMock(), MagicMock(), MagicMock())
    recorded.check_mode = check_mode
    action._execute_module = recorded.execute_module  # pylint: disable=protected-access
    return action
