from __future__ import annotations

import base64
import struct

import pytest

from ansible_collections.m365ops.activation.plugins.plugin_utils.winhttp import (
    ProxyChange, ProxyError, ProxySetting, WinInetProxy, decode_connection_settings, decode_winhttp_settings, is_loopback, normalize_bypass,
    normalize_proxy, split_proxy,
)


@pytest.mark.parametrize(("given", "canonical"), [
    ("Proxy.Corp.Example:8080", "proxy.corp.example:8080"),
    (" proxy:80 ", "proxy:80"),
    ("https=p2:443; HTTP=p1:80", "http=p1:80;https=p2:443"),
    ("[fd00::1]:3128", "[fd00::1]:3128"),
    ("10.0.0.5:8080", "10.0.0.5:8080"),
    ("proxy", "proxy"),
    ("http://proxy.corp.example:8080/", "proxy.corp.example:8080"),
    ("proxy_01.ad.corp.example:3128", "proxy_01.ad.corp.example:3128"),
    ("a" * 63 + ".example:80", "a" * 63 + ".example:80"),
    # Surrounding whitespace (a YAML block scalar's last newline) is trimmed; whitespace inside is refused below.
    ("proxy:8080\n", "proxy:8080"),
])
def test_canonical_proxy(given: str, canonical: str) -> None:
    assert normalize_proxy(given) == canonical


@pytest.mark.parametrize(("given", "needle"), [
    ("proxy:0", "port 0"), ("proxy:70000", "port 70000"), ("pro xy:80", "'pro xy' in 'pro xy' is not a host name label"),
    ("gopher=p:70", "scheme"), ("http=a:1;http=b:2", "twice"), ("[nothex]:80", "IPv6"), ("", "blank"), ("   ", "blank"),
    ("-bad-:80", "'-bad-'"),
    # An embedded newline never reaches the host, and the message shows it escaped.
    ("evil\n:8080", "'evil\\\\n' in 'evil\\\\n' is not a host name label"),
    ("proxy:80\n80", "is not host:port"),
    ("12345:80", "cannot be all digits"), ("1.2.3:80", "cannot be all digits"), ("999.1.1.1:80", "neither an IPv4"),
    ("a" * 64 + ".example:80", "64 characters long; DNS allows at most 63"),
    (".".join(["abcdefghij"] * 25) + ":80", "DNS allows at most 253"),
    ("proxy:80a", "is not host:port"), ("proxy:123456", "is not host:port"),
    ("https://proxy:443", "scheme WinHTTP cannot use"),
    ("socks=s:1080", "which WinHTTP ignores"),
])
def test_invalid_proxy(given: str, needle: str) -> None:
    with pytest.raises(ProxyError, match=needle.replace("(", r"\(").replace(")", r"\)")):
        normalize_proxy(given)


def test_socks_entries_are_only_dropped_from_what_is_imported() -> None:
    assert split_proxy("http=p:80;socks=s:1080") == ("http=p:80", ["socks=s:1080"])
    with pytest.raises(ProxyError, match="SOCKS"):
        normalize_proxy("http=p:80;socks=s:1080")


def test_bypass() -> None:
    assert normalize_bypass(["<local>", "*.Corp.Example", "*.corp.example", " 10.* "]) == ["<local>", "*.corp.example", "10.*"]
    for bad in ("bad entry", "evil\n.example", "x" * 256):
        with pytest.raises(ProxyError, match="bypass"):
            normalize_bypass([bad])


@pytest.mark.parametrize(("proxy", "loopback"), [
    ("127.0.0.1:8888", True), ("localhost:3128", True), ("[::1]:8080", True), ("http=127.0.0.1:1;https=localhost:2", True),
    ("proxy.corp.example:8080", False), ("http=127.0.0.1:1;https=p:2", False),
])
def test_loopback_proxies(proxy: str, loopback: bool) -> None:
    assert is_loopback(proxy) is loopback


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
    assert ProxySetting.from_blob(None) == ProxySetting("direct")


def connection_blob(flags: int, proxy: str = "", bypass: str = "", pac: str = "") -> str:
    data = struct.pack("<III", 0x46, 9, flags)
    for text in (proxy, bypass, pac):
        data += struct.pack("<I", len(text)) + text.encode()
    return base64.b64encode(data + bytes(32)).decode()


def test_decode_wininet_connection_settings() -> None:
    decoded = decode_connection_settings(connection_blob(0x0B, "proxy:8080", "<local>"))
    assert decoded == {"manual_proxy": True, "proxy": "proxy:8080", "bypass": "<local>", "pac": False, "pac_url": None, "auto_detect": True}
    pac = decode_connection_settings(connection_blob(0x05, pac="http://wpad/proxy.pac"))
    assert pac is not None and pac["pac"] and pac["pac_url"] == "http://wpad/proxy.pac" and not pac["manual_proxy"]
    # A length that runs past the end of the blob is not believed.
    assert decode_connection_settings(base64.b64encode(struct.pack("<IIII", 0x46, 1, 3, 500)).decode()) is None


def test_wininet_proxy_of_a_source() -> None:
    source = WinInetProxy.from_settings("alice", {"manual_proxy": True, "proxy": "HTTP://Proxy:8080", "bypass": "<local>;*.corp"})
    assert source.setting == ProxySetting("named", "proxy:8080", ("<local>", "*.corp"))
    broken = WinInetProxy.from_settings("bob", {"manual_proxy": True, "proxy": "not a proxy"})
    assert broken.setting is None and "bob" in (broken.problem or "")
    unticked = WinInetProxy.from_settings("carol", {"manual_proxy": False, "proxy": "proxy:8080"})
    assert unticked.setting is None and unticked.describe() == "direct access"


def test_the_32_bit_view_is_written_by_the_32_bit_netsh() -> None:
    change = ProxyChange(ProxySetting("direct"), ProxySetting("named", "p:80", ("<local>",)), "why", "32")
    assert change.to_op() == {"op": "process_run", "path": r"%SystemRoot%\SysWOW64\netsh.exe", "success_exit_codes": [0],
                              "arguments": ["winhttp", "set", "proxy", "proxy-server=p:80", "bypass-list=<local>"], "timeout_seconds": 120}
    assert ProxyChange(ProxySetting("named", "p:80"), ProxySetting("direct"), "why", "32").to_op()["arguments"] == ["winhttp", "reset", "proxy"]
    assert change.backup_record({"exit_code": 0}) == {"kind": "winhttp_proxy", "view": "32", "before": ProxySetting("direct").as_agent(),
                                                      "after": change.after.as_agent()}
