"""The lookup the roles pass a concern's options with: m365ops_<concern> untouched, the deprecated role variables under it."""
from __future__ import annotations

import pytest
from ansible.errors import AnsibleLookupError
from ansible.parsing.dataloader import DataLoader
from ansible.template import Templar, trust_as_template

from ansible_collections.m365ops.activation.plugins.lookup.concern_options import LookupModule, legacy_variables
from ansible_collections.m365ops.activation.plugins.plugin_utils.concerns.catalog import BY_NAME


def options(concern: str, **variables: object) -> dict:
    # As a play runs it: the templar knows the same variables the lookup is given.
    lookup = LookupModule(loader=DataLoader(), templar=Templar(loader=DataLoader(), variables=variables))
    value, = lookup.run([concern], variables)
    return value


def test_the_one_variable_is_passed_untouched_and_unset_is_empty() -> None:
    given = {"server": True, "kb3140245_file_versions": {"6.1": "6.1.7601.23375"}, "nonsense": 1}
    assert options("tls12", m365ops_tls12=given) == given
    assert options("tls12") == {}
    assert options("tls12", m365ops_tls12=None) == {}


def test_deprecated_role_variables_fill_in_and_the_one_variable_wins(capsys: pytest.CaptureFixture[str]) -> None:
    got = options("required_services", m365ops_required_services={"start_timeout": 30},
                  required_services_list=[{"name": "NlaSvc"}], required_services_start_timeout=90, required_services_unrelated=1)
    assert got == {"services": [{"name": "NlaSvc"}], "start_timeout": 30}
    said = " ".join(capsys.readouterr().err.split())
    assert "required_services_list, required_services_start_timeout) are deprecated" in said and "0.5.0" in said


def test_an_empty_string_was_not_given_where_the_old_roles_said_so() -> None:
    assert options("winhttp_proxy", winhttp_proxy_proxy="", winhttp_proxy_wininet_user="", winhttp_proxy_bypass=[]) == {"bypass": []}
    # Blank but not empty is given, and the module refuses it by name.
    assert options("winhttp_proxy", winhttp_proxy_proxy="   ") == {"proxy": "   "}
    assert options("winsock_reset", winsock_reset_force_token="", winsock_reset_third_party=True) == {"reset_third_party": True}
    assert options("ncsi", ncsi_policy="") == {"policy": ""}, "elsewhere an empty string is a value, for the module to judge"


def test_the_procedure_options_of_ipv6_are_never_role_variables() -> None:
    assert options("ipv6", ipv6_state="disabled", ipv6_immediate=False, ipv6_adapters=["Wi-Fi"]) == {"adapters": ["Wi-Fi"]}


def test_templates_in_the_variables_are_rendered() -> None:
    assert options("ncsi", m365ops_ncsi=trust_as_template("{{ site_ncsi }}"), site_ncsi={"policy": "override"}) == {"policy": "override"}


@pytest.mark.parametrize("value", ["server=true", ["server"], 3])
def test_a_value_that_is_not_a_mapping_is_refused_naming_the_variable(value: object) -> None:
    with pytest.raises(AnsibleLookupError, match=r"m365ops_tls12 must be a mapping of tls12's options"):
        options("tls12", m365ops_tls12=value)


@pytest.mark.parametrize("terms", [["tsl12"], ["tls12", "ncsi"], []])
def test_one_known_concern_must_be_named(terms: list[str]) -> None:
    lookup = LookupModule(loader=DataLoader(), templar=Templar(loader=DataLoader()))
    with pytest.raises(AnsibleLookupError, match="name one concern"):
        lookup.run(terms, {})


def test_every_deprecated_name_is_one_the_earlier_roles_documented_and_an_option_still() -> None:
    # The 0.3 roles' variable names, as their argument specs documented them.
    earlier = {
        "tls12": {"tls12_server", "tls12_winhttp", "tls12_wininet", "tls12_wininet_users", "tls12_wininet_signed_out", "tls12_dotnet",
                  "tls12_require_kb3140245", "tls12_kb3140245_file_versions"},
        "winhttp_proxy": {"winhttp_proxy_proxy", "winhttp_proxy_bypass", "winhttp_proxy_direct", "winhttp_proxy_source", "winhttp_proxy_wininet_user"},
        "ncsi": {"ncsi_policy", "ncsi_restore_probe_defaults"},
        "required_services": {"required_services_list", "required_services_start_timeout", "required_services_sfc_on_failure",
                              "required_services_enable_dependencies"},
        "winsock_reset": {"winsock_reset_winsock", "winsock_reset_ip", "winsock_reset_force_token", "winsock_reset_allow_static_ip_reset",
                          "winsock_reset_third_party"},
        "office_credentials": {"office_credentials_patterns", "office_credentials_timeout_seconds", "office_credentials_users",
                               "office_credentials_work_accounts", "office_credentials_other_targets"},
        "office_license": {"office_license_files", "office_license_timeout_seconds", "office_license_users", "office_license_signed_out"},
        "office_update": {"office_update_minimum_version", "office_update_close_apps", "office_update_timeout_seconds"},
        "ipv6": {"ipv6_adapters", "ipv6_method", "ipv6_allow_management_adapter"},
    }
    assert {concern: set(legacy_variables(concern).values()) for concern in BY_NAME} == earlier
    assert all(set(legacy_variables(concern)) <= set(BY_NAME[concern].ARGUMENT_SPEC) for concern in BY_NAME)
