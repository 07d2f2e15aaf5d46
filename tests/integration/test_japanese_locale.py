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
ROLE_TASKS = {
    "tls12": 'm365ops.activation.tls12 : TLS 1.2 | SCHANNEL, WinHTTP and WinINet allow TLS 1.2 (article step "Windows 8.1 and earlier")',
    "winhttp_proxy": 'm365ops.activation.winhttp_proxy : WinHTTP proxy | Default proxy as the site needs it '
                     '(article step "check whether you are behind a proxy")',
    "ncsi": 'm365ops.activation.ncsi : NCSI | Active probing on (article step "proxy/firewall/GPO", NCSI active tests)',
    "services": 'm365ops.activation.required_services : Services | Required services running '
                '(article step "make sure required services are running")',
    "winsock": 'm365ops.activation.winsock_reset : Winsock | Reset where the catalog is damaged (article step "reset Winsock")',
}
COMPARED = ("changed", "changes", "reboot_required", "blockers", "agent_executions")


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
    for concern, task in ROLE_TASKS.items():
        english, japanese = run.result("english", task), run.result("japanese", task)
        assert english["changed"] is True, concern
        assert {key: english.get(key) for key in COMPARED} == {key: japanese.get(key) for key in COMPARED}, concern
    japanese_reset = next(record for record in run.result("japanese", ROLE_TASKS["winsock"])["backup"] if record["kind"] == "action")
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
