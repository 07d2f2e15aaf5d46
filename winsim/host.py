"""A simulated Windows host: JSON state on disk, a lock, and per-host traffic counters."""
from __future__ import annotations

import json
import os
import tempfile
import threading
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from winsim.effects import at_boot
from winsim.registry import Registry

ENVIRONMENT_KEY = "HKLM\\SYSTEM\\CurrentControlSet\\Control\\Session Manager\\Environment"
# What a restart clears: the servicing stack's and Windows Update's reboot flags, and queued file renames.
REBOOT_CLEARS = (
    ("HKLM\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Component Based Servicing\\RebootPending", None),
    ("HKLM\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\WindowsUpdate\\Auto Update\\RebootRequired", None),
    ("HKLM\\SYSTEM\\CurrentControlSet\\Control\\Session Manager", "PendingFileRenameOperations"),
    ("HKLM\\SYSTEM\\CurrentControlSet\\Control\\Session Manager", "PendingFileRenameOperations2"),
)


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
        # The port the fleet serves this host's WinRM on (the local port of its management connection).
        self.winrm_port = 5985
        # The account the current agent execution runs as (the become user, or the WinRM account).
        self.running_as: str | None = None
        # The hives user_hive_load loaded in the current execution (the agent unloads only those).
        self.hives_loaded: set[str] = set()
        self.counters: dict[str, Any] = {
            "requests": 0, "bytes_received": 0, "bytes_sent": 0,
            "shells_opened": 0, "commands": 0, "executions": {}, "auth_failures": 0, "receive_timeouts": 0, "restarts": 0,
            "answers_lost": 0, "answers_delayed": 0,
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

    def group_policy_refresh(self) -> list[str]:
        """What Windows does every 90 minutes and at boot: each Group Policy value written again. Returns what it rewrote."""
        with self.lock:
            rewritten = []
            for entry in self.state.get("group_policy", []):
                if self.registry.write(entry["key"], "64", entry["name"], entry["type"], entry["value"], True)["changed"]:
                    rewritten.append(f"{entry['key']}\\{entry['name']}")
            self.save()
            return rewritten

    def reboot(self) -> str:
        """Restart the host: a new boot time (always later than the last), and the pending-reboot flags cleared."""
        with self.lock:
            cim_os = self.state["cim"]["Win32_OperatingSystem"]
            last = datetime.strptime(cim_os["LastBootUpTime"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)
            now = max(datetime.now(timezone.utc).replace(microsecond=0), last + timedelta(seconds=1))
            cim_os["LastBootUpTime"] = now.strftime("%Y-%m-%dT%H:%M:%SZ")
            for key, name in REBOOT_CLEARS:
                if name is None:
                    self.registry.delete_key(key, "64", True)
                else:
                    self.registry.delete_value(key, "64", name, True)
            self.group_policy_refresh()
            # What the system reads when it starts, from the registry as the restart leaves it.
            self.state["in_effect"] = at_boot(self.registry, self.state.get("files"))
            self.save()
            return cim_os["LastBootUpTime"]

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

    def flush_counters(self) -> None:
        """Write the counters file now (a test watching it from outside sees the moment)."""
        with self.lock:
            write_json_atomically(self.counters_path, self.counters)

    def count_restart(self) -> None:
        with self.lock:
            self.counters["restarts"] += 1

    def boot_time(self) -> str:
        with self.lock:
            return str(self.state["cim"]["Win32_OperatingSystem"]["LastBootUpTime"])

    def count_execution(self, module: str) -> None:
        with self.lock:
            executions = self.counters["executions"]
            executions[module] = executions.get(module, 0) + 1
