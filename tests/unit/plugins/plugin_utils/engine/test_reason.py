"""A blocker or drift entry (action.Reason) survives what Ansible does to results, and results carry plain text."""
from __future__ import annotations

import copy
import json
import pickle

from ansible_collections.m365ops.activation.plugins.plugin_utils.concerns.ncsi import Ncsi
from ansible_collections.m365ops.activation.plugins.plugin_utils.engine.concern import Plan, Reason
from ansible_collections.m365ops.activation.plugins.plugin_utils.engine.run import Planned, concern_report, unavailable_result
from hoststate import make_state


def test_a_reason_is_pickled_and_copied_with_its_code() -> None:
    """A worker sends its result to the main process pickled: a Reason that could not be made again hung the run."""
    reason = Reason("tls12.group_policy", "Group Policy sets WinINet SecureProtocols to 0xa0")
    for made in (pickle.loads(pickle.dumps(reason)), copy.deepcopy(reason), copy.copy(reason)):
        assert (made, made.code) == (reason, "tls12.group_policy")


def test_results_carry_the_sentences_as_plain_text() -> None:
    blocked = unavailable_result([Reason("agent.prerequisite", "PowerShell 5.1 is missing")], check_mode=True)
    assert all(isinstance(entry, str) and not isinstance(entry, Reason) for entry in [*blocked["blockers"], *blocked["warnings"]])
    assert json.loads(json.dumps(blocked))["blockers"] == ["PowerShell 5.1 is missing"]
    plan = Plan(blockers=[Reason("ncsi.group_policy", "policy")], drift=[Reason("ncsi.probe_target", "probe")])
    assert all(isinstance(entry, str) and not isinstance(entry, Reason) for key in ("blockers", "drift") for entry in concern_report_of(plan)[key])


def concern_report_of(plan: Plan) -> dict:
    return concern_report(Planned(Ncsi(), {}, plan, make_state("win10", [])), check_mode=True, diff=False)
