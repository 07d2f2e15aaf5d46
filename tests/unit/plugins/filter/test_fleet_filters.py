"""The fleet role's play-wide questions: which hosts set its variables themselves, and which may need a follow-up."""
from __future__ import annotations

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.m365ops.activation.plugins.filter.fleet import concern_variables, follow_up_hosts, host_variants


def test_a_concerns_options_are_read_from_its_one_variable_and_the_deprecated_role_variables() -> None:
    assert concern_variables(["ncsi", "office_update"]) == [
        "m365ops_ncsi", "ncsi_policy", "ncsi_restore_probe_defaults",
        "m365ops_office_update", "office_update_minimum_version", "office_update_close_apps", "office_update_timeout_seconds"]
    with pytest.raises(AnsibleFilterError, match="tls13 is not a concern"):
        concern_variables(["tls12", "tls13"])


def test_hosts_that_set_nothing_of_their_own_form_one_group() -> None:
    hostvars = {"a": {"ansible_host": "10.0.0.1"}, "b": {"ansible_host": "10.0.0.2"}, "c": {}}
    assert host_variants(hostvars, ["a", "b", "c"], ["m365ops_concerns", "m365ops_mode"]) == [
        {"hosts": ["a", "b", "c"], "values": {}}]


def test_a_host_that_sets_a_value_of_its_own_is_a_group_of_its_own_after_the_first_hosts() -> None:
    hostvars = {"a": {"m365ops_mode": "all"}, "b": {"m365ops_mode": "findings"}, "c": {"m365ops_mode": "all"},
                "d": {"m365ops_mode": "all", "m365ops_concerns": ["tls12"]}}
    groups = host_variants(hostvars, ["a", "b", "c", "d"], ["m365ops_mode", "m365ops_concerns"])
    assert groups == [{"hosts": ["a", "c"], "values": {"m365ops_mode": "all"}},
                      {"hosts": ["b"], "values": {"m365ops_mode": "findings"}},
                      {"hosts": ["d"], "values": {"m365ops_concerns": ["tls12"], "m365ops_mode": "all"}}]
    # Only the names asked about count: the same hosts compared on another variable are one group.
    assert len(host_variants(hostvars, ["a", "b", "c", "d"], ["m365ops_reboot"])) == 1


def test_mappings_with_the_same_values_in_another_order_are_the_same() -> None:
    hostvars = {"a": {"m365ops_tls12": {"server": True, "dotnet": False}}, "b": {"m365ops_tls12": {"dotnet": False, "server": True}}}
    assert len(host_variants(hostvars, ["a", "b"], ["m365ops_tls12"])) == 1


def activation(**concerns: dict) -> dict:
    return {"changed": False, "failed": False, "concerns": concerns}


@pytest.mark.parametrize(("result", "restart", "needed"), [
    (activation(tls12={"status": "compliant"}), False, False),
    (activation(tls12={"status": "compliant"}, ncsi={"failed": True, "msg": "access denied"}), False, True),
    # Failed before any concern (its options, the agent): no concerns at all.
    ({"changed": False, "failed": False, "failed_when_result": False, "msg": "agent failed"}, False, True),
    ({**activation(), "agent_unavailable": True}, False, True),
    # A change waiting for a restart needs one only where the run may restart hosts.
    ({**activation(winsock_reset={"status": "remediated"}), "reboot_required": True}, False, False),
    ({**activation(winsock_reset={"status": "remediated"}), "reboot_required": True}, True, True),
    # A host the run could not reach, or skipped, has no follow-up.
    ({"unreachable": True, "msg": "connection refused"}, True, False),
    ({"skipped": True, "changed": False}, True, False),
])
def test_the_hosts_whose_activation_result_may_call_for_a_follow_up(result: dict, restart: bool, needed: bool) -> None:
    hostvars = {"first": {"fleet_activation": activation(tls12={"status": "compliant"})}, "host": {"fleet_activation": result}}
    assert follow_up_hosts(hostvars, ["first", "host"], restart) == (["host"] if needed else [])


def test_a_diagnosis_that_could_not_run_the_agent_calls_for_a_follow_up() -> None:
    hostvars = {"a": {"fleet_diagnosis": {"ansible_facts": {"m365ops_activation": {"agent_unavailable": True}}}},
                "b": {"fleet_diagnosis": {"ansible_facts": {"m365ops_activation": {"concerns": {}}}}}, "c": {}}
    assert follow_up_hosts(hostvars, ["a", "b", "c"]) == ["a"]
