"""Start and stop many simulated hosts, one WinRM listener (loopback port) per host."""
from __future__ import annotations

import json
import secrets
import selectors
import socket
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


class Acceptor:
    """One thread that accepts the connections of every listener of a fleet. A thread per listener running
    serve_forever wakes twice a second each: ten thousand idle hosts would then keep two cores busy."""

    def __init__(self) -> None:
        self._selector = selectors.DefaultSelector()
        self._lock = threading.Lock()
        self._wake_read, self._wake_write = socket.socketpair()
        self._wake_read.setblocking(False)
        self._selector.register(self._wake_read, selectors.EVENT_READ, None)
        self._stopped = False
        self._thread = threading.Thread(target=self._run, name="winsim-acceptor", daemon=True)
        self._thread.start()

    def add(self, server: WinRMServer) -> None:
        with self._lock:
            self._selector.register(server.socket, selectors.EVENT_READ, server)
        self._wake()

    def remove(self, server: WinRMServer) -> None:
        """Stop accepting for ``server`` and close its listener: its port then refuses connections."""
        with self._lock:
            if server.socket.fileno() >= 0:
                self._selector.unregister(server.socket)
                server.server_close()
        self._wake()

    def stop(self) -> None:
        self._stopped = True
        self._wake()
        self._thread.join(timeout=10)
        with self._lock:
            for key in list(self._selector.get_map().values()):
                if key.data is not None:
                    key.data.server_close()
            self._selector.close()
        self._wake_read.close()
        self._wake_write.close()

    def _wake(self) -> None:
        try:
            self._wake_write.send(b"x")
        except OSError:
            pass

    def _run(self) -> None:
        while not self._stopped:
            for key, _events in self._selector.select(timeout=5):
                if key.data is None:
                    try:
                        self._wake_read.recv(4096)
                    except BlockingIOError:
                        pass
                    continue
                with self._lock:
                    # A listener removed since select() returned is not served.
                    if self._selector.get_map().get(key.fd) is key:
                        # What serve_forever does for one ready listener: accept, then a thread for the request.
                        key.data._handle_request_noblock()  # pylint: disable=protected-access


class Fleet:
    """A set of simulated hosts served from this process on 127.0.0.1."""

    def __init__(self, state_dir: Path, bind_address: str = "127.0.0.1") -> None:
        if not bind_address.startswith("127.") and bind_address != "::1":
            raise ValueError("winsim serves loopback addresses only")
        self.state_dir = Path(state_dir)
        self.bind_address = bind_address
        self.hosts: dict[str, FleetHost] = {}
        self.password = secrets.token_urlsafe(18)
        self.acceptor = Acceptor()

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
        self.acceptor.add(server)
        self.hosts[name] = FleetHost(host, server)
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
        self.acceptor.remove(self.hosts[name].server)

    def stop(self) -> None:
        self.acceptor.stop()
        for entry in self.hosts.values():
            entry.host.save()
        self.hosts.clear()
