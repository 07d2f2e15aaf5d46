from __future__ import annotations

import base64

import pytest

from ansible_collections.m365ops.activation.plugins.plugin_utils.winhttp import (
    ProxyError, ProxySetting, decode_winhttp_settings, normalize_bypass, normalize_proxy,
)


@pytest.mark.parametrize(("given", "canonical"), [
    ("Proxy.Corp.Example:8080", "proxy.corp.example:8080"),
    (" proxy:80 ", "proxy:80"),
    ("https=p2:443; HTTP=p1:80", "http=p1:80;https=p2:443"),
    ("[fd00::1]:3128", "[fd00::1]:3128"),
    ("10.0.0.5:8080", "10.0.0.5:8080"),
    ("proxy", "proxy"),
])
def test_canonical_proxy(given: str, canonical: str) -> None:
    assert normalize_proxy(given) == canonical


@pytest.mark.parametrize(("given", "needle"), [
    ("proxy:0", "port 0"), ("proxy:70000", "port 70000"), ("pro xy:80", "not a host"), ("gopher=p:70", "scheme"),
    ("http=a:1;http=b:2", "twice"), ("[nothex]:80", "IPv6"), ("", "empty"), ("-bad-:80", "not a host"),
])
def test_invalid_proxy(given: str, needle: str) -> None:
    with pytest.raises(ProxyError, match=needle):
        normalize_proxy(given)


def test_bypass() -> None:
    assert normalize_bypass(["<local>", "*.Corp.Example", "*.corp.example", " 10.* "]) == ["<local>", "*.corp.example", "10.*"]
    with pytest.raises(ProxyError, match="bypass"):
        normalize_bypass(["bad entry"])


def test_semantic_comparison() -> None:
    wanted = ProxySetting("named", "http=p1:80;https=p2:443", ("<local>", "*.corp.example"))
    assert ProxySetting.from_agent({"access_type": "named", "proxy": "HTTPS=P2:443;http=p1:80",
                                    "bypass": "*.CORP.example;<local>"}).same_as(wanted)
    assert not ProxySetting.from_agent({"access_type": "named", "proxy": "p1:80", "bypass": None}).same_as(wanted)
    assert ProxySetting.from_agent({"access_type": "direct", "proxy": "ignored"}).same_as(ProxySetting("direct"))


def test_decode_the_default_direct_blob() -> None:
    blob = base64.b64encode(bytes.fromhex("1800000000000000010000000000000000000000")).decode()
    assert decode_winhttp_settings(blob) == {"version": 0x18, "counter": 0, "direct": True, "named_proxy": False,
                                             "proxy": None, "bypass": None}
    assert decode_winhttp_settings("AAAA") is None
