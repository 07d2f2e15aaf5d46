"""The benchmark's peer playbook (bench/peer_remediate.yml) is the same fix as the collection's, and as the shared one.

make bench compares the collection with a playbook written with the stock ansible.windows modules; the comparison is
fair only if that playbook brings the benchmark's hosts to the state the article asks for. Held here two ways: the
collection's own audit finds nothing left on the concerns both cover, and, where the shared peer playbook is beside
the checkout, both peers leave every host in the same state.
"""
from __future__ import annotations

import copy
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import ROOT, run_playbook
from scripts.bench import PEER_PLAYBOOK, PROFILES, environment, peer_collections
from test_restore import registry_without_winhttp_counter
from winsim.agent import winhttp_setting
from winsim.fleet import Fleet

SHARED_PEER = ROOT.parent / "shared" / "bench" / "peer_remediate.yml"
ACTIVATION = "m365ops.activation.fleet : Fleet | Activation concerns"
COVERED = ("tls12", "winhttp_proxy", "ncsi", "required_services")


def run_peer(fleet: Fleet, inventory: Path, playbook: Path) -> dict[str, tuple]:
    """Run ``playbook`` on one host per benchmark profile; each host's registry, proxy and services afterwards."""
    for profile in PROFILES:
        fleet.add(profile, profile)
    fleet.write_inventory(inventory)
    completed = subprocess.run([str(Path(sys.executable).parent / "ansible-playbook"), "-i", str(inventory), str(playbook)],
                               cwd=ROOT, env=environment(peer_collections()), capture_output=True, text=True, timeout=600, check=False)
    assert completed.returncode == 0, completed.stdout[-3000:]
    return {name: (registry_without_winhttp_counter(entry.host.state["registry"]), winhttp_setting(entry.host, "64"),
                   winhttp_setting(entry.host, "32"), copy.deepcopy(entry.host.state["services"])) for name, entry in fleet.hosts.items()}


def test_the_peer_leaves_nothing_for_the_collection_to_change(fleet: Fleet, inventory: Path) -> None:
    run_peer(fleet, inventory, PEER_PLAYBOOK)
    audit = run_playbook(inventory, ROOT / "playbooks" / "audit.yml")
    assert audit.rc == 0
    for profile in PROFILES:
        concerns = audit.result(profile, ACTIVATION)["concerns"]
        assert {name: concerns[name]["changes"] for name in COVERED} == {name: [] for name in COVERED}, profile


@pytest.mark.skipif(not SHARED_PEER.is_file(), reason="the shared peer playbook is not beside this checkout")
def test_the_peer_is_the_same_fix_as_the_shared_one(fleet: Fleet, inventory: Path, tmp_path: Path) -> None:
    ours = run_peer(fleet, inventory, PEER_PLAYBOOK)
    other = Fleet(tmp_path / "shared-fleet")
    try:
        theirs = run_peer(other, tmp_path / "shared-inventory.json", SHARED_PEER)
    finally:
        other.stop()
    assert ours == theirs
