"""win_activation's own decisions: options per concern, conflicts between concerns, one probe for all."""
from __future__ import annotations

from pathlib import Path

import pytest
from ansible.errors import AnsibleActionFail

from ansible_collections.m365ops.activation.plugins.action.win_activation import ActionModule, conflicts
from ansible_collections.m365ops.activation.plugins.plugin_utils.concerns.catalog import concern_options
from ansible_collections.m365ops.activation.plugins.plugin_utils.concerns.ncsi import ENABLE_ACTIVE_PROBING, Ncsi
from ansible_collections.m365ops.activation.plugins.plugin_utils.concerns.tls12 import Tls12
from ansible_collections.m365ops.activation.plugins.plugin_utils.engine.concern import Plan
from ansible_collections.m365ops.activation.plugins.plugin_utils.engine.run import Planned
from ansible_collections.m365ops.activation.plugins.plugin_utils.registry import RegistryValue, ValueChange
from hoststate import make_state
from recorded_host import RecordedHost, make_action


def planned_with(concern, after: int) -> Planned:
    plan = Plan(changes=[ValueChange(ENABLE_ACTIVE_PROBING, None, RegistryValue.dword(after), "why")])
    return Planned(concern, {}, plan, make_state("win10", []))


def test_two_concerns_changing_one_value_differently_are_refused_with_both_named() -> None:
    assert conflicts([planned_with(Tls12(), 1), planned_with(Ncsi(), 1)]) == []
    clash, = conflicts([planned_with(Tls12(), 0), planned_with(Ncsi(), 1)])
    assert "tls12 and ncsi" in clash and "EnableActiveProbing" in clash


@pytest.mark.parametrize(("name", "raw", "needle"), [
    ("tls12", {"serverr": True}, "tls12.serverr: not an option of the tls12 concern (did you mean tls12.server?)"),
    ("ncsi", {"policy": "sometimes"}, "ncsi: "),
    ("winsock_reset", {"timeout": 5}, "winsock_reset.timeout: must be 10 to 3600 seconds"),
    ("ipv6", {}, "ipv6: "),
    ("ncsi", "report", "ncsi: the options of the ncsi concern must be a mapping"),
])
def test_options_are_checked_by_the_concerns_own_spec_and_named_concern_dot_option(name, raw, needle) -> None:
    with pytest.raises(AnsibleActionFail) as caught:
        concern_options(name, raw, selected=True)
    assert needle in caught.value.message


def test_options_of_a_concern_not_selected_are_checked_only_when_given() -> None:
    assert concern_options("ipv6", None, selected=False) is None
    with pytest.raises(AnsibleActionFail, match="ipv6.stat"):
        concern_options("ipv6", {"stat": "disabled"}, selected=False)


def test_an_audit_of_every_concern_is_one_read_only_batch(tmp_path: Path) -> None:
    recorded = RecordedHost(tmp_path, "win10-tls-hardened")
    action = make_action(recorded, {}, True, action_class=ActionModule, module="m365ops.activation.win_activation")
    result = action.run(task_vars={"inventory_hostname": "host"})
    assert result["agent_executions"] == 1 and len(recorded.batches) == 1
    ops = [op["op"] for op in recorded.batches[0]]
    # Asked by several concerns, read once.
    assert len(ops) == len({repr(op) for op in recorded.batches[0]})
    assert result["status"] == "drift" and result["verified"] is None
    assert result["concerns"]["tls12"]["status"] == "drift" and result["concerns"]["ncsi"]["status"] == "compliant"


def test_a_warning_several_concerns_give_is_said_once_naming_them() -> None:
    lacking = "PowerShell 5.1 is missing: install Windows Management Framework 5.1"
    results = {"tls12": {"status": "blocked", "warnings": [lacking]}, "ncsi": {"status": "blocked", "warnings": [lacking]},
               "winsock_reset": {"status": "blocked", "warnings": [lacking, "its own"]}}
    summary = ActionModule._summary({}, results, None, 1)  # pylint: disable=protected-access
    assert summary["warnings"] == [f"tls12, ncsi, winsock_reset: {lacking}", "winsock_reset: its own"]
    assert summary["status"] == "blocked"
