"""Many listeners, one acceptor: every host answers on its own port, one taken offline refuses, and a fleet stopped
refuses on every port; the command line serves fleets side by side under prefixes of their own."""
from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from winrm.protocol import Protocol

from winsim.fleet import WINRM_USER, Fleet

ROOT = Path(__file__).resolve().parents[2]


def shell_opens(fleet: Fleet, host: str) -> bool:
    protocol = Protocol(endpoint=f"http://127.0.0.1:{fleet.hosts[host].server.port}/wsman", transport="basic", username=WINRM_USER,
                        password=fleet.password, message_encryption="never", operation_timeout_sec=10, read_timeout_sec=20)
    shell = protocol.open_shell()
    protocol.close_shell(shell)
    return True


def refuses(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=5):
            return False
    except ConnectionRefusedError:
        return True


def test_every_host_answers_on_its_own_port_until_taken_offline_or_stopped(tmp_path: Path) -> None:
    fleet = Fleet(tmp_path / "fleet")
    try:
        for index in range(40):
            fleet.add(f"pc{index:02d}", "win11")
        ports = {name: entry.server.port for name, entry in fleet.hosts.items()}
        assert len(set(ports.values())) == 40
        assert all(shell_opens(fleet, name) for name in ("pc00", "pc17", "pc39"))
        fleet.take_offline("pc17")
        fleet.take_offline("pc17")  # twice is still offline, not an error
        assert refuses(ports["pc17"]) and shell_opens(fleet, "pc18")
        # A host added after others were served is served too.
        fleet.add("late", "win10")
        assert shell_opens(fleet, "late")
    finally:
        fleet.stop()
    assert all(refuses(port) for port in ports.values())


def test_fleets_served_side_by_side_share_no_host_name(tmp_path: Path) -> None:
    processes, inventories = [], []
    try:
        for block in ("b01-", "b02-"):
            state = tmp_path / block
            inventories.append(state / "inventory.json")
            processes.append(subprocess.Popen([sys.executable, "-m", "winsim", "serve", "--prefix", block, "--profiles", "win11:2,win10",
                                               "--state-dir", str(state), "--inventory", str(inventories[-1])], cwd=ROOT))
        deadline = time.monotonic() + 60
        while not all((path.parent / "winsim.ready").exists() for path in inventories):
            assert time.monotonic() < deadline and all(process.poll() is None for process in processes)
            time.sleep(0.2)
        names = [sorted(json.loads(path.read_text(encoding="utf-8"))["all"]["children"]["windows"]["hosts"]) for path in inventories]
        assert names == [["b01-win10-01", "b01-win11-01", "b01-win11-02"], ["b02-win10-01", "b02-win11-01", "b02-win11-02"]]
    finally:
        for process in processes:
            process.terminate()
            process.wait(timeout=30)


@pytest.mark.parametrize("prefix", ["../x", "a b", "-leading", "x" * 50])
def test_a_prefix_that_is_not_a_plain_name_is_refused(tmp_path: Path, prefix: str) -> None:
    done = subprocess.run([sys.executable, "-m", "winsim", "serve", "--prefix", prefix, "--state-dir", str(tmp_path / "s"),
                           "--inventory", str(tmp_path / "i.json")], cwd=ROOT, capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 2 and "prefix" in done.stderr and not (tmp_path / "i.json").exists()
