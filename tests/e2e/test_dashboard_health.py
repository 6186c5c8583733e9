"""The Health page in a real browser: points posted through the API, read back as charts.

Heart rate every 10 s for 30 minutes, a 12-minute gap, 30 minutes more: the 1-minute
series fills the gap (at most 60 minutes: docs/health.md) with imputed points, which the
page counts and draws apart; raw points are the 360 posted. A night's sleep is posted too.
"""

from __future__ import annotations

import math
import re
import time
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlparse

import httpx
import psycopg
from playwright.sync_api import Page, expect

from tests.e2e.browser import (
    PHONE,
    DashboardPlatform,
    screenshot,
    serious_violations,
    signed_in,
)

STEP = timedelta(seconds=10)
HALF = 180  # points on each side of the gap: 30 minutes at 10 s
GAP = timedelta(minutes=12)
ROLLUP_WAIT_SECONDS = 60.0  # the refresh loop pauses 5 s when idle; a loaded machine needs more
STAGES = [("light", 120), ("deep", 90), ("rem", 60), ("wake", 30)]  # minutes, in order


class Account:
    """A registered person's id and token, calling the API as them."""

    def __init__(self, url: str, login: dict[str, Any]) -> None:
        self.user_id = str(login["user_id"])
        self.client = httpx.Client(
            base_url=url, timeout=30, headers={"Authorization": f"Bearer {login['token']}"}
        )

    def post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        """POST under the user's path; the answer, which must be a 200."""
        answer = self.client.post(f"/users/{self.user_id}{path}", json=body)
        assert answer.status_code == 200, answer.text
        payload: dict[str, Any] = answer.json()
        return payload

    def series(self, query: dict[str, str]) -> list[dict[str, Any]]:
        """Every point of a heart-rate query, following next_page_token."""
        points: list[dict[str, Any]] = []
        token = ""
        while True:
            answer = self.client.get(
                f"/users/{self.user_id}/health-metrics/heart_rate",
                params={**query, "page_token": token, "page_size": "10000"},
            )
            assert answer.status_code == 200, answer.text
            points += answer.json()["points"]
            token = answer.json()["next_page_token"]
            if not token:
                return points


def rfc3339(moment: datetime) -> str:
    """A UTC time as the API takes it."""
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def heart_rate_with_a_gap(account: Account) -> datetime:
    """Post the points; the minute the first one is in."""
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    first = now - timedelta(hours=3)
    times = [first + i * STEP for i in range(HALF)]
    times += [times[-1] + GAP + i * STEP for i in range(1, HALF + 1)]
    points = [{"time": rfc3339(t), "value": 70 + 10 * math.sin(i / 9)} for i, t in enumerate(times)]
    stored = account.post("/health-metrics", {"metric": "heart_rate", "points": points})
    assert stored["accepted"] == 2 * HALF, stored
    return first


def rollups_ready(account: Account, first: datetime) -> None:
    """Wait until the 1-minute rollups hold every posted minute (the refresh runs apart)."""
    query = {"from": rfc3339(first), "to": rfc3339(first + timedelta(hours=2)), "resolution": "1m"}
    deadline = time.monotonic() + ROLLUP_WAIT_SECONDS
    while time.monotonic() < deadline:
        if len(account.series(query)) == 2 * HALF // 6:
            return
        time.sleep(0.5)
    raise AssertionError("the 1-minute rollups never caught up")


def a_night(account: Account) -> tuple[str, dict[str, int]]:
    """Post one night's sleep ending two to three hours ago; its night and minutes per stage."""
    end = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(hours=2)
    start = end - timedelta(minutes=sum(minutes for _, minutes in STAGES))
    stages, at = [], start
    for stage, minutes in STAGES:
        stages.append(
            {"stage": stage, "start": rfc3339(at), "end": rfc3339(at + timedelta(minutes=minutes))}
        )
        at += timedelta(minutes=minutes)
    session = {"start": rfc3339(start), "end": rfc3339(end), "stages": stages}
    assert account.post("/sleep", {"sessions": [session]})["accepted"] == 1
    return end.date().isoformat(), dict(STAGES)


def shown_query(page: Page, resolution: str) -> dict[str, str]:
    """The range the page read (it keeps it in its address), as the API's query."""
    shown = parse_qs(urlparse(page.url).query)
    query = {"from": shown["from"][0], "to": shown["to"][0], "resolution": resolution}
    return {**query, "fill": "none" if resolution == "raw" else "linear"}


def drag_across(page: Page, start: float, end: float) -> None:
    """Drag over the chart from ``start`` to ``end`` (fractions of its width), as to zoom."""
    area = page.locator(".u-over").bounding_box()
    assert area is not None
    y = area["y"] + area["height"] / 2
    page.mouse.move(area["x"] + area["width"] * start, y)
    page.mouse.down()
    page.mouse.move(area["x"] + area["width"] * end, y, steps=5)
    page.mouse.up()


def number(value: int) -> str:
    """A count as the page writes it (en-US grouping)."""
    return f"{value:,}"


def test_the_health_page_marks_and_counts_imputed_points_and_shows_the_night_posted(
    dashboard: DashboardPlatform, page: Page
) -> None:
    _, login = signed_in(page, dashboard, "health")
    account = Account(dashboard.url, login)
    first = heart_rate_with_a_gap(account)
    night, minutes = a_night(account)
    rollups_ready(account, first)
    page.goto("/app/health")
    expect(page.get_by_role("heading", name="Health", level=1)).to_be_visible()

    imputed_text = page.locator(".imputed-count")
    expect(imputed_text).to_have_text(re.compile(r"^[\d,]+ of [\d,]+ points imputed$"))
    points = account.series(shown_query(page, "1m"))
    imputed = sum(1 for point in points if point["imputed"])
    assert imputed > 0, points
    expect(imputed_text).to_have_text(f"{number(imputed)} of {number(len(points))} points imputed")
    expect(page.locator("figure.chart canvas").first).to_be_visible()
    expect(page.locator(".u-legend").get_by_text("imputed")).to_be_visible()
    assert serious_violations(page) == []
    screenshot(page, "health")

    drag_across(page, 0.5, 0.55)  # about 70 minutes of the day: read again raw
    expect(page.get_by_label("Resolution")).to_have_value("raw")
    page.get_by_role("button", name="Reset zoom").click()
    expect(page.get_by_label("Resolution")).to_have_value("1m")
    expect(imputed_text).to_have_text(f"{number(imputed)} of {number(len(points))} points imputed")
    expect(page.get_by_role("button", name="Reset zoom")).to_be_hidden()

    page.get_by_label("Resolution").select_option("raw")
    raw = account.series(shown_query(page, "raw"))
    assert len(raw) == 2 * HALF, len(raw)
    expect(page.locator(".point-count")).to_have_text(f"{number(len(raw))} points")
    expect(imputed_text).to_have_text("raw points are never imputed")
    page.get_by_label("Resolution").select_option("1h")
    hourly = account.series(shown_query(page, "1h"))
    expect(page.locator(".point-count")).to_have_text(f"{number(len(hourly))} points")
    expect(page.locator("figure.chart canvas").first).to_be_visible()

    row = page.locator("tr", has_text=night)
    expect(row).to_be_visible()
    for stage in ("deep", "light", "rem", "wake"):
        column = {"deep": 3, "light": 4, "rem": 5, "wake": 6}[stage]
        expect(row.locator(f"td:nth-child({column})")).to_have_text(str(minutes[stage]))
    expect(
        page.get_by_role("img", name=re.compile(f"^Night of {night}: Deep 90 min"))
    ).to_be_visible()

    page.set_viewport_size({"width": PHONE["width"], "height": PHONE["height"]})
    expect(page.locator("figure.chart canvas").first).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    assert serious_violations(page) == []
    screenshot(page, "health-phone")


def test_a_range_that_ends_before_it_starts_is_refused_with_a_sentence(
    dashboard: DashboardPlatform, page: Page
) -> None:
    signed_in(page, dashboard, "health")
    page.goto("/app/health")
    expect(page.get_by_label("From", exact=True)).not_to_have_value("")
    page.get_by_label("From", exact=True).fill("2026-03-02T10:00")
    page.get_by_label("To", exact=True).fill("2026-03-01T10:00")
    page.get_by_role("button", name="Show", exact=True).click()
    expect(page.get_by_role("alert")).to_have_text("The start of the range must be before its end.")
    assert '{"error"' not in page.locator("main").inner_text()
    expect(page.locator("figure.chart canvas")).to_have_count(0)


def test_a_person_without_data_is_told_so_and_can_link_the_simulated_watch(
    dashboard: DashboardPlatform, page: Page
) -> None:
    _, login = signed_in(page, dashboard, "health")
    page.goto("/app/health")
    expect(page.get_by_text("No heart rate data has been recorded for you yet.")).to_be_visible()
    page.get_by_role("button", name="Link a simulated watch").click()
    try:
        expect(
            page.get_by_text(re.compile(r"^Linked: the simulated watch stores a day"))
        ).to_be_visible()
        expect(page.get_by_text("No sleep recorded for nights ending", exact=False)).to_be_visible()
    finally:
        unlink_simulator(dashboard, str(login["user_id"]))


def unlink_simulator(dashboard: DashboardPlatform, user_id: str) -> None:
    """Drop the user's simulated device, as the API cannot (docs/health.md: link only), so the
    ingester stops storing a day for them every 2 minutes for the rest of the run."""
    url = dashboard.topology.settings.health_store_url()
    with psycopg.connect(url) as conn:
        conn.execute("DELETE FROM simulated_devices WHERE user_id = %s", (user_id,))
