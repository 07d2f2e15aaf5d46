"""Command line: ``python -m winsim serve|stop|profiles``.

serve   start a fleet from named profiles, write an Ansible inventory, serve until stopped
stop    stop the fleet whose state directory is given
"""
from __future__ import annotations

import argparse
import os
import re
import signal
import sys
import threading
import time
from pathlib import Path

from winsim.fleet import Fleet
from winsim.profiles import DEMO_FLEET, PROFILES

PID_FILE = "winsim.pid"
READY_FILE = "winsim.ready"


def _profile_list(text: str) -> list[str]:
    """Parse ``win11:2,win7sp1`` into a list of profile names, one entry per host."""
    if text == "demo":
        return list(DEMO_FLEET)
    profiles: list[str] = []
    for item in filter(None, (part.strip() for part in text.split(","))):
        name, count = item.partition(":")[::2]
        if name not in PROFILES:
            raise argparse.ArgumentTypeError(f"unknown profile '{name}'; known: {', '.join(sorted(PROFILES))}")
        if count and (not count.isdigit() or int(count) < 1):
            raise argparse.ArgumentTypeError(f"host count for '{name}' must be a positive integer, not '{count}'")
        profiles.extend([name] * (int(count) if count else 1))
    if not profiles:
        raise argparse.ArgumentTypeError("name at least one profile")
    return profiles


def _prefix(text: str) -> str:
    if text and not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,40}", text):
        raise argparse.ArgumentTypeError(f"a host name prefix is letters, digits, '_', '.' and '-' (up to 41), not {text[:60]!r}")
    return text


def serve(args: argparse.Namespace) -> int:
    state_dir = Path(args.state_dir)
    state_dir.mkdir(parents=True, exist_ok=True)
    (state_dir / READY_FILE).unlink(missing_ok=True)
    fleet = Fleet(state_dir, args.bind)
    fleet.add_profiles(args.profiles, latency=args.latency, prefix=args.prefix)
    fleet.write_inventory(Path(args.inventory))
    stopped = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_args: stopped.set())
    signal.signal(signal.SIGINT, lambda *_args: stopped.set())
    (state_dir / PID_FILE).write_text(str(os.getpid()), encoding="utf-8")
    (state_dir / READY_FILE).write_text(str(len(fleet.hosts)), encoding="utf-8")
    print(f"winsim: {len(fleet.hosts)} hosts on {args.bind}, inventory {args.inventory}", flush=True)
    while not stopped.wait(0.5):
        pass
    fleet.stop()
    (state_dir / PID_FILE).unlink(missing_ok=True)
    (state_dir / READY_FILE).unlink(missing_ok=True)
    return 0


def stop(args: argparse.Namespace) -> int:
    pid_file = Path(args.state_dir) / PID_FILE
    if not pid_file.exists():
        print(f"winsim: no fleet is running from {args.state_dir}", file=sys.stderr)
        return 0
    pid = int(pid_file.read_text(encoding="utf-8"))
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        pid_file.unlink(missing_ok=True)
        return 0
    deadline = time.monotonic() + 15
    while pid_file.exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    return 0 if not pid_file.exists() else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m winsim", description="Simulated Windows fleet over WinRM.")
    commands = parser.add_subparsers(dest="command", required=True)
    serve_parser = commands.add_parser("serve", help="start hosts and serve until stopped")
    serve_parser.add_argument("--profiles", type=_profile_list, default=list(DEMO_FLEET),
                              help="comma list of profile[:count], or 'demo' (default)")
    serve_parser.add_argument("--state-dir", required=True, help="where host state and counter files are written")
    serve_parser.add_argument("--inventory", required=True, help="Ansible inventory file (YAML/JSON) to write")
    serve_parser.add_argument("--bind", default="127.0.0.1", help="loopback address to listen on")
    serve_parser.add_argument("--latency", type=float, default=0.0, help="seconds each module execution takes")
    serve_parser.add_argument("--prefix", type=_prefix, default="", help="put before every host name, so that fleets served side by side share no name")
    stop_parser = commands.add_parser("stop", help="stop a running fleet")
    stop_parser.add_argument("--state-dir", required=True)
    commands.add_parser("profiles", help="list host profiles")
    args = parser.parse_args(argv)
    if args.command == "serve":
        return serve(args)
    if args.command == "stop":
        return stop(args)
    for profile in PROFILES.values():
        print(f"{profile.name:20} {profile.description}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
