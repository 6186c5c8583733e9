"""The operators' pages in a real browser: watch logs (analysts, admins) and operations
(admins): refusals, extraction, export, charts, upstreams, sagas and ETL runs."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from playwright.sync_api import Page, expect

from tests.e2e.browser import (
    PHONE,
    DashboardPlatform,
    Person,
    new_person,
    register,
    screenshot,
    serious_violations,
    sign_in,
    signed_in,
)

REFUSAL = "This page is for operators: your account does not have the role it needs."
LOG_COUNT = 12


def operator(dashboard: DashboardPlatform, role: str) -> tuple[Person, dict[str, Any]]:
    """A new account holding ``role`` (granted before its first sign-in in the browser)."""
    person = new_person(role[:3])
    answer = register(dashboard.url, person)
    dashboard.grant(role, person.email)
    return person, answer


def post_logs(url: str, token: str, count: int = LOG_COUNT) -> list[dict[str, Any]]:
    """``count`` walking samples of the last hours, one every 10 minutes, via POST /watch-logs."""
    now = datetime.now(UTC).replace(microsecond=0)
    logs = [
        {
            "message_id": f"w1:{index}",
            "device_id": "w1",
            "device_model": "Forerunner 265",
            "firmware": "20.26",
            "timestamp": (now - timedelta(minutes=5 + 10 * index)).isoformat(),
            "activity": "walking",
            "duration_s": 60,
            "steps": 100 + index,
            "heart_rate": 95,
            "calories": 4.8,
            "distance_m": 81.5,
            "floors": 0,
            "battery": 87,
        }
        for index in range(count)
    ]
    answer = httpx.post(
        f"{url}/watch-logs",
        json={"logs": logs},
        headers={"Authorization": f"Bearer {token}"},
        timeout=30,
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["accepted"] == count
    return logs


def steps_per_utc_day(logs: list[dict[str, Any]]) -> dict[str, int]:
    """The posted samples' steps summed per UTC day (ISO date)."""
    days: dict[str, int] = {}
    for log in logs:
        day = log["timestamp"][:10]
        days[day] = days.get(day, 0) + log["steps"]
    return days


def local_input(page: Page, hours_ago: float) -> str:
    """A datetime-local value ``hours_ago`` before now, in the browser's time zone."""
    value: str = page.evaluate(
        """(hours) => { const d = new Date(Date.now() - hours * 3600e3);
            const p = (n) => String(n).padStart(2, "0");
            const day = `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}`;
            return `${day}T${p(d.getHours())}:${p(d.getMinutes())}`; }""",
        hours_ago,
    )
    return value


def fits_a_phone(page: Page) -> bool:
    """Nothing is wider than a 390 px screen."""
    page.set_viewport_size({"width": PHONE["width"], "height": PHONE["height"]})
    fits: bool = page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    return fits


def test_a_normal_user_is_refused_both_operator_pages_and_the_menu_does_not_list_them(
    page: Page, dashboard: DashboardPlatform
) -> None:
    signed_in(page, dashboard, "usr")

    nav = page.locator("#nav")
    expect(nav.get_by_role("link", name="Goals")).to_be_visible()
    expect(nav.get_by_role("link", name="Operations")).to_have_count(0)
    expect(nav.get_by_role("link", name="Watch logs")).to_have_count(0)
    for path, data in (("operations", "Upstream instances"), ("watch-logs", "Extraction")):
        page.goto(f"{dashboard.url}/app/{path}")
        expect(page.get_by_role("alert")).to_have_text(REFUSAL)
        expect(page.get_by_text(data)).to_have_count(0)
        expect(page.locator("main table")).to_have_count(0)


def test_an_analyst_extracts_a_users_logs_by_range_page_by_page_and_sees_them_charted(
    page: Page, dashboard: DashboardPlatform
) -> None:
    owner = new_person("own")
    login = register(dashboard.url, owner)
    logs = post_logs(dashboard.url, login["token"])
    analyst, _ = operator(dashboard, "analyst")
    sign_in(page, dashboard.url, analyst)

    expect(page.locator("#nav").get_by_role("link", name="Watch logs")).to_be_visible()
    expect(page.locator("#nav").get_by_role("link", name="Operations")).to_have_count(0)
    page.goto(f"{dashboard.url}/app/watch-logs")
    page.get_by_label("User id").fill(login["user_id"])
    page.get_by_label("From").fill(local_input(page, 3))
    page.get_by_label("Page size").select_option("10")
    page.get_by_role("button", name="Show").click()

    seen = rows_on_every_page(page)
    assert seen == LOG_COUNT
    expect(page.get_by_role("figure").filter(has_text="Steps per hour")).to_be_visible()
    daily = page.get_by_role("figure").filter(has_text="Steps per day (UTC)")
    # Two hours of samples cross midnight UTC when the suite runs near it.
    for day, steps in steps_per_utc_day(logs).items():
        expect(daily.get_by_role("listitem").filter(has_text=day)).to_contain_text(f"{steps:,}")
    expect(page.get_by_role("table", name="partition streams")).to_be_visible()
    assert serious_violations(page) == []
    screenshot(page, "watch-logs")
    assert fits_a_phone(page)


def rows_on_every_page(page: Page) -> int:
    """Entries shown on each page of the results, following Next page to the end."""
    total = 0
    while True:
        expect(page.get_by_text("Loading the entries…")).to_have_count(0)
        rows = page.locator("main table").first.locator("tbody tr")
        empty = page.get_by_text("No entries on this page")
        if empty.count() == 0:
            expect(rows.first).to_be_visible()
            total += rows.count()
        following = page.get_by_role("button", name="Next page")
        if following.is_disabled():
            return total
        following.click()


def test_an_analyst_exports_the_range_as_a_file_of_every_entry(
    page: Page, dashboard: DashboardPlatform
) -> None:
    owner = new_person("own")
    login = register(dashboard.url, owner)
    post_logs(dashboard.url, login["token"], count=5)
    analyst, _ = operator(dashboard, "analyst")
    sign_in(page, dashboard.url, analyst)
    page.goto(f"{dashboard.url}/app/watch-logs?user={login['user_id']}")
    expect(page.get_by_role("table", name="5 entries on page 1")).to_be_visible()

    with page.expect_download() as started:
        page.get_by_role("button", name="Export").click()

    download = started.value
    assert download.suggested_filename == "watch-logs.csv"
    lines = Path(download.path()).read_text().splitlines()
    assert lines[0].startswith("user_id,entry_id,ingested_at,message_id")
    assert len(lines) == 1 + 5
    assert all(line.startswith(login["user_id"]) for line in lines[1:])
    expect(page.get_by_text("Exported")).to_be_visible()


def test_a_watch_log_filter_the_api_refuses_is_shown_as_a_sentence(
    page: Page, dashboard: DashboardPlatform
) -> None:
    analyst, _ = operator(dashboard, "analyst")
    sign_in(page, dashboard.url, analyst)
    page.goto(f"{dashboard.url}/app/watch-logs")

    page.get_by_label("From").fill(local_input(page, 1))
    page.get_by_label("To").fill(local_input(page, 2))
    page.get_by_role("button", name="Show").click()
    expect(page.get_by_role("alert")).to_have_text("The range must start before it ends.")

    page.get_by_label("From").fill(local_input(page, 2))
    page.get_by_label("To").fill(local_input(page, 1))
    page.get_by_label("User id").fill("not a user id!")
    page.get_by_role("button", name="Show").click()
    refusal = page.locator("main .error[role=alert]").filter(has_text="user id")
    expect(refusal.first).to_be_visible()
    assert '{"error"' not in page.locator("main").inner_text()


def test_an_admin_sees_upstream_breakers_a_saga_with_its_steps_and_the_etl_runs(
    page: Page, dashboard: DashboardPlatform
) -> None:
    admin, login = operator(dashboard, "admin")
    create_goal(dashboard.url, login)
    dashboard.run_etl(datetime.now(UTC).date().isoformat())
    sign_in(page, dashboard.url, admin)
    page.goto(f"{dashboard.url}/app/operations")

    upstreams = page.get_by_role("region", name="Upstream instances")
    expect(upstreams.get_by_role("row").filter(has_text="UserService").first).to_contain_text(
        "closed"
    )
    expect(upstreams).to_contain_text("healthy")
    expect(upstreams).to_contain_text("Redis")
    sagas = page.get_by_role("region", name="Sagas")
    mine = sagas.get_by_role("row").filter(has_text=login["user_id"][:12])
    expect(mine.first).to_contain_text("create_goal")
    mine.first.get_by_role("button").click()
    expect(sagas.get_by_role("heading", name="Saga ", level=3)).to_be_visible()
    expect(sagas.get_by_role("table", name="steps and events")).to_be_visible()
    etl = page.get_by_role("region", name="ETL runs and reconciliation")
    expect(etl).to_contain_text("Rows in quarantine now")
    expect(etl.get_by_role("table", name="ETL runs")).to_contain_text("succeeded")
    expect(etl.get_by_role("table", name="ETL runs")).to_contain_text("passed")
    assert serious_violations(page) == []
    screenshot(page, "operations")
    assert fits_a_phone(page)


def test_the_operations_page_filters_sagas_by_status_and_refreshes(
    page: Page, dashboard: DashboardPlatform
) -> None:
    admin, login = operator(dashboard, "admin")
    create_goal(dashboard.url, login)
    sign_in(page, dashboard.url, admin)
    page.clock.install()
    page.goto(f"{dashboard.url}/app/operations")
    sagas = page.get_by_role("region", name="Sagas")
    mine = sagas.get_by_role("row").filter(has_text=login["user_id"][:12])
    expect(mine).to_have_count(1)
    # The page's own 10 s refresh must not run: only the Refresh button may show the new goal.
    page.clock.pause_at(page.evaluate("Date.now()") + 1000)

    sagas.get_by_label("Status").select_option("needs_attention")
    expect(
        sagas.get_by_text("No saga with this status.").or_(sagas.locator("tbody tr"))
    ).not_to_have_count(0)
    # The list is the filtered one (the old one stays until the new one arrives): every
    # row left needs attention, and this admin's completed saga is gone.
    expect(sagas.locator("tbody tr").filter(has_not_text="needs attention")).to_have_count(0)
    expect(mine).to_have_count(0)
    sagas.get_by_label("Status").select_option("")
    expect(mine).to_have_count(1)

    create_goal(dashboard.url, login)
    page.get_by_role("button", name="Refresh").click()
    expect(mine).to_have_count(2)


def create_goal(url: str, login: dict[str, Any]) -> None:
    """A goal of the user's, made through REST: it runs a create_goal saga."""
    target = (date.today() + timedelta(days=30)).isoformat()
    answer = httpx.post(
        f"{url}/users/{login['user_id']}/goals",
        json={"goal_type": "workouts_count", "target_value": 3, "target_date": target},
        headers={"Authorization": f"Bearer {login['token']}"},
        timeout=30,
    )
    assert answer.status_code in (201, 202), answer.text
