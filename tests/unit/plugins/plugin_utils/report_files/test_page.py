"""The HTML page's data: packed so that shared parts are written once, unpacked to the same value, and never markup."""
from __future__ import annotations

import copy
import json
import re
from typing import Any

import pytest

from ansible_collections.m365ops.activation.plugins.plugin_utils.report_files.page import pack, page_model, report_page


def unpack(packed: dict[str, Any]) -> Any:
    """What the page's script does, in Python: a lone {"$r": n} is table entry n, a key "$$x" is the data's "$x"."""
    table = packed["table"]

    def walk(value: Any) -> Any:
        if isinstance(value, list):
            return [walk(item) for item in value]
        if isinstance(value, dict):
            if list(value) == ["$r"]:
                return walk(table[value["$r"]])
            return {(key[1:] if key.startswith("$$") else key): walk(item) for key, item in value.items()}
        return value
    return walk(packed["root"])


def host(status: str, note: str = "") -> dict[str, Any]:
    return {"status": status, "headline": status, "os": "Windows 10", "reboot_required": False, "reboot_owed_by": [], "check_mode": True,
            "concerns": {"tls12": {"status": status, "changes": [], "blockers": [], "drift": [f"SCHANNEL TLS 1.2 Client Enabled is 0{note}"],
                                   "warnings": [], "reboot_required": False, "reboot_owed_by": []}},
            "activation": {"verdict": "can_activate", "causes": [], "checked": {}}}


def test_packing_keeps_every_value_and_writes_what_hosts_share_once() -> None:
    hosts = {f"pc-{index:05}": host("drift") for index in range(1000)}
    hosts["odd"] = host("drift", note=" (odd)")
    value = {"hosts": hosts, "weird": {"$r": 3, "$$x": [1, 2], "plain": None, "n": 1.5, "t": True}}
    packed = pack(value)
    assert unpack(packed) == value
    # A thousand identical entries are one table entry and a thousand short references.
    assert len(json.dumps(packed)) < len(json.dumps(value)) / 10
    assert sum(1 for entry in packed["table"] if isinstance(entry, dict) and "concerns" in entry) == 1


def test_values_seen_once_or_short_are_written_in_place() -> None:
    value = {"a": "x" * 40, "b": ["ok", "ok"], "c": {"k": 1}}
    assert pack(value) == {"table": [], "root": value}


def test_a_hostile_host_text_is_data_in_the_page_never_markup() -> None:
    evil = "</script><script>window.pwned=1</script><img src=x onerror=alert(1)> & \u2028"
    report = {"schema_version": 1, "title": "audit", "run": {"generated": "2026-12-04T10:00:00Z<b>"}, "hosts": {"pc<1>": host("drift", evil)},
              "totals": {"drift": 1}, "activation": {"can_activate": 1}, "headlines": {"drift": 1}, "causes": [], "cause_hosts": {}}
    page = report_page(copy.deepcopy(report))
    data = page.split('<script type="application/json" id="report-data">', 1)[1].split("</script>", 1)[0]
    assert "<" not in data and ">" not in data and "&" not in data
    # The title is escaped, and the only script elements are the page's own two.
    assert "<title>m365ops.activation audit, 2026-12-04T10:00:00Z&lt;b&gt;</title>" in page
    assert len(re.findall(r"<script\b", page)) == 2
    assert unpack(json.loads(data))["rows"][0]["entry"]["concerns"]["tls12"]["drift"][0].endswith(evil)


def test_a_mapping_that_is_no_report_of_the_collection_is_refused_by_name() -> None:
    with pytest.raises(ValueError, match="not a report of m365ops.activation"):
        page_model({"hosts": {}})
    with pytest.raises(ValueError, match="a mapping with 'hosts'"):
        page_model({"title": "audit"})
