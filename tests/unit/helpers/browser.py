"""Real headless Chromium (Debian's ``chromium``, which scripts/system-packages.sh installs) driven by Playwright, for the
report page: the page is opened from its file as a reader would, with every console message and page error kept."""
from __future__ import annotations

import contextlib
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

# The flags a closed network needs: without the background ones Chromium keeps trying to reach Google's hosts.
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--disable-default-apps"]


def chromium_path() -> str:
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if not path:
        raise RuntimeError("Chromium is missing: run scripts/system-packages.sh as root (it installs Debian's chromium)")
    return path


@dataclass
class OpenedPage:
    page: Any
    console: list[tuple[str, str]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)

    def problems(self) -> list[str]:
        """Console errors and warnings, uncaught errors, and any request that left the file (the page needs none)."""
        return [f"{kind}: {text}" for kind, text in self.console if kind in ("error", "warning")] + self.errors + [
            f"request: {url}" for url in self.requests]


@contextlib.contextmanager
def opened(path: Path, width: int = 1300, height: int = 1000) -> Iterator[OpenedPage]:
    """``path`` opened in headless Chromium, the page's own script finished (``body[data-ready]``)."""
    from playwright.sync_api import sync_playwright  # pylint: disable=import-outside-toplevel  # only the page tests need it

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": width, "height": height})
            opened_page = OpenedPage(page)
            page.on("console", lambda message: opened_page.console.append((message.type, message.text)))
            page.on("pageerror", lambda error: opened_page.errors.append(str(error)))
            page.on("request", lambda request: None if request.url.startswith("file://") else opened_page.requests.append(request.url))
            page.goto(path.resolve().as_uri())
            page.wait_for_selector("body[data-ready='1']", timeout=120_000)
            yield opened_page
        finally:
            browser.close()


def dom_counts(page: Any) -> dict[str, int]:
    """Every number the page shows with its report key (``data-count="activation.cannot_activate"``)."""
    pairs = page.eval_on_selector_all("[data-count]", "nodes => nodes.map(node => [node.dataset.count, node.textContent])")
    return {key: int(value) for key, value in pairs}
