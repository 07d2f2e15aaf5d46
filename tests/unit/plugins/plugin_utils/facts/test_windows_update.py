"""How long ago a host last installed an update, from the Windows Update Agent's history."""
from __future__ import annotations

import datetime

from ansible_collections.m365ops.activation.plugins.plugin_utils.facts.windows_update import DEFINITION_UPDATES, update_facts

NOW = datetime.datetime(2026, 11, 25, 12, 0, tzinfo=datetime.timezone.utc)
SECURITY = "0fa1201d-4330-4fa8-8ae9-b877473b6441"


def entry(date: str, category: str = SECURITY, operation: int = 1, result: int = 2) -> dict:
    return {"date": date, "operation": operation, "result_code": result, "category_ids": [category.upper()]}


def test_definitions_failures_and_removals_do_not_count() -> None:
    history = {"available": True, "entries": [
        entry("2026-11-24T03:00:00Z", DEFINITION_UPDATES),        # daily Defender definitions
        entry("2026-11-20T03:00:00Z", result=4),                 # failed
        entry("2026-11-18T03:00:00Z", operation=2),              # an uninstallation
        entry("2026-09-01T03:00:00Z", result=3),                 # succeeded with errors: installed
        entry("not a date"),
    ]}
    facts = update_facts(history, NOW)
    assert facts["last_installed"] == "2026-09-01T03:00:00Z" and facts["days_since_last_install"] == 85


def test_an_agent_that_cannot_be_asked_is_said_with_its_hresult() -> None:
    facts = update_facts({"available": False, "hresult": -2147023838}, NOW)
    assert facts == {"history_available": False, "hresult": "0x80070422", "last_installed": None, "days_since_last_install": None}


def test_a_history_with_nothing_installed_has_no_date() -> None:
    facts = update_facts({"available": True, "entries": [entry("2026-11-24T03:00:00Z", DEFINITION_UPDATES)]}, NOW)
    assert facts["last_installed"] is None and facts["days_since_last_install"] is None and facts["history_available"] is True
