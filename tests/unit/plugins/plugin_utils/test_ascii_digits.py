"""Numbers read from outside (an endpoint list, a file version, a WinRM quota) are ASCII digits or nothing: str.isdigit()
is true of '²', which int() refuses, so a check by isdigit() alone let a raw ValueError through."""
from __future__ import annotations

import json
from pathlib import Path

from ansible_collections.m365ops.activation.plugins.plugin_utils.concerns.tls12 import file_version
from ansible_collections.m365ops.activation.plugins.plugin_utils.facts.endpoints import import_microsoft_json
from ansible_collections.m365ops.activation.plugins.plugin_utils.facts.winrm_quotas import MINIMUMS, quota_facts


def test_superscript_digits_are_not_numbers(tmp_path: Path) -> None:
    assert file_version("6.1.7601.²") is None and file_version("6.1.7601.24000") == (6, 1, 7601, 24000)
    assert set(quota_facts({path: "²" for path in MINIMUMS})["values"].values()) == {None}
    listing = tmp_path / "endpoints.json"
    listing.write_text(json.dumps([{"id": 56, "tcpPorts": "443,²", "urls": ["login.microsoftonline.com"]}]), encoding="utf-8")
    endpoints, _wildcards = import_microsoft_json(str(listing), [56])
    assert endpoints and all(item.get("port") in (None, 443) for item in endpoints)
