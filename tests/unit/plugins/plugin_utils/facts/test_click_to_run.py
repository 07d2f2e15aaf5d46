"""Click-to-Run facts: the channel from the update URL, policy first; a host without Click-to-Run says so."""
from __future__ import annotations

import pytest

from ansible_collections.m365ops.activation.plugins.plugin_utils.facts.click_to_run import CONFIGURATION, UPDATE_POLICY, ClickToRun, channel_of
from ansible_collections.m365ops.activation.plugins.plugin_utils.registry import RegistryValue
from hoststate import make_state

CURRENT = "http://officecdn.microsoft.com/pr/492350f6-3a01-4f97-b9c0-c7c6ddf67d60"
MONTHLY = "http://officecdn.microsoft.com/pr/55336B82-A18D-4DD6-B5F6-9E5095C314A6/"


@pytest.mark.parametrize(("url", "channel"), [(CURRENT, "Current"), (MONTHLY, "Monthly Enterprise"), (r"\\share\office", None),
                                              ("", None), (None, None), ("http://x/pr/00000000-0000-0000-0000-000000000000", None)])
def test_the_channel_is_named_from_the_guid_of_the_update_url(url, channel) -> None:
    assert channel_of(url) == channel


def facts(values: dict, keys=()) -> dict:
    concern = ClickToRun()
    state = make_state("win10", list(concern.registry_refs({})), {(key.path, "64", name): RegistryValue("string", value)
                                                                  for (key, name), value in values.items()},
                       existing_keys=tuple((key.path, "64") for key in keys))
    return concern.plan({}, state).facts


def test_policy_wins_over_what_click_to_run_recorded_and_no_key_is_not_click_to_run() -> None:
    installed = facts({(CONFIGURATION, "VersionToReport"): "16.0.1", (CONFIGURATION, "CDNBaseUrl"): CURRENT,
                       (UPDATE_POLICY, "UpdatePath"): MONTHLY, (CONFIGURATION, "SharedComputerLicensing"): "1"}, (CONFIGURATION,))
    assert installed["channel"] == "Monthly Enterprise" and installed["channel_source"] == "policy UpdatePath"
    assert installed["shared_computer_activation"] is True
    branch = facts({(CONFIGURATION, "CDNBaseUrl"): CURRENT, (UPDATE_POLICY, "UpdateBranch"): "Deferred"}, (CONFIGURATION,))
    assert branch["channel"] == "Deferred" and branch["channel_source"] == "policy UpdateBranch"
    assert facts({}) == {"installed": False}
