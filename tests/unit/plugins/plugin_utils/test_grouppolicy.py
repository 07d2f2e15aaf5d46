"""Registry.pol parsing and where a policy value comes from."""
from __future__ import annotations

import base64

import pytest

from ansible_collections.m365ops.activation.plugins.plugin_utils.grouppolicy import PolicyEntry, parse_registry_pol, policy_source
from winsim.profiles import registry_pol

KEY = r"Software\Policies\Microsoft\Windows\NetworkConnectivityStatusIndicator"


def test_entries_are_read_with_their_types() -> None:
    data = registry_pol([(KEY, "NoActiveProbe", "dword", 1), (KEY, "CorporateWebsiteProbeUrl", "string", "http://probe.corp/ncsi.txt")])
    assert parse_registry_pol(data) == [PolicyEntry(KEY, "NoActiveProbe", 4, 1),
                                        PolicyEntry(KEY, "CorporateWebsiteProbeUrl", 1, "http://probe.corp/ncsi.txt")]
    assert parse_registry_pol(registry_pol([])) == []


@pytest.mark.parametrize(("data", "needle"), [
    (b"", "no PReg version 1 header"),
    (b"PReg\x02\x00\x00\x00", "no PReg version 1 header"),
    (registry_pol([(KEY, "NoActiveProbe", "dword", 1)])[:-2], "expected ']'"),
    (registry_pol([(KEY, "NoActiveProbe", "dword", 1)])[:40], "unterminated string"),
])
def test_a_malformed_file_is_refused_naming_where(data: bytes, needle: str) -> None:
    with pytest.raises(ValueError, match=needle):
        parse_registry_pol(data)


def test_the_local_gpo_wins_over_the_domain_list_when_it_holds_the_value() -> None:
    pol = {"exists": True, "expanded": "C:\\pol", "content": base64.b64encode(registry_pol([(KEY, "NoActiveProbe", "dword", 1)])).decode()}
    domain = {"subkeys": {"1": {"values": {"DisplayName": {"value": "Baseline"}, "Link": {"value": "LDAP://DC=corp"}}}}}
    assert policy_source("HKLM\\" + KEY, "noactiveprobe", pol, domain) == {"source": "local_gpo", "file": "C:\\pol"}
    assert policy_source("HKLM\\" + KEY, "Other", pol, domain) == {"source": "domain_gpo", "gpos": ["Baseline"]}
    assert policy_source("HKLM\\" + KEY, "Other", pol, {"subkeys": {}}) == {"source": "unknown"}
