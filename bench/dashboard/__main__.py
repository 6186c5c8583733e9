"""``python -m bench.dashboard``: measure the dashboard in Chromium and print the tables."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import sys
from collections.abc import Iterator

from playwright.async_api import Browser, async_playwright

import bench.dashboard
from bench.dashboard.live import OBSERVER, Trace, drive, joined, listen, new_tag, pattern
from bench.dashboard.page_load import RENDERED, load_rounds
from bench.dashboard.people import Account, account, add_goals, open_session, signed_in_script
from bench.dashboard.tables import print_live, print_loads
from tests.e2e.browser import CHROMIUM, CHROMIUM_ARGS, running_platform


@contextlib.contextmanager
def platform(url: str | None, timeout: float) -> Iterator[str]:
    """``url`` if given, else the launcher's platform on free ports, stopped afterwards."""
    if url:
        yield url.rstrip("/")
        return
    with running_platform(timeout) as running:
        yield running.url


async def live_trace(
    browser: Browser,
    url: str,
    viewer: Account,
    talkers: tuple[Account, Account],
    args: argparse.Namespace,
) -> Trace:
    """The viewer's page on a live session; one Python client chats, another listens."""
    session_id = open_session(url, talkers[0])
    context = await browser.new_context(viewport={"width": 1280, "height": 800})
    await context.add_init_script(signed_in_script(url, viewer.login))
    page = await context.new_page()
    ws_url = url.replace("http", "ws", 1)
    sockets = []
    try:
        await page.goto(f"{url}/app/sessions/{session_id}", wait_until="load")
        await page.wait_for_function(RENDERED, timeout=30_000)
        tag = new_tag()
        await page.evaluate(OBSERVER, pattern(tag))
        sockets = [await joined(ws_url, session_id, who.headers) for who in talkers]
        arrivals: dict[str, float] = {}
        listening = asyncio.create_task(listen(sockets[1], arrivals))
        trace = await drive(page, sockets[0], arrivals, tag, args.events, args.gap)
        listening.cancel()
        return trace
    finally:
        for ws in sockets:
            await ws.close()
        await context.close()


async def measure(url: str, args: argparse.Namespace) -> int:
    """Every measurement against the gateway at ``url``; 1 if the live page showed nothing."""
    busy = load_average()
    viewer = account(url, "benchviewer")
    add_goals(url, viewer)
    talkers = (account(url, "benchcoach"), account(url, "benchlistener"))
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS, timeout=60_000
        )
        try:
            version = browser.version
            script = signed_in_script(url, viewer.login)
            main, baseline = await load_rounds(browser, url, script, args.rounds)
            trace = await live_trace(browser, url, viewer, talkers, args)
        finally:
            await browser.close()
    print(
        f"Chromium {version}, {args.rounds} rounds of each page, {args.events} live events; "
        f"load average {busy} at the start, {load_average()} at the end\n"
    )
    print_loads(main, baseline)
    print_live(trace)
    return 0 if trace.dom else 1


def load_average() -> str:
    """The machine's 1-minute load average (2 cores: above 2 the benchmark waits for CPU)."""
    return f"{os.getloadavg()[0]:.1f}"


def main() -> int:
    """Parse the options, run, print."""
    parser = argparse.ArgumentParser(
        description=bench.dashboard.__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--url", help="a running gateway instead of a fresh platform")
    parser.add_argument("--rounds", type=int, default=10, help="cold loads of each page")
    parser.add_argument("--events", type=int, default=50, help="live chat messages")
    parser.add_argument("--gap", type=float, default=0.2, help="seconds between messages")
    parser.add_argument(
        "--startup-timeout", type=float, default=300.0, help="seconds the platform may take"
    )
    args = parser.parse_args()
    with platform(args.url, args.startup_timeout) as url:
        return asyncio.run(measure(url, args))


if __name__ == "__main__":
    sys.exit(main())
