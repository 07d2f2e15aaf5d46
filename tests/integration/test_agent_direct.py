"""win_agent called directly from a playbook: a failed op fails the task, and the results still say which."""
from __future__ import annotations

from pathlib import Path

from conftest import run_playbook
from winsim.fleet import Fleet

PLAYBOOK = """
- hosts: windows
  gather_facts: false
  tasks:
    - name: Call the agent directly
      m365ops.activation.win_agent:
        ops:
          - {op: registry_read, key: 'HKLM\\\\SOFTWARE\\\\Microsoft\\\\Windows NT\\\\CurrentVersion', names: [CurrentBuildNumber]}
          - {op: registry_read, key: 'HKXX\\\\Nowhere'}
        strict: "{{ agent_strict | default(omit) }}"
"""


def test_a_failed_op_fails_a_direct_call_unless_strict_is_off(fleet: Fleet, inventory: Path) -> None:
    fleet.add("pc", "win10")
    fleet.write_inventory(inventory)
    playbook = inventory.with_name("direct.yml")
    playbook.write_text(PLAYBOOK, encoding="utf-8")
    run = run_playbook(inventory, playbook)
    result = run.result("pc", "Call the agent directly")
    assert run.rc == 2 and run.status("pc", "Call the agent directly") == "failed"
    assert "1 of 2 ops failed: #1 (registry_read): invalid_argument" in result["msg"]
    assert result["results"][0]["ok"] is True and result["results"][1]["error"] == "invalid_argument"
    lenient = run_playbook(inventory, playbook, extra_vars={"agent_strict": False})
    assert lenient.rc == 0 and lenient.result("pc", "Call the agent directly")["results"][1]["ok"] is False
