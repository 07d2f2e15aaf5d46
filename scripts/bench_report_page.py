"""make bench, the report page: how big the HTML page is, and how long Chromium takes to open it, at 1,000 and 10,000 hosts.

A synthetic fleet report in the collection's layout (compliant hosts, drifting ones, hosts that cannot activate behind
one of twenty dead proxies or five intercepting CAs, and some with evidence of their own, a signed-in user's proxy), is
written as JSON and as the page; the page is opened in Debian's headless Chromium (Playwright) and timed from the start
of navigation to the page's own script having drawn it, then a search over every host and a click on a host. It prints
a table; it asserts nothing.
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
for entry in (str(ROOT / ".build" / "collections"), str(ROOT / "tests" / "unit" / "helpers")):
    sys.path.insert(0, entry)

from ansible_collections.m365ops.activation.plugins.filter.report import HEADLINE_ORDER, STATUS_ORDER, summary  # noqa: E402
from ansible_collections.m365ops.activation.plugins.plugin_utils.report_files.page import report_page  # noqa: E402
from browser import opened  # noqa: E402

CONCERNS = ("tls12", "winhttp_proxy", "ncsi", "required_services", "winsock_reset")


def concern(status: str, drift: tuple[str, ...] = ()) -> dict:
    return {"status": status, "changes": [], "blockers": [], "drift": list(drift), "warnings": [], "reboot_required": False, "reboot_owed_by": []}


def host(index: int) -> dict:
    """One host of the synthetic fleet: most compliant, some drifting, some that cannot activate for a shared reason."""
    concerns = {name: concern("compliant") for name in CONCERNS}
    causes = []
    kind = index % 10
    if kind in (1, 2):
        concerns["tls12"] = concern("drift", ("SCHANNEL TLS 1.2 Client Enabled is 0, and the article needs 1",))
        causes.append({"id": "winhttp-tls12-refused", "severity": "high", "summary": "WinHTTP does not offer TLS 1.2",
                       "fix": "role tls12", "evidence": ["DefaultSecureProtocols is 0x0A0 in the 64-bit view"]})
    elif kind == 3:
        proxy = f"proxy{index % 20:02}.corp.example:3128"
        causes.append({"id": "proxy-unreachable", "severity": "high", "summary": "a proxy this host is set to use does not answer",
                       "fix": "needs a decision: m365ops_winhttp_proxy", "evidence": [{"route": f"WinHTTP {proxy}", "error": "ERROR_WINHTTP_CANNOT_CONNECT"}]})
    elif kind == 4:
        causes.append({"id": "tls-intercepted", "severity": "high", "summary": "TLS to Microsoft's endpoints is intercepted",
                       "fix": "exempt the endpoints from inspection", "evidence": [{"issuer": f"CN=Inspect CA {index % 5}, O=Corp"}]})
    elif kind == 5:
        # Evidence of this host alone: the signed-in user's own proxy.
        concerns["winhttp_proxy"] = concern("drift", (f"WinINet of CORP\\user{index} names proxy p{index}.corp.example:8080",))
        causes.append({"id": "winhttp-proxy-disagrees", "severity": "medium", "summary": "the WinHTTP proxy and WinINet's disagree",
                       "fix": "set m365ops_winhttp_proxy", "evidence": [f"CORP\\user{index} (S-1-5-21-1004-{index}): proxy p{index}.corp.example:8080"]})
    status = "drift" if any(item["status"] == "drift" for item in concerns.values()) else "compliant"
    verdict = "cannot_activate" if any(cause["severity"] == "high" for cause in causes) else "at_risk" if causes else "can_activate"
    return {"status": status, "headline": verdict if verdict in ("cannot_activate", "at_risk") else status, "os": "Windows 10", "check_mode": True,
            "reboot_required": False, "reboot_owed_by": [], "verified": None, "concerns": {**concerns, "ipv6": {"status": "not_selected"}},
            "activation": {"verdict": verdict, "causes": causes, "checked": {"concerns": list(CONCERNS), "endpoints": True, "endpoint_follow_ups": False,
                                                                             "not_checked": ["office_credentials", "office_license", "office_update"]}}}


def report(count: int) -> dict:
    hosts = {f"pc-{index:05}.corp.example": host(index) for index in range(count)}
    return {"schema_version": 1, "title": "audit", "run": {"id": "0" * 32, "generated": "2026-12-04T00:00:00Z", "check_mode": True, "playbook": "bench",
                                                           "collection_version": None, "ansible_core": None, "limit": None, "tags": ["all"],
                                                           "skip_tags": [], "concerns": {"selected": list(CONCERNS), "not_selected": []}},
            # Totals and the fleet's causes as the report filter computes them.
            "hosts": hosts, **summary(hosts), "concerns": list(CONCERNS), "status_order": list(STATUS_ORDER), "headline_order": list(HEADLINE_ORDER)}


def measure(count: int, where: Path) -> str:
    data = report(count)
    started = time.perf_counter()
    page = report_page(data)
    render = time.perf_counter() - started
    json_size = len(json.dumps(data, indent=4, sort_keys=True))
    path = where / f"page-{count}.html"
    path.write_text(page, encoding="utf-8")
    with opened(path) as view:
        load_ms = view.page.evaluate("performance.now()")
        search_ms = view.page.evaluate("""() => { const box = document.getElementById('search'); const started = performance.now();
            box.value = 'pc-0099'; box.dispatchEvent(new Event('input')); return performance.now() - started; }""")
        matching = view.page.get_attribute("#filter-note", "data-matching")
        open_ms = view.page.evaluate("""() => { const started = performance.now(); document.querySelector('tr.host').click();
            return performance.now() - started; }""")
        problems = view.problems()
    return (f"| {count:>6} | {json_size / 1024:>9.0f} | {len(page) / 1024:>9.0f} | {render:>8.2f} | {load_ms:>8.0f} | {search_ms:>9.1f} ({matching}) |"
            f" {open_ms:>7.1f} | {len(problems):>6} |")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hosts", type=int, nargs="+", default=[1000, 10000])
    args = parser.parse_args()
    print("\nThe report page in headless Chromium (synthetic audit report; times on this machine):\n")
    print("|  hosts | JSON KiB | page KiB | render s | open ms | search ms (hits) | click ms | errors |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|")
    with tempfile.TemporaryDirectory(prefix="m365ops-page-") as where:
        for count in args.hosts:
            print(measure(count, Path(where)), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
