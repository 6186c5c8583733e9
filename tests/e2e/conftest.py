"""Fixtures of the browser tests: one platform and one Chromium for the whole run."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, sync_playwright

from tests.e2e.browser import (
    DashboardPlatform,
    launch_chromium,
    running_platform,
    watch_for_problems,
)

# The first browser test also waits for the platform and Chromium to start (a minute or
# more on a loaded machine): more room than the suite's default 120 s.
BROWSER_TEST_TIMEOUT = 360


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Give every test that uses the shared platform the browser tests' timeout."""
    for item in items:
        if "dashboard" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.timeout(BROWSER_TEST_TIMEOUT), append=False)


@pytest.fixture(scope="session")
def dashboard() -> Iterator[DashboardPlatform]:
    """The platform the dashboard tests share (each test makes its own accounts)."""
    with running_platform() as platform:
        yield platform


@pytest.fixture(scope="module")
def chromium() -> Iterator[Browser]:
    """Headless Debian Chromium, for one test module.

    Not for the session: while Playwright's sync API runs, its event loop is the thread's
    running loop, so every later test's asyncio.run() (and pytest-asyncio) would fail.
    """
    with sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def context(chromium: Browser, dashboard: DashboardPlatform) -> Iterator[BrowserContext]:
    """A fresh browser profile (its own session storage) per test."""
    made = chromium.new_context(base_url=dashboard.url, viewport={"width": 1280, "height": 900})
    made.set_default_timeout(15_000)
    try:
        yield made
    finally:
        made.close()


@pytest.fixture
def page(context: BrowserContext) -> Iterator[Page]:
    """A tab of the test's profile; at the end, no CSP refusal and no uncaught script error
    may have happened in it (a failure here is the test's error, after its own result)."""
    made = context.new_page()
    problems = watch_for_problems(made)
    yield made
    assert problems == [], "the page refused or failed scripts (CSP, uncaught errors)"
