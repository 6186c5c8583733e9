"""First render of the main page in a fresh browser context, and what it transferred."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from playwright.async_api import Browser

from bench.dashboard.report import Resource

MAIN_PAGE = "/app/goals"
BASELINE_PAGE = "/health/live"  # same origin, one small JSON answer: the browser's own floor
RENDERED = "() => performance.getEntriesByName('page-rendered').length > 0"
# Read once the network is idle: the navigation, every file and API call of the load.
TIMINGS = """() => {
  const nav = performance.getEntriesByType("navigation")[0];
  const mark = performance.getEntriesByName("page-rendered")[0];
  const files = [nav, ...performance.getEntriesByType("resource")].map((e) => ({
    name: e.name, kind: e.initiatorType, transferred: e.transferSize,
    encoded: e.encodedBodySize, decoded: e.decodedBodySize, start: e.startTime,
    end: e.responseEnd}));
  return {rendered: mark ? mark.startTime : null, dcl: nav.domContentLoadedEventEnd,
          load: nav.loadEventEnd, heading: document.querySelector("h1")?.textContent ?? "",
          path: location.pathname, files};
}"""


@dataclass(frozen=True)
class Load:
    """One cold page load: milliseconds from navigation start, and its files."""

    rendered: float | None
    dom_content_loaded: float
    load: float
    heading: str
    path: str
    files: tuple[Resource, ...]
    busy_ms: float = 0.0  # the renderer's main-thread task time (CDP TaskDuration)


async def cold_load(browser: Browser, url: str, path: str, init_script: str | None) -> Load:
    """Open ``path`` in a fresh context (empty cache, no connection) and time it."""
    context = await browser.new_context(viewport={"width": 1280, "height": 800})
    try:
        if init_script:
            await context.add_init_script(init_script)
        page = await context.new_page()
        cdp = await context.new_cdp_session(page)
        await cdp.send("Performance.enable")
        await page.goto(url + path, wait_until="load", timeout=30_000)
        if init_script:
            await page.wait_for_function(RENDERED, timeout=30_000)
        await page.wait_for_load_state("networkidle", timeout=30_000)
        metrics = (await cdp.send("Performance.getMetrics"))["metrics"]
        busy = next(m["value"] for m in metrics if m["name"] == "TaskDuration") * 1000
        return replace(as_load(await page.evaluate(TIMINGS)), busy_ms=busy)
    finally:
        await context.close()


def as_load(raw: dict[str, Any]) -> Load:
    """The page's timings as a Load."""
    files = tuple(Resource(**entry) for entry in raw["files"])
    return Load(raw["rendered"], raw["dcl"], raw["load"], raw["heading"], raw["path"], files)


async def load_rounds(
    browser: Browser, url: str, init_script: str, rounds: int
) -> tuple[list[Load], list[Load]]:
    """Main page and baseline, alternating which goes first, after one untimed pair."""
    main: list[Load] = []
    baseline: list[Load] = []
    for number in range(rounds + 1):
        pair = [(main, MAIN_PAGE, init_script), (baseline, BASELINE_PAGE, None)]
        for into, path, script in pair if number % 2 else reversed(pair):
            measured = await cold_load(browser, url, path, script)
            if number:  # the first pair warms the gateway's channels and caches
                into.append(measured)
    return main, baseline
