"""The Motion page in a real browser: a replayed real recording changes what it shows, live.

Readings go to POST /sensor-data as a phone sends them (bench.motion_eval.replay's
samples, services.motion.replay's messages: 50 readings a message, the timestamps ending
now); the processor classifies them and closes the last windows when the session falls
silent; the page, open all along, hears activity_changed on the shell's socket.
"""

from __future__ import annotations

import math
import re
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
from playwright.sync_api import Page, expect

from bench.motion_eval import hapt, stm32
from bench.motion_eval.recordings import Recording
from bench.motion_eval.replay import samples
from services.motion.replay import recording as phone
from services.motion.replay.__main__ import rfc3339
from tests.e2e.browser import (
    PHONE,
    DashboardPlatform,
    screenshot,
    serious_violations,
    signed_in,
    unique,
)

DATA = Path(__file__).resolve().parents[1] / "data" / "motion"
WALKING = stm32.read(DATA / "stm32" / "walking" / "walking_16_26Hz_4g_mg.csv")
SITTING = hapt.read(DATA / "hapt" / "stationary" / "hapt-person02-sitting.csv")
SETTLE_SECONDS = 60.0  # the idle close is 3 s of silence; a loaded machine needs more
NAMES = {
    "stationary": "Stationary",
    "walking": "Walking",
    "running": "Running",
    "unknown": "Unknown",
}


def replay(url: str, token: str, device: str, recording: Recording) -> tuple[int, int]:
    """Post ``recording`` as one session of ``device`` ending now; its first and last ms."""
    readings = samples(recording)
    start_ms = int(time.time() * 1000) - readings[-1].offset_ms
    bodies = phone.messages(readings, start_ms, 50, device, unique("s-"))
    with httpx.Client(base_url=url, timeout=30, headers={"Authorization": f"Bearer {token}"}) as c:
        for body in bodies:
            answer = c.post("/sensor-data", json=body)
            assert answer.status_code == 202, answer.text
    return start_ms, start_ms + readings[-1].offset_ms


def settled(url: str, token: str, device: str, first_ms: int, last_ms: int) -> dict[str, Any]:
    """The device's activity once its timeline reaches the recording's last reading."""
    span = {"from": rfc3339(first_ms), "to": rfc3339(last_ms + 5000)}
    base = f"/devices/{device}/activity"
    deadline = time.monotonic() + SETTLE_SECONDS
    with httpx.Client(base_url=url, timeout=30, headers={"Authorization": f"Bearer {token}"}) as c:
        while time.monotonic() < deadline:
            answer = c.get(f"{base}/timeline", params={**span, "page_size": "1000"})
            segments = answer.json()["segments"] if answer.status_code == 200 else []
            if segments and _ms(segments[-1]["end"]) >= last_ms:
                current: dict[str, Any] = c.get(base).json()
                return current
            time.sleep(0.3)
    raise AssertionError(f"the timeline of {device} never reached its last reading")


def distribution(url: str, token: str, device: str) -> dict[str, float]:
    """Seconds per activity in the last hour, as the API adds them up."""
    now = int(time.time() * 1000)
    span = {"from": rfc3339(now - 3_600_000), "to": rfc3339(now)}
    answer = httpx.get(
        f"{url}/devices/{device}/activity/distribution",
        params=span,
        headers={"Authorization": f"Bearer {token}"},
        timeout=30,
    )
    assert answer.status_code == 200, answer.text
    seconds: dict[str, float] = answer.json()["seconds"]
    return seconds


def _ms(text: str) -> int:
    """Milliseconds since the epoch of an RFC 3339 UTC time."""
    return int(datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp() * 1000)


def duration(seconds: float) -> str:
    """What ui.js duration() writes: "35 s", "1 min 05 s", "1 h 02 min"."""
    s = math.floor(seconds + 0.5)  # JavaScript's Math.round, not Python's half-to-even
    hours, minutes = s // 3600, (s % 3600) // 60
    if hours:
        return f"{hours} h {minutes:02d} min"
    if minutes:
        return f"{minutes} min {s % 60:02d} s"
    return f"{s} s"


def expect_distribution(page: Page, seconds: dict[str, float]) -> None:
    """The page's bars say the API's seconds for every activity that has some."""
    for activity, value in seconds.items():
        if value:
            expect(
                page.locator(".bars li").filter(has_text=NAMES[activity]).locator(".bar-value")
            ).to_have_text(duration(value), timeout=20_000)


def test_a_replayed_walk_then_a_rest_change_the_open_motion_page_without_a_reload(
    dashboard: DashboardPlatform, page: Page
) -> None:
    token = signed_in(page, dashboard, "motion")[1]["token"]
    page.goto("/app/motion")
    expect(page.get_by_text("No phone has sent readings yet")).to_be_visible()
    page.evaluate("window.stayedOpen = true")
    device = unique("phone-")

    first, last = replay(dashboard.url, token, device, WALKING)
    walked = settled(dashboard.url, token, device, first, last)
    now = page.locator(".motion-now")
    expect(now).to_have_text(NAMES[walked["activity"]], timeout=30_000)
    assert walked["activity"] == "walking", walked
    expect(page.get_by_role("combobox", name="Device")).to_have_value(device)
    expect(page.locator("table", has_text="segments")).to_contain_text("Walking")
    expect_distribution(page, distribution(dashboard.url, token, device))

    # The rest starts after the walk's last reading, so the two sessions do not overlap.
    while time.time() * 1000 < last + (SITTING.timestamps_ms[-1] - SITTING.timestamps_ms[0]):
        time.sleep(0.2)
    first, last = replay(dashboard.url, token, device, SITTING)
    rested = settled(dashboard.url, token, device, first, last)
    assert rested["activity"] == "stationary", rested
    expect(now).to_have_text("Stationary", timeout=30_000)
    expect(page.get_by_text(re.compile(r"^Confidence \d+ %$"))).to_be_visible()
    expect(page.locator("table", has_text="segments")).to_contain_text("Stationary")
    expect(page.locator("table", has_text="newest records")).to_contain_text("Stationary")
    expect_distribution(page, distribution(dashboard.url, token, device))
    assert page.evaluate("window.stayedOpen === true"), "the page was reloaded"

    assert serious_violations(page) == []
    screenshot(page, "motion")
    page.set_viewport_size({"width": PHONE["width"], "height": PHONE["height"]})
    expect(now).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    assert serious_violations(page) == []
    screenshot(page, "motion-phone")


def test_the_motion_page_says_how_to_start_when_no_phone_has_posted(
    dashboard: DashboardPlatform, page: Page
) -> None:
    signed_in(page, dashboard, "motion")
    page.goto("/app/motion")
    expect(page.get_by_role("heading", name="Motion", level=1)).to_be_visible()
    expect(page.get_by_text("No phone has sent readings yet")).to_be_visible()
    expect(page.get_by_role("heading", name="Current activity")).to_be_hidden()
    assert "Motion" in page.title()
