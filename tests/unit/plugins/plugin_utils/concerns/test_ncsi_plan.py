"""The NCSI decision over starting states (docs/sources.md section 10)."""
from __future__ import annotations

import base64

import pytest

from ansible_collections.m365ops.activation.plugins.plugin_utils.concerns import ncsi
from ansible_collections.m365ops.activation.plugins.plugin_utils.concerns.ncsi import Ncsi, plan_ncsi
from ansible_collections.m365ops.activation.plugins.plugin_utils.engine.agent import OpResult
from ansible_collections.m365ops.activation.plugins.plugin_utils.registry import RegistryValue
from hoststate import changes_of, dword, make_state
from winsim.profiles import registry_pol

INTERNET = ncsi.INTERNET.path
POLICY = ncsi.POLICY.path
DEFAULTS = {"policy": "set_zero", "restore_probe_defaults": False}


def run(release: str, values: dict | None = None, local_pol: bytes | None = None, gpos: dict | None = None, **options):
    args = {**DEFAULTS, **options}
    pol = {"exists": False}
    if local_pol is not None:
        pol = {"exists": True, "expanded": r"C:\Windows\System32\GroupPolicy\Machine\Registry.pol", "content": base64.b64encode(local_pol).decode()}
    listed = {str(index): {"values": {"DisplayName": {"type": "string", "value": name}, "Link": {"type": "string", "value": link}}}
              for index, (name, link) in enumerate((gpos or {}).items())}
    probes = {"local_policy": OpResult("file_read", True, pol),
              "gpo_list": OpResult("registry_read_subkeys", True, {"exists": bool(listed), "subkeys": listed}),
              "connectivity": OpResult("connection_profiles", True, {"supported": False, "profiles": []})}
    return plan_ncsi(args, make_state(release, list(Ncsi().registry_refs(args)), values, probes=probes))


def defaults_for(release: str) -> dict:
    build = 19045 if release == "win10" else 7601
    return {(INTERNET, "64", name): RegistryValue("string", value) for name, value in ncsi.probe_defaults(build).items()}


HEALTHY = {(INTERNET, "64", "EnableActiveProbing"): dword(1)}


@pytest.mark.parametrize(("values", "options", "expected", "decided_by", "was_on"), [
    (HEALTHY, {}, {}, "service", True),
    ({}, {}, {(INTERNET, "64", "EnableActiveProbing"): 1}, "service", False),
    ({(INTERNET, "64", "EnableActiveProbing"): dword(0)}, {}, {(INTERNET, "64", "EnableActiveProbing"): 1}, "service", False),
    ({(INTERNET, "64", "EnableActiveProbing"): RegistryValue("string", "1")}, {}, {(INTERNET, "64", "EnableActiveProbing"): 1}, "service", False),
    ({**HEALTHY, (POLICY, "64", "NoActiveProbe"): dword(1)}, {}, {(POLICY, "64", "NoActiveProbe"): 0}, "policy", False),
    ({**HEALTHY, (POLICY, "64", "NoActiveProbe"): dword(1)}, {"policy": "remove"}, {(POLICY, "64", "NoActiveProbe"): None}, "service", False),
    ({**HEALTHY, (POLICY, "64", "NoActiveProbe"): dword(0)}, {"policy": "remove"}, {}, "policy", True),
    ({(INTERNET, "64", "EnableActiveProbing"): dword(0), (POLICY, "64", "NoActiveProbe"): dword(0)}, {},
     {(INTERNET, "64", "EnableActiveProbing"): 1}, "policy", True),
], ids=["healthy", "absent service value", "service off", "service value as string", "policy off -> 0",
        "policy off -> removed", "policy 0 is kept", "policy 0 decides over service 0"])
def test_active_probing(values: dict, options: dict, expected: dict, decided_by: str, was_on: bool) -> None:
    plan = run("win10", values, **options)
    assert changes_of(plan) == expected
    assert plan.facts["decided_by"] == decided_by
    assert plan.facts["active_probing_was_on"] is was_on
    # NlaSvc reads the values at start: every change is pending until it restarts. Over a Group Policy value the host's
    # restart would bring the policy back first, so then none is owed.
    temporary = plan.facts["policy_override_temporary"]
    assert all(change.reboot_required is not temporary for change in plan.changes)


def test_a_group_policy_value_is_blocked_by_default_and_an_override_is_temporary() -> None:
    values = {**HEALTHY, (POLICY, "64", "NoActiveProbe"): dword(1)}
    plan = run("win10", values, policy="report")
    assert plan.changes == [] and "Turn off Windows Network Connectivity Status Indicator active tests" in plan.blockers[0]
    assert plan.facts["policy_override_temporary"] is False
    override = run("win10", values, policy="set_zero")
    assert override.blockers == [] and override.warnings[0].startswith("temporary:")
    assert override.facts["policy_override_temporary"] is True
    # A restart would bring the policy's value back before NlaSvc reads it: none is owed, so m365ops_reboot restarts nothing.
    assert override.changes and not any(change.reboot_required for change in override.changes)
    assert any(warning.startswith("no restart is owed") for warning in override.warnings)


@pytest.mark.parametrize(("release", "host"), [("win10", "www.msftconnecttest.com"), ("win7", "www.msftncsi.com")])
def test_probe_defaults_follow_the_build(release: str, host: str) -> None:
    assert ncsi.probe_defaults(19045 if release == "win10" else 7601)["ActiveWebProbeHost"] == host
    plan = run(release, {**HEALTHY, **defaults_for(release)})
    assert plan.changes == [] and plan.facts["probe_differences"] == [] and plan.warnings == [] and plan.drift == []


def test_non_default_probe_is_drift_not_changed() -> None:
    values = {**HEALTHY, **defaults_for("win10"), (INTERNET, "64", "ActiveWebProbeHost"): RegistryValue("string", "ncsi.corp.example")}
    plan = run("win10", values)
    assert plan.changes == []
    assert plan.facts["probe_differences"] == [
        {"name": "ActiveWebProbeHost", "value": "ncsi.corp.example", "default": "www.msftconnecttest.com"}]
    # Not fixed while NCSI probes it: drift naming the host, and nothing changed unless asked.
    assert len(plan.drift) == 1 and "ncsi.corp.example" in plan.drift[0]


def test_restore_probe_defaults_resets_only_what_differs() -> None:
    values = {**HEALTHY, **defaults_for("win10"), (INTERNET, "64", "ActiveWebProbeHost"): RegistryValue("string", "ncsi.corp.example")}
    plan = run("win10", values, restore_probe_defaults=True)
    assert changes_of(plan) == {(INTERNET, "64", "ActiveWebProbeHost"): "www.msftconnecttest.com"}
    assert plan.warnings == [] and plan.drift == []


def test_absent_probe_values_are_not_created() -> None:
    plan = run("win10", HEALTHY, restore_probe_defaults=True)
    assert plan.changes == []


def test_corporate_probe_policies_are_reported_not_changed() -> None:
    values = {**HEALTHY, (POLICY, "64", "CorporateWebsiteProbeUrl"): RegistryValue("string", "http://ncsi.corp.example/"),
              (POLICY, "64", "UseGlobalDNS"): dword(1)}
    plan = run("win10", values)
    assert plan.changes == [] and "CorporateWebsiteProbeUrl='http://ncsi.corp.example/'" in plan.warnings[0]
    assert plan.facts["other_policy_values"] == {"UseGlobalDNS": 1, "CorporateWebsiteProbeUrl": "http://ncsi.corp.example/"}


NCSI_KEY = r"Software\Policies\Microsoft\Windows\NetworkConnectivityStatusIndicator"
OFF_BY_POLICY = {**HEALTHY, (POLICY, "64", "NoActiveProbe"): dword(1)}


@pytest.mark.parametrize(("local_pol", "gpos", "source", "needle"), [
    (registry_pol([(NCSI_KEY, "NoActiveProbe", "dword", 1)]), {}, "local_gpo", "local Group Policy object"),
    # Registry.pol of the local GPO holds other settings only: the domain's GPOs are named.
    (registry_pol([(r"Software\Policies\Microsoft\Windows\WindowsUpdate", "WUServer", "string", "http://wsus")]),
     {"Local Group Policy": "Local", "Workstation Baseline": "LDAP://CN={31B2F340},CN=Policies,DC=corp,DC=example"},
     "domain_gpo", "Workstation Baseline"),
    (None, {}, "unknown", "a script or a person"),
    (b"PReg\x01\x00\x00\x00[\x00garbage", {}, "unknown", "a script or a person"),
])
def test_the_policy_blocker_names_where_the_value_comes_from(local_pol, gpos, source, needle) -> None:
    plan = run("win10", OFF_BY_POLICY, local_pol=local_pol, gpos=gpos, policy="report")
    assert plan.facts["policy_source"]["source"] == source
    assert len(plan.blockers) == 1 and needle in plan.blockers[0]
    assert plan.changes == []
