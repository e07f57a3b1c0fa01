"""Browser tests: Debian's Chromium, driven by Playwright for Python, against pytest-django's
live server on the test databases.

Playwright's own browser download cannot work where these run, so the browser is the system's
(``apt-get install chromium``; ``.ci/run`` installs it). Screenshots go to ``SCREENSHOT_DIR``
when it is set (``docs/img`` for the README), else to the test's temporary folder.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from ..conftest import skip_or_fail

CHROMIUM = Path(os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
VIEWPORT = {"width": 1400, "height": 900}
TIMEOUT_MS = 20_000
# A request cut short because the page moved on (a refresh in flight while a link is followed).
NAVIGATION_ABORT = "net::ERR_ABORTED"


@pytest.fixture(scope="package")
def browser() -> Iterator:
    if not CHROMIUM.exists():
        skip_or_fail(f"no browser at {CHROMIUM}: apt-get install chromium (see .ci/run)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        skip_or_fail("playwright is not installed: pip install -r requirements-dev.txt")
    # Playwright's sync API runs an event loop in this thread, which makes Django refuse the
    # test's own database calls unless told that this is deliberate.
    with pytest.MonkeyPatch.context() as patch, sync_playwright() as playwright:
        patch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        launched = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        yield launched
        launched.close()


@dataclass
class Browsing:
    """A fresh browser tab on the live server, recording everything that went wrong in it."""

    page: object
    base_url: str
    screenshots: Path
    problems: list[str] = field(default_factory=list)
    requested: list[str] = field(default_factory=list)

    def watch(self) -> None:
        page = self.page
        page.on("request", lambda request: self.requested.append(request.url))
        page.on(
            "console",
            lambda message: message.type == "error" and self.problems.append(f"console: {message.text}"),
        )
        page.on("pageerror", lambda error: self.problems.append(f"page error: {error}"))
        page.on(
            "requestfailed",
            lambda request: (
                request.failure != NAVIGATION_ABORT
                and self.problems.append(f"failed: {request.method} {request.url} {request.failure}")
            ),
        )
        page.on(
            "response",
            lambda response: (
                response.status >= 400
                and self.problems.append(f"HTTP {response.status}: {response.request.method} {response.url}")
            ),
        )

    def elsewhere(self) -> list[str]:
        """Requests to anywhere but the application (inline data: URLs and the page's own blob:
        URLs, such as Redoc's web worker, aside)."""
        local = (self.base_url, "data:", f"blob:{self.base_url}")
        return [url for url in self.requested if not url.startswith(local)]

    def open(self, path: str) -> None:
        self.page.goto(f"{self.base_url}{path}")

    def log_in(self, username: str, password: str) -> None:
        self.open("/admin/login/?next=/admin/")
        self.page.fill("#id_username", username)
        self.page.fill("#id_password", password)
        self.page.click("input[type=submit]")
        self.page.wait_for_url(f"{self.base_url}/admin/")

    def screenshot(self, name: str, element=None) -> Path:
        """The whole page, or only ``element`` (a locator) when the page is long."""
        path = self.screenshots / f"{name}.png"
        if element is None:
            self.page.screenshot(path=str(path), full_page=True)
        else:
            element.screenshot(path=str(path))
        return path


@pytest.fixture
def browsing(browser, live_server, tmp_path) -> Iterator[Browsing]:
    context = browser.new_context(viewport=VIEWPORT)
    context.set_default_timeout(TIMEOUT_MS)
    screenshots = Path(os.environ.get("SCREENSHOT_DIR") or tmp_path)
    screenshots.mkdir(parents=True, exist_ok=True)
    browsing = Browsing(context.new_page(), live_server.url, screenshots)
    browsing.watch()
    yield browsing
    context.close()
