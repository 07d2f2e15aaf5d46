"""The agent's memory of the hives it loads (hives.py), as the simulator implements the protocol: a marker before the
load, gone after the unload, kept when the unload fails, and what user_hive_unload_recorded does with the markers."""
from __future__ import annotations

from pathlib import Path

from ansible_collections.m365ops.activation.plugins.plugin_utils.engine.agent import OpResult
from ansible_collections.m365ops.activation.plugins.plugin_utils.hives import (
    HIVE_MARKERS, HIVE_MARKERS_READ, around, hive_markers, left_loaded_warnings, unload_left_ops,
)
from winsim import agent
from winsim.host import SimHost
from winsim.profiles import DAVE_SID, PROFILES

DAVE = {"sid": DAVE_SID, "user": "profile dave", "path": "C:\\Users\\dave", "loaded": False}


def host_of(tmp_path: Path) -> SimHost:
    return SimHost("terminal", PROFILES["win10-users-tls"].build("terminal"), tmp_path / "terminal.json")


def run(host: SimHost, ops: list, check_mode: bool = False) -> list[OpResult]:
    envelope = agent.run_ops(host, ops, check_mode=check_mode)
    return [OpResult.from_agent(op, entry) for op, entry in zip(ops, envelope["results"])]


def markers(host: SimHost) -> dict[str, str]:
    return hive_markers(run(host, [HIVE_MARKERS_READ])[0])


def test_a_load_is_remembered_until_its_unload_and_a_failed_unload_leaves_the_marker(tmp_path: Path) -> None:
    host = host_of(tmp_path)
    ops = list(around([DAVE], {"software": {"op": "registry_read", "key": f"HKU\\{DAVE_SID}\\Software", "view": "64"}}).values())
    assert [op.get("marker_key") for op in ops] == [HIVE_MARKERS.path, None, HIVE_MARKERS.path]
    assert all(answer.ok for answer in run(host, ops, check_mode=True)) and markers(host) == {}
    host.faults["hive_unload_fails"] = [DAVE_SID]
    load, _read, unload = run(host, ops, check_mode=True)
    assert load.ok and not unload.ok and unload.error == "process_failed"
    assert list(markers(host)) == [DAVE_SID] and DAVE_SID in host.state["registry"]["HKU"]["keys"]


def test_unload_recorded_leaves_a_young_marker_unloads_an_old_one_and_forgets_one_whose_hive_is_gone(tmp_path: Path) -> None:
    host = host_of(tmp_path)
    host.faults["hive_unload_fails"] = [DAVE_SID]
    run(host, list(around([DAVE], {}).values()))
    del host.faults["hive_unload_fails"]
    left = markers(host)
    young, = run(host, unload_left_ops())
    assert young.data["recent"] == [DAVE_SID] and DAVE_SID in host.state["registry"]["HKU"]["keys"]
    host.registry.write(HIVE_MARKERS.path, "64", DAVE_SID, "string", "2026-01-01T00:00:00.0000000Z", True)
    host.registry.write(HIVE_MARKERS.path, "64", "S-1-5-21-1-2-3-4444", "string", "2026-01-01T00:00:00.0000000Z", True)
    would, = run(host, unload_left_ops(), check_mode=True)
    assert would.data["unloaded"] == [DAVE_SID] and DAVE_SID in host.state["registry"]["HKU"]["keys"] and len(markers(host)) == 2
    done, = run(host, unload_left_ops())
    assert (done.data["unloaded"], done.data["cleared"]) == ([DAVE_SID], ["S-1-5-21-1-2-3-4444"]) and markers(host) == {}
    assert DAVE_SID in host.state["unloaded_hives"]
    told = left_loaded_warnings(left, done)
    assert len(told) == 1 and "was unloaded" in told[0] and left[DAVE_SID] in told[0]


def test_a_hive_that_will_not_unload_is_told_with_the_reason() -> None:
    answer = OpResult("user_hive_unload_recorded", True, {"unloaded": [], "cleared": [], "recent": [], "still_loaded": [
        {"sid": DAVE_SID, "since": "2026-01-01T00:00:00Z", "message": "reg.exe unload exited with 1"}]})
    told, = left_loaded_warnings({DAVE_SID: "2026-01-01T00:00:00Z"}, answer)
    assert "is still loaded: reg.exe unload exited with 1" in told and "the next run tries again" in told
    checked, = left_loaded_warnings({DAVE_SID: "2026-01-01T00:00:00Z"}, None)
    assert "next run that is not in check mode unloads it" in checked
