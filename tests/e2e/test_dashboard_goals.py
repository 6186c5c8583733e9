"""The goals page in a real browser: the main journey (sign up → goal → workout → achieved
with its alert), a change's pending state and outcome, refusals as sentences, a delete
that asks first, accessibility and a phone's width."""

from __future__ import annotations

import re

import httpx
from playwright.sync_api import Locator, Page, Route, expect

from tests.e2e.browser import (
    PHONE,
    DashboardPlatform,
    Person,
    new_person,
    screenshot,
    serious_violations,
    signed_in,
)

ALERT_WAIT_MS = 20_000  # the goal advances after the workout's end is answered (outbox relay)


def on_goals_page(page: Page, dashboard: DashboardPlatform) -> Person:
    """A new account (made over REST, faster) signed in through the form, on the goals page."""
    person, _ = signed_in(page, dashboard, "goals")
    page.goto("/app/goals")
    expect(page.get_by_role("heading", name="Your goals")).to_be_visible()
    return person


def add_goal(page: Page, kind: str, target: str) -> None:
    """Fill the new-goal form (the date stays the default, a week from today) and send it."""
    form = page.get_by_role("form", name="New goal")
    form.get_by_label("Goal type").select_option(label=kind)
    form.get_by_label("Target", exact=True).fill(target)
    form.get_by_role("button", name="Add goal").click()


def goal_card(page: Page, title: str) -> Locator:
    """The card whose heading starts with ``title`` (e.g. "Workouts: 1 workout")."""
    return page.locator("li.goal").filter(
        has=page.get_by_role("heading", name=re.compile(f"^{re.escape(title)}"))
    )


def sign_up_through_the_form(page: Page) -> Person:
    """Create an account with the sign-up form; it signs in and lands on the goals page."""
    person = new_person("journey")
    page.goto("/app/sign-up")
    page.get_by_label("Username").fill(person.name)
    page.get_by_label("Email").fill(person.email)
    page.get_by_label("Password", exact=True).fill(person.password)
    page.get_by_role("button", name="Create account").click()
    page.wait_for_url("**/app/goals", timeout=30_000)
    return person


def test_a_new_user_sets_a_goal_does_a_workout_and_sees_it_achieved_with_its_alert(
    page: Page,
) -> None:
    sign_up_through_the_form(page)
    add_goal(page, "Workouts", "1")
    card = goal_card(page, "Workouts: 1 workout")
    expect(card.get_by_text("0 workouts of 1 workout · 0%")).to_be_visible()

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Workouts").click()
    page.get_by_label("Workout type").select_option("running")
    page.get_by_role("button", name="Start workout").click()
    expect(page.get_by_role("status").filter(has_text="Workout started: Running.")).to_be_visible()
    # Ticking: past 00:01, however slowly this machine runs (no upper bound).
    expect(page.get_by_role("timer")).to_have_text(re.compile(r"^(?!00:0[01]$)[\d:]+$"))
    page.get_by_role("button", name="End workout").click()
    expect(
        page.get_by_text(re.compile(r"Workout ended: Running, \d+ s, [\d.]+ kcal\."))
    ).to_be_visible()

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Goals").click()
    card = goal_card(page, "Workouts: 1 workout")
    expect(card.get_by_text("1 workout of 1 workout · 100%")).to_be_visible(timeout=ALERT_WAIT_MS)
    expect(card.locator(".badge", has_text="Achieved")).to_be_visible()
    expect(card.locator("progress")).to_have_attribute("value", "1")
    alerts = page.get_by_role("region", name="Recent alerts")
    expect(alerts.get_by_text("Goal reached: 1 workout")).to_be_visible(timeout=ALERT_WAIT_MS)


def test_an_alert_arriving_on_the_goals_page_marks_the_goal_achieved(
    page: Page, dashboard: DashboardPlatform
) -> None:
    on_goals_page(page, dashboard)
    add_goal(page, "Workouts", "1")
    card = goal_card(page, "Workouts: 1 workout")
    expect(card.get_by_text("· 0%")).to_be_visible()
    # Another device of the same user does the workout; this tab only hears the alert.
    saved = page.evaluate("JSON.parse(sessionStorage.getItem('fgt.session'))")
    with httpx.Client(base_url=dashboard.url, timeout=30) as client:
        headers = {"Authorization": f"Bearer {saved['token']}"}
        started = client.post("/workouts/start", json={"workout_type": "yoga"}, headers=headers)
        ended = client.post(f"/workouts/{started.json()['session_id']}/end", headers=headers)
        assert ended.status_code == 200, ended.text
    expect(card.get_by_text("Goal achieved! Goal reached: 1 workout")).to_be_visible(
        timeout=ALERT_WAIT_MS
    )
    expect(card.get_by_text("· 100%")).to_be_visible()
    expect(
        page.locator("#flash").get_by_text("Goal achieved: Goal reached: 1 workout")
    ).to_be_visible()


def test_an_edit_shows_saving_while_its_saga_runs_then_the_outcome(
    page: Page, dashboard: DashboardPlatform
) -> None:
    on_goals_page(page, dashboard)
    add_goal(page, "Active minutes", "60")
    card = goal_card(page, "Active minutes: 60 min")
    expect(card.get_by_text("Saved.")).to_be_visible()
    held: list[Route] = []
    # Hold the PATCH's real answer so the pending state can be seen, then let it through.
    page.route(
        re.compile(r".*/goals/[^/?]+$"),
        lambda route: held.append(route) if route.request.method == "PATCH" else route.continue_(),
    )
    card.get_by_role("button", name="Edit").click()
    card.get_by_label("Target", exact=True).fill("90")
    card.get_by_role("button", name="Save changes").click()
    expect(card.locator(".badge.pending")).to_have_text("Saving…")
    expect(card.get_by_role("button", name="Save changes")).to_be_disabled()
    held[0].fulfill(response=held[0].fetch())
    card = goal_card(page, "Active minutes: 90 min")
    expect(card.get_by_text("Saved.")).to_be_visible()
    expect(card.locator(".badge.pending")).to_have_count(0)


def test_a_goal_the_saga_refuses_is_explained_in_a_sentence_in_the_form(
    page: Page, dashboard: DashboardPlatform
) -> None:
    on_goals_page(page, dashboard)
    add_goal(page, "Active minutes", "100000")
    form = page.get_by_role("form", name="New goal")
    message = form.get_by_role("alert")
    expect(message).to_have_text(
        re.compile(
            r"^Reaching 100000 active minutes by .* needs \d+ sessions of \d+ minutes a week$"
        )
    )
    expect(page.locator("li.goal")).to_have_count(0)
    assert '{"error"' not in page.content()
    date = form.get_by_label("Target date")
    date.fill("2020-01-01")
    assert date.evaluate("input => input.validity.rangeUnderflow"), (
        "the date input allows a past date"
    )


def test_a_change_answered_202_is_polled_until_its_outcome_a_compensation_shown_as_a_sentence(
    page: Page, dashboard: DashboardPlatform
) -> None:
    on_goals_page(page, dashboard)
    user_id = page.evaluate("JSON.parse(sessionStorage.getItem('fgt.session')).userId")
    change = f"/users/{user_id}/changes/0123456789abcdef0123456789abcdef"
    accepted = {
        "saga_id": change.rsplit("/", 1)[1],
        "status": "running",
        "change_url": change,
        "goal_id": None,
        "goal_url": None,
    }
    outcome = {
        "saga_id": accepted["saga_id"],
        "kind": "create_goal",
        "status": "compensated",
        "done": True,
        "applied": False,
        "goal_id": None,
        "goal_url": None,
        "error": {
            "code": 409,
            "status": "FAILED_PRECONDITION",
            "message": "the plan could not be stored",
        },
    }
    polls: list[Route] = []
    # The coordinator cannot be made slow from a browser: the gateway's 202 and the change's
    # status are played as docs/api.md "Changes and 202" writes them.
    page.route(
        re.compile(r".*/users/[^/]+/goals$"),
        lambda route: (
            route.fulfill(status=202, json=accepted, headers={"Location": change})
            if route.request.method == "POST"
            else route.continue_()
        ),
    )

    def status(route: Route) -> None:
        """Running at the first poll, compensated from the second on."""
        polls.append(route)
        running = {**outcome, "status": "running", "done": False, "error": None}
        route.fulfill(json=outcome if len(polls) > 1 else running)

    page.route(f"**{change}", status)
    add_goal(page, "Workouts", "3")
    expect(page.locator("li.goal.draft .badge.pending")).to_have_text("Saving…")
    message = page.get_by_role("form", name="New goal").get_by_role("alert")
    expect(message).to_have_text("The plan could not be stored")
    assert len(polls) >= 2
    expect(page.locator("li.goal")).to_have_count(0)


def test_deleting_a_goal_asks_to_confirm_first(page: Page, dashboard: DashboardPlatform) -> None:
    on_goals_page(page, dashboard)
    add_goal(page, "Calories burned", "500")
    card = goal_card(page, "Calories burned: 500 kcal")
    card.get_by_role("button", name="Delete").click()
    expect(card.get_by_text("Delete this goal? Its progress is lost.")).to_be_visible()
    card.get_by_role("button", name="Keep it").click()
    expect(card.get_by_role("button", name="Delete")).to_be_visible()
    card.get_by_role("button", name="Delete").click()
    card.get_by_role("button", name="Yes, delete it").click()
    expect(page.locator("li.goal")).to_have_count(0)
    expect(page.get_by_text("No goals yet: set one below.")).to_be_visible()
    page.reload()
    expect(page.get_by_text("No goals yet: set one below.")).to_be_visible()


def test_the_goals_page_passes_axe_and_fits_a_phone(
    page: Page, dashboard: DashboardPlatform
) -> None:
    on_goals_page(page, dashboard)
    add_goal(page, "Workouts", "4")
    expect(goal_card(page, "Workouts: 4 workouts").get_by_text("Saved.")).to_be_visible()
    plan = page.get_by_role("region", name="This week's plan")
    expect(plan.get_by_text(re.compile(r"sessions? of about 30 min this week"))).to_be_visible()
    assert serious_violations(page) == []
    screenshot(page, "goals")
    page.set_viewport_size({"width": PHONE["width"], "height": PHONE["height"]})
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    screenshot(page, "goals-phone")


def test_a_goal_a_saga_still_holds_shows_saving_until_its_change_is_done(
    page: Page, dashboard: DashboardPlatform
) -> None:
    on_goals_page(page, dashboard)
    add_goal(page, "Workouts", "2")
    expect(goal_card(page, "Workouts: 2 workouts").get_by_text("Saved.")).to_be_visible()
    saga_id = "fedcba9876543210fedcba9876543210"
    answers: list[str] = []

    def goals_list(route: Route) -> None:
        """The real list, with the goal held by a saga the first time (as another tab's edit)."""
        listed = route.fetch().json()
        if not answers:
            listed["goals"][0]["pending"] = {"operation": "update", "saga_id": saga_id}
        answers.append("list")
        route.fulfill(json=listed)

    def status(route: Route) -> None:
        """That saga's change: running once, then completed."""
        answers.append("status")
        done = answers.count("status") > 1
        route.fulfill(
            json={
                "saga_id": saga_id,
                "kind": "update_goal",
                "status": "completed" if done else "running",
                "done": done,
                "applied": done,
                "goal_id": None,
                "goal_url": None,
                "error": None,
            }
        )

    page.route(re.compile(r".*/users/[^/]+/goals$"), goals_list)
    page.route(f"**/changes/{saga_id}", status)
    page.reload()
    card = goal_card(page, "Workouts: 2 workouts")
    expect(card.locator(".badge.pending")).to_have_text("Saving…")
    expect(card.get_by_text("The change was saved.")).to_be_visible()
    expect(card.locator(".badge.pending")).to_have_count(0)
