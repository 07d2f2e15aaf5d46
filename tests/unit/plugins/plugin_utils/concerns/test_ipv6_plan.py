"""IPv6 off/on decisions: binding per adapter, DisabledComponents, the management guard."""
from __future__ import annotations

import pytest
from ansible.errors import AnsibleActionFail

from ansible_collections.m365ops.activation.plugins.plugin_utils.adapters import Adapter, BindingChange
from ansible_collections.m365ops.activation.plugins.plugin_utils.concerns import ipv6
from ansible_collections.m365ops.activation.plugins.plugin_utils.engine.agent import OpResult
from ansible_collections.m365ops.activation.plugins.plugin_utils.engine.concern import HostState
from ansible_collections.m365ops.activation.plugins.plugin_utils.engine.run import management_ports
from hoststate import dword, make_state

DEFAULTS = {"state": "disabled", "adapters": ["*"], "method": "auto", "allow_management_adapter": False, "immediate": False}
KEY = ipv6.DISABLED_COMPONENTS.key.path


def run(supported=True, bound=True, management=True, disabled_components=None, release="win10", **options):
    args = {**DEFAULTS, **options}
    adapters = [{"name": "Ethernet", "addresses": ["198.51.100.23"], "ipv6_bound": bound if supported else None},
                {"name": "Wi-Fi", "addresses": ["203.0.113.41"], "ipv6_bound": bound if supported else None}]
    values = {} if disabled_components is None else {(KEY, "64", "DisabledComponents"): dword(disabled_components)}
    base = make_state(release, [ipv6.DISABLED_COMPONENTS], values)
    probes = {"adapters": OpResult("adapter_list", True, {"netadapter_supported": supported, "adapters": adapters}),
              "management": OpResult("management_addresses", True, {"supported": supported, "addresses": ["198.51.100.23"] if management else []})}
    return ipv6.plan_ipv6(args, HostState(base.windows, base.registry, probes))


def bindings(plan) -> list[tuple[str, bool]]:
    return [(change.adapter.name, change.bound) for change in plan.changes if isinstance(change, BindingChange)]


def test_off_on_the_other_adapter_only() -> None:
    assert bindings(run(adapters=["wi-fi"])) == [("Wi-Fi", False)]


def test_off_everywhere_is_refused_for_the_management_adapter() -> None:
    plan = run()
    assert plan.failure and "Ethernet" in plan.failure and "allow_management_adapter" in plan.failure
    assert plan.changes == []


def test_off_everywhere_when_allowed() -> None:
    assert bindings(run(allow_management_adapter=True)) == [("Ethernet", False), ("Wi-Fi", False)]


def test_on_again_and_idempotent() -> None:
    assert bindings(run(bound=False, state="enabled")) == [("Ethernet", True), ("Wi-Fi", True)]
    assert run(bound=True, state="enabled").changes == []
    assert run(bound=False, adapters=["Wi-Fi"]).changes == []


def test_unknown_adapter_names_fail() -> None:
    plan = run(adapters=["Ethernet 9"])
    assert plan.failure and "ethernet 9" in plan.failure and "Wi-Fi" in plan.failure


def test_windows7_uses_disabled_components_and_guards_unknown_management() -> None:
    refused = run(supported=False, release="win7")
    assert refused.facts["method"] == "registry" and "every adapter" in refused.failure
    allowed = run(supported=False, release="win7", allow_management_adapter=True)
    change, = allowed.changes
    assert change.after == dword(0xFF) and change.reboot_required


@pytest.mark.parametrize(("value", "after"), [
    (0xFF, None), (0x10, None), (0x31, 0x20), (0x20, "unchanged"), (None, "unchanged"), (0x19, 0x08), (0x1E, 0x0E),
])
def test_registry_on_again_clears_only_the_interface_bits(value, after) -> None:
    plan = run(supported=False, release="win7", state="enabled", disabled_components=value)
    if after == "unchanged":
        assert plan.changes == []
    else:
        change, = plan.changes
        assert (change.after.value if change.after else None) == after


def test_an_immediate_off_retry_on_refuses_the_registry_method() -> None:
    plan = run(supported=False, release="win7", allow_management_adapter=True, immediate=True)
    assert plan.changes == [] and "takes effect only after a restart" in plan.failure
    assert run(immediate=True, management=False).changes, "the per-adapter binding acts at once"


def test_binding_method_on_windows7_fails_with_the_alternative() -> None:
    plan = run(supported=False, release="win7", method="binding")
    assert "method: registry" in plan.failure


@pytest.mark.parametrize(("options", "needle"), [
    ({"adapters": []}, "at least one"),
    ({"adapters": ["*", "Ethernet"]}, "cannot be combined"),
    ({"method": "registry", "adapters": ["Ethernet"]}, "every adapter"),
])
def test_bad_arguments(options: dict, needle: str) -> None:
    with pytest.raises(AnsibleActionFail, match=needle):
        ipv6.Ipv6().check_arguments({**DEFAULTS, **options})


def test_a_link_local_management_address_with_a_zone_id_marks_its_adapter() -> None:
    adapter = Adapter.from_agent({"name": "Ethernet", "addresses": ["fe80::5c4e:6a3e:2f1b:4d0e"]}, ["FE80::5c4e:6a3e:2f1b:4d0e%12"])
    assert adapter.management is True


@pytest.mark.parametrize(("port", "ports"), [(5986, [5985, 5986]), (55985, [5985, 5986, 55985]), ("22", [22, 5985, 5986]), (None, [5985, 5986])])
def test_the_connection_port_is_a_management_port(port, ports) -> None:
    class Connection:
        def get_option(self, name: str):
            assert name == "port"
            return port
    assert management_ports(Connection()) == tuple(ports)


def test_bindings_are_set_by_interface_index_and_recorded_with_the_guid() -> None:
    adapter = Adapter.from_agent({"name": "Ethernet [2]", "addresses": [], "if_index": 7, "guid": "{abc}", "ipv6_bound": True}, [])
    change = BindingChange(adapter, False, "why")
    assert change.to_op()["if_index"] == 7 and change.backup_record({"before": True})["guid"] == "{abc}"
