"""Start and stop many simulated hosts, one WinRM listener (loopback port) per host."""
from __future__ import annotations

import json
import secrets
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

from winsim.host import SimHost, write_json_atomically
from winsim.profiles import PROFILES
from winsim.wsman import WinRMServer

WINRM_USER = "winsim-admin"


@dataclass
class FleetHost:
    host: SimHost
    server: WinRMServer
    thread: threading.Thread


class Fleet:
    """A set of simulated hosts served from this process on 127.0.0.1."""

    def __init__(self, state_dir: Path, bind_address: str = "127.0.0.1") -> None:
        if not bind_address.startswith("127.") and bind_address != "::1":
            raise ValueError("winsim serves loopback addresses only")
        self.state_dir = Path(state_dir)
        self.bind_address = bind_address
        self.hosts: dict[str, FleetHost] = {}
        self.password = secrets.token_urlsafe(18)

    def add(self, name: str, profile: str, latency: float = 0.0, state_file: Path | None = None) -> SimHost:
        """Create host ``name`` from a named profile (or an existing state file) and start serving it."""
        path = self.state_dir / f"{name}.json"
        if state_file is not None:
            state = json.loads(Path(state_file).read_text(encoding="utf-8"))
            state["name"] = name
        elif profile in PROFILES:
            state = PROFILES[profile].build(name)
        else:
            raise ValueError(f"unknown profile '{profile}'; known: {', '.join(sorted(PROFILES))}")
        state["winrm"] = {"username": WINRM_USER, "password": self.password}
        if latency:
            state.setdefault("faults", {})["execution_latency_seconds"] = latency
        host = SimHost(name, state, path)
        host.save()
        server = WinRMServer(host, (self.bind_address, 0))
        host.winrm_port = server.port
        thread = threading.Thread(target=server.serve_forever, name=f"winsim-{name}", daemon=True)
        thread.start()
        self.hosts[name] = FleetHost(host, server, thread)
        return host

    def add_profiles(self, profiles: Iterable[str], latency: float = 0.0, prefix: str = "") -> None:
        counts: dict[str, int] = {}
        for profile in profiles:
            counts[profile] = counts.get(profile, 0) + 1
            self.add(f"{prefix}{profile}-{counts[profile]:02d}", profile, latency)

    def inventory(self) -> dict:
        hosts = {
            name: {"ansible_host": self.bind_address, "ansible_port": entry.server.port,
                   "winsim_profile": entry.host.state.get("profile", "custom"),
                   "winsim_state_file": str(entry.host.state_path.resolve())}
            for name, entry in self.hosts.items()
        }
        return {"all": {"children": {"windows": {
            "hosts": hosts,
            "vars": {
                "ansible_connection": "winrm", "ansible_winrm_transport": "basic", "ansible_winrm_scheme": "http",
                "ansible_winrm_message_encryption": "never", "ansible_user": WINRM_USER, "ansible_password": self.password,
            },
        }}}}

    def write_inventory(self, path: Path) -> None:
        path = Path(path)
        write_json_atomically(path, self.inventory())
        path.chmod(0o600)

    def take_offline(self, name: str) -> None:
        """Stop answering for ``name``, keeping it in the inventory: its port now refuses connections (an unreachable host)."""
        entry = self.hosts[name]
        entry.server.shutdown()
        entry.server.server_close()

    def stop(self) -> None:
        for entry in self.hosts.values():
            entry.server.shutdown()
            entry.server.server_close()
        for entry in self.hosts.values():
            entry.host.save()
        self.hosts.clear()
