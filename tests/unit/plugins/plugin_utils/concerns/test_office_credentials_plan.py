"""The work-account read of office_credentials: what Windows' one answer covers, and what it cannot show (review G21)."""
from __future__ import annotations

from ansible_collections.m365ops.activation.plugins.plugin_utils.concerns.office_credentials import work_account
from ansible_collections.m365ops.activation.plugins.plugin_utils.engine.concern import Plan


def answer(join: dict) -> dict:
    return {"results": [{"op": "work_account", "ok": True, "supported": True, "join": join}]}


def test_on_a_joined_device_the_read_says_the_accounts_a_user_added_are_not_seen() -> None:
    plan = Plan()
    found = work_account(plan, "CORP\\alice", answer({"join_type": "device", "tenant_name": "Contoso", "user_email": "alice@corp.example"}))
    assert found is not None and found["checked"] == "default join only" and "not seen" not in found
    assert "user added" in found["not_seen"] and plan.warnings == []


def test_an_added_account_is_named_and_the_read_says_what_it_covers() -> None:
    plan = Plan()
    found = work_account(plan, "CORP\\bob", answer({"join_type": "workplace", "tenant_name": "Fabrikam", "user_email": "bob@fabrikam.example"}))
    assert found is not None and found["checked"] == "default join only" and "not_seen" not in found
    assert "bob@fabrikam.example (Fabrikam)" in plan.warnings[0]
