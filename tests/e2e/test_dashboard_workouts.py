"""The workouts page in a real browser: start, a running timer that survives a reload, end
with duration and calories; history 20 at a time; statistics with a bar per type;
accessibility and a phone's width."""

from __future__ import annotations

import re
from collections import Counter
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
from playwright.sync_api import Page, expect

from tests.e2e.browser import (
    PHONE,
    DashboardPlatform,
    screenshot,
    serious_violations,
    signed_in,
)

# The elapsed seconds the page's timer shows ("mm:ss" or "h:mm:ss"), -1 without one.
TIMER_SECONDS = """() => {
  const timer = document.querySelector('[role="timer"]');
  if (!timer) return -1;
  return timer.textContent.split(":").map(Number).reduce((total, part) => total * 60 + part, 0);
}"""


def timer_seconds(page: Page) -> int:
    """The elapsed seconds the timer shows now."""
    seconds: int = page.evaluate(TIMER_SECONDS)
    return seconds


def wait_for_timer_past(page: Page, seconds: int) -> None:
    """Wait until the timer shows more than ``seconds`` (no upper bound: a loaded machine lags)."""
    page.wait_for_function(f"(before) => ({TIMER_SECONDS})() > before", arg=seconds)


def record_workouts(
    dashboard: DashboardPlatform, login: dict[str, Any], types: list[str]
) -> list[datetime]:
    """Start and end one workout of each type over REST, four minutes long each; their starts."""
    headers = {"Authorization": f"Bearer {login['token']}"}
    starts: list[datetime] = []
    with httpx.Client(base_url=dashboard.url, headers=headers, timeout=30) as client:
        for workout_type in types:
            started = client.post("/workouts/start", json={"workout_type": workout_type})
            assert started.status_code == 201, started.text
            start = datetime.fromisoformat(started.json()["start_time"])
            end = (start + timedelta(minutes=4)).isoformat()
            ended = client.post(
                f"/workouts/{started.json()['session_id']}/end", json={"end_time": end}
            )
            assert ended.status_code == 200, ended.text
            starts.append(start)
    return starts


def iso_weeks(page: Page, starts: list[datetime]) -> Counter[int]:
    """How many of ``starts`` fall in each ISO week of the browser's calendar (its time zone)."""
    zone = ZoneInfo(page.evaluate("Intl.DateTimeFormat().resolvedOptions().timeZone"))
    return Counter(start.astimezone(zone).isocalendar().week for start in starts)


def open_workouts(page: Page) -> None:
    """The workouts page, loaded."""
    page.goto("/app/workouts")
    expect(page.get_by_role("heading", name="Current workout")).to_be_visible()


def test_a_running_workout_keeps_its_timer_after_a_reload_and_ends_with_duration_and_calories(
    page: Page, dashboard: DashboardPlatform
) -> None:
    signed_in(page, dashboard, "workouts")
    open_workouts(page)
    page.get_by_label("Workout type").select_option("cycling")
    page.get_by_role("button", name="Start workout").click()
    expect(page.get_by_text("Workout started: Cycling.")).to_be_visible()
    timer = page.get_by_role("timer", name="Elapsed time")
    # The ticking clock is a timer (not announced every second); start and end are.
    expect(timer).to_have_text(re.compile(r"^\d{2}:\d{2}$"))
    wait_for_timer_past(page, 0)
    before = timer_seconds(page)
    page.reload()
    expect(page.get_by_text("Cycling", exact=True).first).to_be_visible()
    wait_for_timer_past(page, before)
    history = page.get_by_role("region", name="History")
    expect(history.get_by_role("row").filter(has_text="running")).to_have_count(1)
    page.get_by_role("button", name="End workout").click()
    expect(
        page.get_by_text(re.compile(r"^Workout ended: Cycling, \d+ s, [\d.]+ kcal\.$"))
    ).to_be_visible()
    expect(timer).to_have_count(0)
    expect(history.get_by_role("row").filter(has_text="running")).to_have_count(0)
    expect(
        page.get_by_role("region", name="Statistics").get_by_text("Workouts", exact=True)
    ).to_be_visible()


def test_the_history_shows_twenty_workouts_then_more_on_request(
    page: Page, dashboard: DashboardPlatform
) -> None:
    _, login = signed_in(page, dashboard, "workouts")
    record_workouts(dashboard, login, ["walking"] * 23)
    open_workouts(page)
    history = page.get_by_role("region", name="History")
    rows = history.locator("tbody tr")
    expect(rows).to_have_count(20)
    expect(history.get_by_text("Showing 20 workouts.")).to_be_visible()
    history.get_by_role("button", name="More").click()
    expect(rows).to_have_count(23)
    expect(history.get_by_text("Showing 23 workouts (all of them).")).to_be_visible()
    expect(history.get_by_role("button", name="More")).to_be_hidden()


def test_the_statistics_show_the_totals_and_one_bar_per_type(
    page: Page, dashboard: DashboardPlatform
) -> None:
    _, login = signed_in(page, dashboard, "workouts")
    starts = record_workouts(dashboard, login, ["running", "running", "yoga", "rowing"])
    open_workouts(page)
    stats = page.get_by_role("region", name="Statistics")
    expect(stats.locator("dd").first).to_have_text("4")
    expect(stats.get_by_text("16 min 00 s")).to_be_visible()  # total time: 4 workouts of 4 minutes
    per_type = stats.locator("figure", has_text="Workouts per type").locator("li")
    expect(per_type).to_have_count(3)
    expect(per_type.nth(0)).to_contain_text("Running")
    expect(per_type.nth(0)).to_contain_text("2 workouts")
    weeks = stats.locator("figure", has_text="Active minutes per week").locator("li")
    expect(weeks).to_have_count(8)
    # Per the week each workout started in: near midnight before a Monday the four can
    # start in one week and the page be drawn in the next (or they straddle the two).
    for week, count in iso_weeks(page, starts).items():
        bar = weeks.filter(has_text=re.compile(rf"^W{week} ·")).locator(".bar-value")
        expect(bar).to_have_text(f"{4 * count} min")


def test_the_workouts_page_passes_axe_and_fits_a_phone(
    page: Page, dashboard: DashboardPlatform
) -> None:
    _, login = signed_in(page, dashboard, "workouts")
    record_workouts(dashboard, login, ["hiking", "swimming"])
    open_workouts(page)
    page.get_by_role("button", name="Start workout").click()
    expect(page.get_by_role("timer")).to_be_visible()
    expect(page.locator("figure", has_text="Workouts per type").locator("li")).to_have_count(2)
    assert serious_violations(page) == []
    screenshot(page, "workouts")
    page.set_viewport_size({"width": PHONE["width"], "height": PHONE["height"]})
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    screenshot(page, "workouts-phone")


def test_the_weekly_chart_counts_iso_8601_weeks_the_last_eight_up_to_this_one(
    page: Page, dashboard: DashboardPlatform
) -> None:
    page.goto("/app/sign-in")
    weeks = page.evaluate(
        """async () => {
            const stats = await import("/app/js/pages/workouts/stats.js");
            const at = (y, m, d) => new Date(y, m - 1, d, 12);
            const workout = (y, m, d, minutes) =>
                ({start_time: at(y, m, d).toISOString(), duration: minutes * 60});
            const rows = stats.perWeek([workout(2021, 1, 3, 30), workout(2021, 1, 4, 15),
                                        workout(2020, 11, 1, 99)], at(2021, 1, 6));
            return {first: stats.isoWeek(at(2021, 1, 3)),
                    monday: stats.isoWeek(at(2021, 1, 4)),
                    lastOf2024: stats.isoWeek(at(2024, 12, 30)),
                    count: rows.length, values: rows.map((row) => row.value)};
        }"""
    )
    assert weeks["first"] == 53  # Sunday 3 January 2021 ends ISO week 53 of 2020
    assert weeks["monday"] == 1
    assert weeks["lastOf2024"] == 1  # Monday 30 December 2024 starts week 1 of 2025
    assert weeks["count"] == 8
    assert weeks["values"] == [0, 0, 0, 0, 0, 0, 30, 15]  # 1 November 2020 is nine weeks back
