"""The whole remediation on a Japanese-display-language host answers exactly as on an English one.

winsim's Japanese profile has Japanese service display names and makes sfc and netsh print Japanese text in code
page 932; the collection reads none of it, so every change, reason and outcome must be identical.
"""
from __future__ import annotations

import base64
from pathlib import Path

from conftest import ROOT, run_playbook
from winsim.fleet import Fleet
from winsim.agent import winhttp_setting
from winsim.profiles import _hardened, _nla_disabled, _ncsi_off, _proxy_site, _third_party_lsp

REMEDIATE = ROOT / "playbooks" / "remediate.yml"
FLEET_TASK = "m365ops.activation.fleet : Fleet | Activation concerns"
CONCERNS = ("tls12", "winhttp_proxy", "ncsi", "required_services", "winsock_reset")
COMPARED = ("changed", "changes", "reboot_required", "blockers", "status")


def drift_everything(fleet: Fleet, name: str, profile: str) -> None:
    host = fleet.add(name, profile)
    for drift in (_hardened, _ncsi_off, _nla_disabled, _third_party_lsp, _proxy_site):
        drift(host.state)
    host.save()


def test_japanese_and_english_hosts_get_the_same_remediation(fleet: Fleet, inventory: Path) -> None:
    drift_everything(fleet, "english", "win10")
    drift_everything(fleet, "japanese", "win10-ja")
    assert fleet.hosts["japanese"].host.state["services"]["NcdAutoSetup"]["display_name"] != \
        fleet.hosts["english"].host.state["services"]["NcdAutoSetup"]["display_name"]
    fleet.write_inventory(inventory)

    run = run_playbook(inventory, REMEDIATE)
    assert run.rc == 0, run.stdout[-3000:]
    english_run, japanese_run = run.result("english", FLEET_TASK), run.result("japanese", FLEET_TASK)
    # Probe, a look at the LSP's own DLL, then the apply with the verification reads at its end.
    assert english_run["agent_executions"] == japanese_run["agent_executions"] == 3
    for concern in CONCERNS:
        english, japanese = english_run["concerns"][concern], japanese_run["concerns"][concern]
        assert english["changed"] is True, concern
        assert {key: english.get(key) for key in COMPARED} == {key: japanese.get(key) for key in COMPARED}, concern
    japanese_reset = next(record for record in japanese_run["concerns"]["winsock_reset"]["backup"] if record["kind"] == "action")
    assert japanese_reset["exit_code"] == 0

    assert run_playbook(inventory, REMEDIATE).changed_hosts() == set()
    english_state, japanese_state = fleet.hosts["english"].host.state, fleet.hosts["japanese"].host.state
    assert english_state["registry"] != {}
    for view in ("64", "32"):
        assert winhttp_setting(fleet.hosts["english"].host, view) == winhttp_setting(fleet.hosts["japanese"].host, view)
    assert {name: (svc["start_mode"], svc["status"]) for name, svc in english_state["services"].items()} == \
        {name: (svc["start_mode"], svc["status"]) for name, svc in japanese_state["services"].items()}


def test_japanese_program_output_is_returned_raw_in_its_code_page(fleet: Fleet, inventory: Path) -> None:
    host = fleet.add("japanese", "win10-ja")
    host.state["services"]["EventLog"].update(status="stopped", faults={"refuses_start": True, "repaired_by": "sfc"})
    host.save()
    fleet.write_inventory(inventory)
    run = run_playbook(inventory, ROOT / "tests" / "integration" / "playbooks" / "services_task.yml",
                       extra_vars={"services_sfc_on_failure": True})
    assert run.rc == 0
    repair, = run.result("japanese", "Run win_required_services")["repairs"]
    assert "整合性違反" in base64.b64decode(repair["stdout_base64"]).decode("cp932")
