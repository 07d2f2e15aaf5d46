"""Which of the named variables may render differently on each host: those that are, or hold, a template."""
from __future__ import annotations

import pytest
from ansible.errors import AnsibleLookupError
from ansible.parsing.dataloader import DataLoader
from ansible.template import Templar, trust_as_template

from ansible_collections.m365ops.activation.plugins.lookup.templated_variables import LookupModule


def templated(terms: list, **variables: object) -> list[str]:
    lookup = LookupModule(loader=DataLoader(), templar=Templar(loader=DataLoader(), variables=variables))
    return lookup.run(terms, variables)


def test_a_template_at_any_depth_is_found_and_plain_values_are_not() -> None:
    variables = {
        "m365ops_tls12": {"server": trust_as_template("{{ inventory_hostname in groups['servers'] }}")},
        "m365ops_ncsi": {"policy": "override"},
        "m365ops_endpoints": {"extra": [{"url": trust_as_template("https://{{ site }}.example/")}]},
        "m365ops_mode": trust_as_template("{{ mode_of_site }}"),
        "m365ops_concerns": ["tls12", "ncsi"],
        "tls12_server": True,
    }
    assert templated([list(variables), "m365ops_unset"], **variables) == ["m365ops_tls12", "m365ops_endpoints", "m365ops_mode"]


def test_text_from_a_host_is_not_a_template_however_it_reads() -> None:
    # Only trusted text (the playbook's and inventory's own) is ever rendered; a fact that reads like a template is data.
    assert templated(["m365ops_winhttp_proxy"], m365ops_winhttp_proxy={"proxy": "{{ not_a_template }}"}) == []


@pytest.mark.parametrize("terms", [[3], [["m365ops_tls12", None]]])
def test_names_must_be_text(terms: list) -> None:
    with pytest.raises(AnsibleLookupError, match="give variable names"):
        templated(terms)
