"""win_winhttp_proxy decisions, driven through the action against simulated hosts (the agent's recorded semantics)."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from ansible.errors import AnsibleActionFail

from ansible_collections.m365ops.activation.plugins.action.win_winhttp_proxy import ActionModule
from recorded_host import RecordedHost, make_action
from winsim.agent import winhttp_setting
from winsim.profiles import FLAG_DIRECT, FLAG_PROXY, USER_SID, user_wininet

SITE = {"access_type": "named", "proxy": "proxy.corp.example:8080", "bypass": "*.corp.example;<local>"}
DIRECT = {"access_type": "direct", "proxy": None, "bypass": None}
BOB_SID = "S-1-5-21-1004336348-1177238915-682003330-1105"


def run(recorded: RecordedHost, args: dict[str, Any] | None = None, check_mode: bool = False) -> dict[str, Any]:
    action = make_action(recorded, args, check_mode, action_class=ActionModule, module="m365ops.activation.win_winhttp_proxy")
    return action.run(task_vars={"inventory_hostname": "host"})


def views(recorded: RecordedHost) -> tuple[dict, dict]:
    return winhttp_setting(recorded.host, "64"), winhttp_setting(recorded.host, "32")


def sign_in(recorded: RecordedHost, sid: str, user: str, proxy: str = "", flags: int = FLAG_DIRECT | FLAG_PROXY) -> None:
    user_wininet(recorded.host.state["registry"], sid, flags, proxy, "<local>" if proxy else "")
    recorded.host.state["sessions"].append({"sid": sid, "user": user, "session_id": 2})


def test_default_imports_the_signed_in_users_proxy_into_both_views(tmp_path: Path) -> None:
    recorded = RecordedHost(tmp_path, "win10-proxy-site")
    result = run(recorded)
    assert result["status"] == "remediated" and views(recorded) == (SITE, SITE)
    assert [change["view"] for change in result["changes"]] == ["64", "32"]
    assert result["winhttp"]["imported_from"] == [f"CORP\\alice ({USER_SID})"]
    assert result["winhttp"]["wininet"]["scope"] == "users"
    # Imported only after the proxy answered, tested in one more read-only execution before the apply (review G24).
    assert [op["op"] for op in recorded.batches[1]] == ["http_request"] and recorded.batches[1][0]["proxy"] == "proxy.corp.example:8080"
    assert result["winhttp"]["import_test"] == {"answered": True, "evidence": "it answered HTTP 200 to https://login.microsoftonline.com/"}
    # Read back: 64-bit from the API write, 32-bit from its blob in the same batch.
    assert recorded.batches[2][-1] == {"op": "registry_read", "names": ["WinHttpSettings"], "view": "32",
                                       "key": r"HKLM\SOFTWARE\Microsoft\Windows\CurrentVersion\Internet Settings\Connections"}
    assert run(recorded)["changed"] is False


def test_a_proxy_that_does_not_answer_from_the_host_is_never_imported(tmp_path: Path) -> None:
    """Review G24: the machine-wide WinINet proxy of win10-proxy-machine does not answer; direct access stays."""
    recorded = RecordedHost(tmp_path, "win10-proxy-machine")
    before = views(recorded)
    result = run(recorded)
    assert result["changed"] is False and views(recorded) == before and result["status"] == "drift"
    assert recorded.batches[1][0]["proxy"] == "proxy.branch.example:3128" and len(recorded.batches) == 2
    assert result["winhttp"]["import_test"]["answered"] is False
    assert any("is not imported because it did not answer from this host (ERROR_WINHTTP_CANNOT_CONNECT" in text for text in result["drift"])


def test_default_never_removes_or_replaces_a_configured_proxy_that_answers(tmp_path: Path) -> None:
    recorded = RecordedHost(tmp_path, "win10-proxy-right")
    before = views(recorded)
    result = run(recorded)
    assert result["changed"] is False and views(recorded) == before and len(recorded.batches) == 1
    # The retired proxy of win10-stale-proxy, answering again: every other source says direct, but it is no dead proxy.
    recorded = RecordedHost(tmp_path, "win10-stale-proxy")
    recorded.host.state.setdefault("network", {}).setdefault("proxies", {})["old-proxy.corp.example:3128"] = {}
    before = views(recorded)
    result = run(recorded)
    assert result["changed"] is False and views(recorded) == before and result["status"] == "drift"
    assert result["winhttp"]["route_tests"]["64"]["replaced"] is False
    assert any("not replaced, because the proxy answered from this host (it answered HTTP 200" in text for text in result["drift"])


def test_a_dead_proxy_is_replaced_by_the_route_every_other_source_agrees_on_and_proves(tmp_path: Path) -> None:
    """Review G25: the 64-bit view names a retired proxy that does not answer; the 32-bit view and alice's WinINet go
    direct, and a direct request answers. The same follow-up execution proves both before the 64-bit view goes direct."""
    recorded = RecordedHost(tmp_path, "win10-stale-proxy")
    checked = run(recorded, check_mode=True)
    assert checked["changed"] is True and views(recorded)[0]["proxy"] == "old-proxy.corp.example:3128"
    recorded.batches.clear()
    result = run(recorded)
    assert result["status"] == "remediated" and views(recorded) == (DIRECT, DIRECT)
    assert [change["view"] for change in result["changes"]] == ["64"]
    assert sorted(op["proxy"] for op in recorded.batches[1]) == ["direct", "old-proxy.corp.example:3128"]
    test = result["winhttp"]["route_tests"]["64"]
    assert test["replaced"] is True and "did not answer from this host (ERROR_WINHTTP_CANNOT_CONNECT" in test["proxy_evidence"]
    assert test["route_evidence"] == "it answered HTTP 200 to https://login.microsoftonline.com/"
    assert [record["before"]["proxy"] for record in result["backup"]] == ["old-proxy.corp.example:3128"]
    assert run(recorded)["changed"] is False


def test_a_site_that_would_rather_change_a_dead_proxy_by_hand_gets_it_reported(tmp_path: Path) -> None:
    recorded = RecordedHost(tmp_path, "win10-stale-proxy")
    before = views(recorded)
    result = run(recorded, {"dead_proxy": "report"})
    assert result["changed"] is False and views(recorded) == before and result["status"] == "drift"
    test = result["winhttp"]["route_tests"]["64"]
    assert test["proven_dead"] is True and test["replaced"] is False
    assert any("Left in place (dead_proxy: report)" in text and "did not answer from this host" in text for text in result["drift"])
    with pytest.raises(AnsibleActionFail, match="value of dead_proxy must be one of: replace, report, got: keep"):
        run(recorded, {"dead_proxy": "keep"})


@pytest.mark.parametrize("disagreement", ["a user names another proxy", "a user's WinINet uses a PAC file", "direct access fails too",
                                          "a signed-in user cannot be identified"])
def test_a_dead_proxy_stays_where_the_sources_disagree_or_nothing_is_proven(tmp_path: Path, disagreement: str) -> None:
    recorded = RecordedHost(tmp_path, "win10-stale-proxy")
    if disagreement == "a user names another proxy":
        sign_in(recorded, BOB_SID, "CORP\\bob", "proxy.corp.example:8080")
    elif disagreement == "a user's WinINet uses a PAC file":
        user_wininet(recorded.host.state["registry"], USER_SID, FLAG_DIRECT | 0x04, pac_url="http://wpad.corp.example/proxy.pac")
    elif disagreement == "direct access fails too":
        recorded.host.state.setdefault("network", {})["blocked"] = ["*:443", "*:80"]
    else:
        recorded.host.state["sessions"][0]["sid_unresolved"] = True
    before = views(recorded)
    result = run(recorded)
    assert result["changed"] is False and views(recorded) == before and result["status"] in ("drift", "blocked")
    if disagreement == "direct access fails too":
        assert result["winhttp"]["route_tests"]["64"]["replaced"] is False and len(recorded.batches) == 2
        assert any("direct access (no proxy) did not carry a request from this host" in text for text in result["drift"])
    else:
        assert "route_tests" not in result["winhttp"] and len(recorded.batches) == 1


def test_the_winrm_accounts_own_empty_settings_are_never_the_source(tmp_path: Path) -> None:
    recorded = RecordedHost(tmp_path, "ws2022")
    result = run(recorded)
    assert result["status"] == "compliant" and result["winhttp"]["wininet"]["sources"] == []
    # An explicit import with nothing to import is an error, not "direct".
    failed = run(recorded, {"source": "wininet"})
    assert failed["failed"] is True and "found no WinINet settings" in failed["msg"] and len(recorded.batches) == 2


@pytest.mark.parametrize(("second_user_proxy", "needle"), [
    ("other-proxy.corp.example:3128", "do not all name the same static proxy"),
    ("", "do not all name the same static proxy"),
])
def test_users_who_disagree_are_drift_and_nothing_changes(tmp_path: Path, second_user_proxy: str, needle: str) -> None:
    recorded = RecordedHost(tmp_path, "win10-proxy-site")
    sign_in(recorded, BOB_SID, "CORP\\bob", second_user_proxy, FLAG_DIRECT | (FLAG_PROXY if second_user_proxy else 0))
    result = run(recorded)
    assert result["changed"] is False and result["status"] == "drift" and views(recorded) == (DIRECT, DIRECT)
    assert needle in result["drift"][0] and "CORP\\bob" in result["drift"][0]


def test_a_loopback_proxy_is_not_imported(tmp_path: Path) -> None:
    recorded = RecordedHost(tmp_path, "win10")
    user_wininet(recorded.host.state["registry"], USER_SID, FLAG_DIRECT | FLAG_PROXY, "127.0.0.1:8888")
    result = run(recorded)
    assert result["changed"] is False and "on this machine (127.0.0.1:8888)" in result["drift"][0]


def test_pac_is_drift_and_machine_wide_settings_win_over_users(tmp_path: Path) -> None:
    pac = run(RecordedHost(tmp_path, "win10-proxy-pac"))
    assert pac["changed"] is False and pac["status"] == "drift" and "PAC file http://wpad.corp.example/proxy.pac" in pac["drift"][0]
    recorded = RecordedHost(tmp_path, "win10-proxy-machine")
    # The branch proxy answers here (in the profile it does not: test_a_proxy_that_does_not_answer_from_the_host_is_never_imported).
    recorded.host.state.setdefault("network", {}).setdefault("proxies", {})["proxy.branch.example:3128"] = {}
    machine = run(recorded)
    assert machine["winhttp"]["wininet"]["scope"] == "machine" and machine["status"] == "remediated"
    assert views(recorded)[0]["proxy"] == "http=proxy.branch.example:3128;https=proxy.branch.example:3128"


def test_winhttp_naming_another_proxy_than_wininet_is_drift(tmp_path: Path) -> None:
    recorded = RecordedHost(tmp_path, "win10-proxy-right")
    user_wininet(recorded.host.state["registry"], USER_SID, FLAG_DIRECT | FLAG_PROXY, "new-proxy.corp.example:8080", "<local>")
    result = run(recorded, check_mode=True)
    assert result["status"] == "drift" and result["changed"] is False
    assert any("names proxy proxy.corp.example:8080" in item and "new-proxy.corp.example:8080" in item for item in result["drift"])


def test_a_named_user_is_imported_and_an_absent_one_is_an_error(tmp_path: Path) -> None:
    recorded = RecordedHost(tmp_path, "win10-proxy-site")
    sign_in(recorded, BOB_SID, "CORP\\bob", "")
    assert run(recorded, {"wininet_user": "alice"})["status"] == "remediated" and views(recorded)[1] == SITE
    missing = run(RecordedHost(tmp_path, "win10-proxy-site"), {"wininet_user": "CORP\\carol"})
    assert missing["failed"] is True and "has no interactive session" in missing["msg"] and "CORP\\alice" in missing["msg"]


def test_explicit_states_converge_both_views(tmp_path: Path) -> None:
    recorded = RecordedHost(tmp_path, "win10-stale-proxy")
    result = run(recorded, {"proxy": "Proxy.Corp.Example:8080", "bypass": ["<local>", "*.corp.example"]})
    assert result["status"] == "remediated"
    assert views(recorded) == ({**SITE, "bypass": "<local>;*.corp.example"},) * 2
    assert run(recorded, {"proxy": "proxy.corp.example:8080", "bypass": ["*.CORP.example", "<local>"]})["changed"] is False
    direct = run(recorded, {"direct": True})
    assert direct["changed"] is True and views(recorded) == (DIRECT, DIRECT)
    before = {record["view"]: record["before"]["proxy"] for record in direct["backup"]}
    assert before == {"64": "proxy.corp.example:8080", "32": "proxy.corp.example:8080"}


def test_a_read_back_that_differs_fails_the_task(tmp_path: Path) -> None:
    recorded = RecordedHost(tmp_path, "win10-proxy-site")
    recorded.host.faults["winhttp_write_ignored"] = ["32"]
    result = run(recorded)
    assert result["failed"] is True and result["status"] == "failed"
    assert "WinHTTP (32-bit view) reads back direct access (no proxy) after proxy proxy.corp.example:8080" in result["msg"]
    assert result["changed"] is True and [record["view"] for record in result["backup"]] == ["64", "32"]


def test_32_bit_windows_has_one_view(tmp_path: Path) -> None:
    recorded = RecordedHost(tmp_path, "win10-proxy-site")
    recorded.host.state["registry"]["HKLM"]["keys"]["SYSTEM"]["keys"]["CurrentControlSet"]["keys"]["Control"]["keys"][
        "Session Manager"]["keys"]["Environment"]["values"]["PROCESSOR_ARCHITECTURE"]["value"] = "x86"
    result = run(recorded)
    assert [change["view"] for change in result["changes"]] == ["64"] and list(result["winhttp"]["views"]) == ["64"]


@pytest.mark.parametrize(("args", "needle"), [
    ({"proxy": "   "}, "proxy: blank"),
    ({"proxy": "evil\n:8080"}, "'evil\\\\n'"),
    ({"proxy": "p:80", "direct": True}, "direct, proxy"),
    ({"bypass": ["<local>"]}, "bypass: only meaningful with proxy"),
    ({"source": "options"}, "source: 'options' needs proxy"),
    ({"source": "wininet", "direct": True}, "source: 'wininet'"),
    ({"wininet_user": "alice", "proxy": "p:80"}, "wininet_user"),
    ({"wininet_user": " "}, "wininet_user: blank"),
    ({"proxy": "socks=s:1080;http=p:80"}, "SOCKS"),
])
def test_bad_input_fails_before_the_host_is_contacted(tmp_path: Path, args: dict[str, Any], needle: str) -> None:
    recorded = RecordedHost(tmp_path, "win10")
    with pytest.raises(AnsibleActionFail, match=needle.replace("(", r"\(")):
        run(recorded, args)
    assert recorded.batches == []


def test_an_access_type_the_module_does_not_know_is_drift_never_taken_for_direct(tmp_path: Path) -> None:
    # WinHTTP answers an access type other than no-proxy (1) or named (3): not "direct", so nothing is imported over it.
    recorded = RecordedHost(tmp_path, "win10-proxy-site")
    recorded.host.faults["winhttp_access_type"] = 4
    result = run(recorded)
    assert result["status"] == "drift" and [change["view"] for change in result["changes"]] == ["32"]
    assert any("access type 4" in item for item in result["drift"])
    assert result["winhttp"]["views"]["64"] == {"access_type": "other", "access_type_code": 4, "proxy": None, "bypass": None}
    # Asked for explicitly, it is replaced like any other setting.
    asked = run(recorded, {"proxy": "proxy.corp.example:8080"}, check_mode=True)
    assert [change["view"] for change in asked["changes"]] == ["64", "32"]


def test_a_proxy_that_answers_before_tls_fails_is_imported(tmp_path: Path) -> None:
    """The host's own TLS 1.2 being off (fixed in the same apply by tls12) is no sign of a dead proxy."""
    from winsim.profiles import _proxy_site  # pylint: disable=import-outside-toplevel  # the simulator's own site set-up

    recorded = RecordedHost(tmp_path, "win10-tls-hardened")
    _proxy_site(recorded.host.state)
    recorded.host.save()
    result = run(recorded)
    test = result["winhttp"]["import_test"]
    assert test["answered"] is True and "ERROR_WINHTTP_SECURE_FAILURE" in test["evidence"], test
    assert result["status"] == "remediated"
