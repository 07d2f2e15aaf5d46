"""Required services: which start modes and starts are planned, in which order, and bad input."""
from __future__ import annotations

import pytest
from ansible.errors import AnsibleActionFail

from ansible_collections.m365ops.activation.plugins.plugin_utils.concerns.required_services import (
    DEFAULT_SERVICES, RequiredServices, check_services_arguments, plan_services,
)
from ansible_collections.m365ops.activation.plugins.plugin_utils.engine.agent import OpResult
from ansible_collections.m365ops.activation.plugins.plugin_utils.engine.concern import HostState
from ansible_collections.m365ops.activation.plugins.plugin_utils.services import ServiceStart, ServiceState, StartModeChange, dependency_order
from hoststate import make_state

HEALTHY = {
    "EventLog": {"exists": True, "start_mode": "auto", "status": "running", "dependencies": []},
    "NlaSvc": {"exists": True, "start_mode": "auto", "status": "running", "dependencies": ["NSI", "RpcSs", "Tcpip", "Dhcp", "EventLog"]},
    "netprofm": {"exists": True, "start_mode": "manual", "status": "running", "dependencies": ["RpcSs", "NlaSvc"]},
    "NcdAutoSetup": {"exists": True, "start_mode": "manual", "status": "running", "dependencies": ["netprofm"]},
}


def plan_for(answers: dict, services: list | None = None, release: str = "win10", enable_dependencies: bool = True):
    args = {"services": services or DEFAULT_SERVICES, "start_timeout": 60, "enable_dependencies": enable_dependencies}
    base = make_state(release, [])
    state = HostState(base.windows, base.registry, {"services": OpResult("service_query", True, {"services": answers})})
    return plan_services(args, state)


def steps(plan) -> list[tuple[str, str, str]]:
    return [(type(change).__name__, change.service.name, change.as_result()["after"]) for change in plan.changes]


def with_changes(**overrides: dict) -> dict:
    return {name: {**HEALTHY[name], **overrides.get(name, {})} for name in HEALTHY}


def test_healthy_needs_nothing() -> None:
    plan = plan_for(HEALTHY)
    assert plan.changes == [] and plan.facts["missing"] == []


def test_disabled_service_gets_its_default_and_dependents_start_after_it() -> None:
    answers = with_changes(NlaSvc={"start_mode": "disabled", "status": "stopped"}, netprofm={"status": "stopped"},
                           NcdAutoSetup={"status": "stopped"})
    assert steps(plan_for(answers)) == [
        ("StartModeChange", "NlaSvc", "auto"),
        ("ServiceStart", "NlaSvc", "running"), ("ServiceStart", "netprofm", "running"), ("ServiceStart", "NcdAutoSetup", "running"),
    ]


def test_start_modes_other_than_disabled_are_left_alone() -> None:
    answers = with_changes(NlaSvc={"start_mode": "manual"}, netprofm={"start_mode": "auto"})
    assert plan_for(answers).changes == []


def test_start_mode_changes_come_before_any_start() -> None:
    answers = with_changes(NcdAutoSetup={"start_mode": "disabled", "status": "stopped"}, EventLog={"status": "stopped"})
    kinds = [type(change) for change in plan_for(answers).changes]
    assert kinds == [StartModeChange, ServiceStart, ServiceStart]


def test_a_service_that_does_not_exist_fails_naming_it() -> None:
    answers = {**HEALTHY, "NlaSvc": {"exists": False}}
    plan = plan_for(answers)
    assert plan.changes == [] and plan.facts["missing"] == ["NlaSvc"]
    assert plan.failure is not None and plan.failure.startswith("services: NlaSvc does not exist") and "1060" in plan.failure


def test_a_service_newer_than_the_release_is_not_applicable() -> None:
    answers = {**HEALTHY, "NcdAutoSetup": {"exists": False}}
    assert plan_for(answers).failure is not None, "NcdAutoSetup is part of Windows 10"
    legacy = plan_for(answers, release="win7")
    assert legacy.failure is None and legacy.changes == []
    assert legacy.facts["missing"] == [] and legacy.facts["not_applicable"] == ["NcdAutoSetup"] and legacy.warnings == []


def test_diff_and_records_of_a_service_change() -> None:
    service = ServiceState("NlaSvc", True, "disabled", "stopped")
    change = StartModeChange(service, "auto", "why")
    assert change.diff().lines == ("start_mode=disabled", "start_mode=auto")
    assert change.to_op() == {"op": "service_set_start_mode", "name": "NlaSvc", "start_mode": "auto"}
    expected = {"kind": "service_start_mode", "service": "NlaSvc", "before": "disabled", "after": "auto"}
    assert change.backup_record({"before": "disabled"}) == expected
    assert ServiceStart(service, "why", 30).to_op() == {"op": "service_start", "name": "NlaSvc", "timeout_seconds": 30}


def test_dependency_order_tolerates_cycles_and_outside_dependencies() -> None:
    first = ServiceState("A", True, dependencies=("B", "Outside"))
    second = ServiceState("B", True, dependencies=("A",))
    assert [service.name for service in dependency_order([first, second])] == ["B", "A"]


@pytest.mark.parametrize(("services", "timeout", "needle"), [
    ([], 60, "at least one"),
    ([{"name": "Network Location Awareness\\x", "default_start_mode": "auto"}], 60, "short name"),
    ([{"name": "NlaSvc", "default_start_mode": "auto"}, {"name": "nlasvc", "default_start_mode": "auto"}], 60, "listed twice"),
    (DEFAULT_SERVICES, 0, "start_timeout"),
    (DEFAULT_SERVICES, 3601, "start_timeout"),
])
def test_bad_arguments(services: list, timeout: int, needle: str) -> None:
    with pytest.raises(AnsibleActionFail, match=needle):
        check_services_arguments({"services": services, "start_timeout": timeout, "sfc_timeout": 3600})


DHCP_DISABLED = {"Dhcp": {"exists": True, "start_mode": "disabled", "status": "stopped", "dependencies": ["NSI"]},
                 "NSI": {"exists": True, "start_mode": "auto", "status": "running", "dependencies": ["RpcSs"]},
                 "RpcSs": {"exists": True, "start_mode": "auto", "status": "running", "dependencies": []}}


def test_a_disabled_dependency_is_enabled_before_the_services_that_need_it_start() -> None:
    answers = {**with_changes(NlaSvc={"status": "stopped"}, netprofm={"status": "stopped"}), **DHCP_DISABLED}
    plan = plan_for(answers)
    assert steps(plan) == [("StartModeChange", "Dhcp", "auto"), ("ServiceStart", "Dhcp", "running"), ("ServiceStart", "NlaSvc", "running"),
                           ("ServiceStart", "netprofm", "running")]
    assert "1068" in plan.changes[0].reason and plan.facts["dependencies"]["Dhcp"]["start_mode"] == "disabled"
    kept = plan_for(answers, enable_dependencies=False)
    assert steps(kept)[0] == ("ServiceStart", "NlaSvc", "running") and "Dhcp is Disabled" in kept.blockers[0]


def test_a_resting_trigger_start_service_is_not_a_change() -> None:
    answers = with_changes(NcdAutoSetup={"status": "stopped", "trigger_start": True})
    plan = plan_for(answers)
    assert plan.changes == [] and plan.facts["resting_trigger_start"] == ["NcdAutoSetup"]
    disabled = plan_for(with_changes(NcdAutoSetup={"status": "stopped", "start_mode": "disabled", "trigger_start": True}))
    assert steps(disabled) == [("StartModeChange", "NcdAutoSetup", "manual"), ("ServiceStart", "NcdAutoSetup", "running")]


@pytest.mark.parametrize(("error", "repaired"), [("service_start_failed", True), ("service_disabled", False),
                                                 ("dependency_failed", False), ("access_denied", False), ("timeout", False)])
def test_only_a_service_that_will_not_start_for_unknown_reasons_gets_sfc(error: str, repaired: bool) -> None:
    action = RequiredServices()
    outcome = OpResult("service_start", False, {}, error, "did not start")
    repair = action.repair_ops({"sfc_on_failure": True, "sfc_timeout": 60}, ServiceStart(ServiceState("EventLog", True), "why"), outcome)
    assert bool(repair) is repaired


def test_other_services_on_the_activation_path_are_reported_never_changed() -> None:
    base = make_state("win10", [])
    reported = OpResult("service_query", True, {"services": {"TokenBroker": {"exists": True, "start_mode": "disabled", "status": "stopped"},
                                                             "ClickToRunSvc": {"exists": False}}})
    state = HostState(base.windows, base.registry, {"services": OpResult("service_query", True, {"services": HEALTHY}), "reported": reported})
    plan = plan_services({"services": DEFAULT_SERVICES, "start_timeout": 60, "enable_dependencies": True}, state)
    assert plan.changes == []
    assert plan.facts["reported"] == {"TokenBroker": {"start_mode": "disabled", "status": "stopped"}, "ClickToRunSvc": None}
