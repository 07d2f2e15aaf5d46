"""A simulated Windows host: JSON state on disk, a lock, and per-host traffic counters."""
from __future__ import annotations

import json
import os
import tempfile
import threading
from pathlib import Path
from typing import Any

from winsim.registry import Registry

ENVIRONMENT_KEY = "HKLM\\SYSTEM\\CurrentControlSet\\Control\\Session Manager\\Environment"


def write_json_atomically(path: Path, document: Any) -> None:
    """Write ``document`` so a reader never sees a half-written file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    with os.fdopen(handle, "w", encoding="utf-8") as stream:
        json.dump(document, stream, indent=1, sort_keys=True)
        stream.write("\n")
    os.replace(temp_name, path)


class SimHost:
    """One host of the fleet. ``state`` is saved to ``state_path`` after every change."""

    def __init__(self, name: str, state: dict[str, Any], state_path: Path) -> None:
        self.name = name
        self.state = state
        self.state_path = state_path
        self.counters_path = state_path.with_name(f"{name}.counters.json")
        self.lock = threading.RLock()
        self.counters: dict[str, Any] = {
            "requests": 0, "bytes_received": 0, "bytes_sent": 0,
            "shells_opened": 0, "commands": 0, "executions": {}, "auth_failures": 0, "receive_timeouts": 0,
        }

    @property
    def architecture(self) -> str:
        node = Registry(self.state["registry"], "AMD64").read(ENVIRONMENT_KEY, "64", ["PROCESSOR_ARCHITECTURE"])
        value = node["values"].get("PROCESSOR_ARCHITECTURE")
        return value["value"] if value else "AMD64"

    @property
    def registry(self) -> Registry:
        return Registry(self.state["registry"], self.architecture)

    @property
    def faults(self) -> dict[str, Any]:
        return self.state.setdefault("faults", {})

    def credentials_match(self, username: str, password: str) -> bool:
        account = self.state["winrm"]
        return username.lower() == account["username"].lower() and password == account["password"]

    def save(self) -> None:
        with self.lock:
            write_json_atomically(self.state_path, self.state)

    def count_request(self, received: int, sent: int, flush: bool) -> None:
        """Count one WinRM request; ``flush`` writes the counters file (at the points a run can be observed)."""
        with self.lock:
            self.counters["requests"] += 1
            self.counters["bytes_received"] += received
            self.counters["bytes_sent"] += sent
            if flush:
                write_json_atomically(self.counters_path, self.counters)

    def count_execution(self, module: str) -> None:
        with self.lock:
            executions = self.counters["executions"]
            executions[module] = executions.get(module, 0) + 1
