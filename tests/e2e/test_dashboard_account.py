"""The dashboard's account pages in a real browser: sign up, in and out, the refresh flow,
the profile, deleting the account, and the shell around them (menu, unknown pages)."""

from __future__ import annotations

import re

import httpx
import pytest
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

SESSION_KEY = "fgt.session"


def fits_the_width(page: Page) -> bool:
    """Nothing on the page is wider than the window."""
    fits: bool = page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    return fits


def fill_sign_up(page: Page, person: Person) -> None:
    """The sign-up form's required fields."""
    page.get_by_label("Username").fill(person.name)
    page.get_by_label("Email").fill(person.email)
    page.get_by_label("Password", exact=True).fill(person.password)


def wrong_logins(url: str, person: Person, count: int) -> None:
    """Failed logins for ``person`` through the REST API (each one counts towards a lock)."""
    with httpx.Client(base_url=url, timeout=30) as client:
        for _ in range(count):
            body = {"email": person.email, "password": "not-the-password"}
            assert client.post("/users/login", json=body).status_code in (401, 429)


def stored_session(page: Page) -> dict[str, str]:
    """The tokens the page keeps in sessionStorage."""
    saved: dict[str, str] = page.evaluate(f"JSON.parse(sessionStorage.getItem('{SESSION_KEY}'))")
    return saved


def spoil_session(page: Page, *, refresh_token: bool) -> None:
    """Replace the stored access token (and, if asked, the refresh token) with invalid ones."""
    page.evaluate(
        """([key, both]) => {
            const saved = JSON.parse(sessionStorage.getItem(key));
            saved.token = "not.a.token";
            if (both) saved.refreshToken = "not-a-refresh-token";
            sessionStorage.setItem(key, JSON.stringify(saved));
        }""",
        [SESSION_KEY, refresh_token],
    )


def test_signing_up_through_the_form_lands_signed_in(
    page: Page, dashboard: DashboardPlatform
) -> None:
    person = new_person("up")
    page.goto("/app/sign-up")
    expect(page.get_by_role("heading", name="Sign up")).to_be_visible()
    assert serious_violations(page) == []
    screenshot(page, "sign-up")
    fill_sign_up(page, person)
    page.get_by_label("Display name (optional)").fill("Una Upton")
    page.get_by_label("Weight in kg (optional)").fill("64.5")
    page.get_by_role("button", name="Create account").click()
    page.wait_for_url("**/app/goals")
    expect(page.get_by_role("link", name="Sign out")).to_be_visible()
    # The goals page finishes first: the shell shows a late failure of a page left meanwhile.
    expect(page.locator("#view")).to_have_attribute("data-rendered", "/app/goals")
    page.get_by_role("link", name="Profile").click()
    expect(page.get_by_label("Display name")).to_have_value("Una Upton")
    expect(page.get_by_label("Weight in kg")).to_have_value("64.5")
    expect(page.get_by_text(person.email)).to_be_visible()


def test_a_taken_email_is_refused_with_a_sentence(page: Page, dashboard: DashboardPlatform) -> None:
    taken = new_person("taken")
    register(dashboard.url, taken)
    page.goto("/app/sign-up")
    fill_sign_up(page, Person(new_person("other").name, taken.email))
    page.get_by_role("button", name="Create account").click()
    alert = page.locator("form [role=alert]")
    expect(alert).to_have_text(re.compile(r"^An account with this email already exists"))
    assert "{" not in alert.inner_text()
    assert page.url.endswith("/app/sign-up")


def test_the_sign_up_form_checks_the_apis_limits_before_sending(page: Page) -> None:
    page.goto("/app/sign-up")
    password = page.get_by_label("Password", exact=True)
    assert password.get_attribute("minlength") == "8"
    assert password.get_attribute("maxlength") == "128"
    weight = page.get_by_label("Weight in kg (optional)")
    assert (weight.get_attribute("min"), weight.get_attribute("max")) == ("20", "400")
    height = page.get_by_label("Height in cm (optional)")
    assert (height.get_attribute("min"), height.get_attribute("max")) == ("50", "272")
    assert page.get_by_label("Display name (optional)").get_attribute("maxlength") == "64"
    fill_sign_up(page, Person(new_person("short").name, "short@example.com", "short"))
    page.get_by_role("button", name="Create account").click()
    assert password.evaluate("(input) => input.validity.tooShort")
    page.get_by_label("Email").fill("someone@localhost")  # the API wants a dot in the domain
    assert page.get_by_label("Email").evaluate("(input) => input.validity.patternMismatch")
    assert page.url.endswith("/app/sign-up")


def test_a_wrong_password_shows_a_sentence_not_json(
    page: Page, dashboard: DashboardPlatform
) -> None:
    person = new_person("wrong")
    register(dashboard.url, person)
    page.goto("/app/sign-in")
    assert serious_violations(page) == []
    screenshot(page, "sign-in")
    page.get_by_label("Email").fill(person.email)
    page.get_by_label("Password").fill("not-the-password")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_have_text("Wrong email or password.")
    assert '{"error"' not in page.content()
    assert page.url.endswith("/app/sign-in")


def test_a_locked_account_says_when_to_try_again(page: Page, dashboard: DashboardPlatform) -> None:
    person = new_person("locked")
    register(dashboard.url, person)
    page.goto("/app/sign-in")
    page.get_by_label("Email").fill(person.email)
    page.get_by_label("Password").fill(person.password)
    alert = page.get_by_role("alert")
    wrong_logins(dashboard.url, person, 5)  # the 5th failure locks the email for 1 s
    # A lock that ended before the click turns it into one more failure and a longer lock.
    for _ in range(3):
        page.get_by_role("button", name="Sign in").click()
        expect(alert).to_have_text(re.compile(r"Too many requests|Wrong email"))
        if "Too many" in alert.inner_text():
            break
    expect(alert).to_have_text(re.compile(r"^Too many requests\..*try again in \d+ s"))
    assert page.url.endswith("/app/sign-in")


def test_signing_out_returns_to_sign_in_and_guards_the_pages(
    page: Page, dashboard: DashboardPlatform
) -> None:
    person, _ = signed_in(page, dashboard, "out")
    page.get_by_role("link", name="Sign out").click()
    page.wait_for_url("**/app/sign-in")
    expect(page.locator("#flash")).to_contain_text("You are signed out.")
    assert page.evaluate(f"sessionStorage.getItem('{SESSION_KEY}')") is None
    page.goto("/app/profile")
    page.wait_for_url("**/app/sign-in?next=profile")
    link = page.get_by_role("link", name="Create an account")
    expect(link).to_have_attribute("href", "/app/sign-up?next=profile")
    page.get_by_label("Email").fill(person.email)
    page.get_by_label("Password").fill(person.password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/app/profile")
    expect(page.get_by_text(person.email)).to_be_visible()


def test_signing_out_without_the_server_still_forgets_the_session(
    page: Page, dashboard: DashboardPlatform
) -> None:
    signed_in(page, dashboard, "offline")
    page.route("**/users/logout", lambda route: route.abort("connectionrefused"))
    page.get_by_role("link", name="Sign out").click()
    page.wait_for_url("**/app/sign-in")
    assert page.evaluate(f"sessionStorage.getItem('{SESSION_KEY}')") is None
    expect(page.get_by_role("link", name="Sign out")).to_have_count(0)


@pytest.mark.parametrize(
    "next_page",
    [
        "%2F%2Fevil.example%2Fgoals",  # //evil.example/goals once decoded
        "%2F%2Fevil.example",
        "%252F%252Fevil.example",  # encoded twice
        "https://evil.example/goals",
        "javascript:alert(1)",
        "/\\evil.example",  # browsers read /\ as // in an address
        "%2F%5Cevil.example",
        "sign-out",  # an account page: signing in must not sign out at once
        "sign-out/",
    ],
)
def test_sign_in_goes_only_to_the_apps_own_pages(
    page: Page, dashboard: DashboardPlatform, next_page: str
) -> None:
    person = new_person("next")
    register(dashboard.url, person)
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: dialogs.append(dialog.message))
    page.goto(f"/app/sign-in?next={next_page}")
    page.get_by_label("Email").fill(person.email)
    page.get_by_label("Password").fill(person.password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(re.compile(r"/app/goals$"))
    assert page.url == f"{dashboard.url}/app/goals"
    expect(page.locator("#view")).to_have_attribute("data-rendered", "/app/goals")
    expect(page.get_by_role("link", name="Sign out")).to_be_visible()  # still signed in
    assert dialogs == []


def test_a_profile_edit_persists_across_a_reload(page: Page, dashboard: DashboardPlatform) -> None:
    person = new_person("prof")
    register(dashboard.url, person, display_name="Before")
    sign_in(page, dashboard.url, person)
    page.goto("/app/profile")
    expect(page.get_by_label("Display name")).to_have_value("Before")
    assert serious_violations(page) == []
    screenshot(page, "profile")
    page.get_by_label("Display name").fill("Pat Profile")
    page.get_by_label("Weight in kg").fill("71.5")
    page.get_by_label("Height in cm").fill("178")
    page.get_by_label("Birth year").fill("1990")
    page.get_by_role("button", name="Save").click()
    expect(page.locator("#flash")).to_contain_text("Saved")
    page.reload()
    expect(page.get_by_label("Display name")).to_have_value("Pat Profile")
    expect(page.get_by_label("Weight in kg")).to_have_value("71.5")
    expect(page.get_by_label("Height in cm")).to_have_value("178")
    expect(page.get_by_label("Birth year")).to_have_value("1990")


def test_deleting_the_account_asks_first_and_signs_out(
    page: Page, dashboard: DashboardPlatform
) -> None:
    person, _ = signed_in(page, dashboard, "gone")
    page.goto("/app/profile")
    page.get_by_role("button", name="Delete account").click()
    expect(page.get_by_text("It cannot be undone.")).to_be_visible()
    page.get_by_role("button", name="Cancel").click()
    expect(page.get_by_role("button", name="Delete account")).to_be_visible()
    page.get_by_role("button", name="Delete account").click()
    page.get_by_role("button", name="Yes, delete my account").click()
    page.wait_for_url("**/app/sign-in")
    expect(page.locator("#flash")).to_contain_text("Your account has been deleted.")
    page.get_by_label("Email").fill(person.email)
    page.get_by_label("Password").fill(person.password)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_have_text("Wrong email or password.")


def test_an_expired_token_is_renewed_and_a_dead_session_signs_out(
    page: Page, dashboard: DashboardPlatform
) -> None:
    person, _ = signed_in(page, dashboard, "fresh")
    # The landing page's calls must be done first: one started after the spoiling would
    # renew on the old page, and leaving that page drops the rotated pair (the next use
    # of the spent refresh token is then a reuse, which signs out: seen in CI).
    page.wait_for_load_state("networkidle")
    first = stored_session(page)
    spoil_session(page, refresh_token=False)
    page.goto("/app/profile")
    expect(page.get_by_text(person.email)).to_be_visible()
    renewed = stored_session(page)
    assert renewed["token"] not in ("not.a.token", first["token"])
    assert renewed["refreshToken"] != first["refreshToken"]
    spoil_session(page, refresh_token=True)
    page.goto("/app/profile")
    page.wait_for_url("**/app/sign-in?next=profile")
    expect(page.locator("#flash")).to_contain_text("Your session has ended. Please sign in again.")
    expect(page.get_by_role("button", name="Sign in")).to_be_visible()


def test_an_unknown_page_says_so(page: Page) -> None:
    page.goto("/app/no-such-page")
    expect(page.get_by_role("alert")).to_have_text("There is no such page.")
    expect(page.get_by_role("heading", name="Not found")).to_be_visible()


def test_at_phone_width_nothing_overflows_and_the_menu_opens(
    page: Page, dashboard: DashboardPlatform
) -> None:
    page.set_viewport_size({"width": PHONE["width"], "height": PHONE["height"]})
    page.goto("/app/sign-up")
    expect(page.get_by_role("button", name="Create account")).to_be_visible()
    assert fits_the_width(page)
    menu = page.get_by_role("button", name="Menu")
    sign_in_link = page.get_by_role("navigation").get_by_role("link", name="Sign in")
    expect(sign_in_link).to_be_hidden()
    menu.click()
    expect(menu).to_have_attribute("aria-expanded", "true")
    sign_in_link.click()
    page.wait_for_url("**/app/sign-in")
    expect(sign_in_link).to_be_hidden()  # following a link closes the menu
    assert fits_the_width(page)
    signed_in(page, dashboard, "phone")
    page.goto("/app/profile")
    expect(page.get_by_role("button", name="Save")).to_be_visible()
    assert fits_the_width(page)


def test_the_keyboard_alone_signs_in(page: Page, dashboard: DashboardPlatform) -> None:
    person = new_person("keys")
    register(dashboard.url, person)
    page.goto("/app/sign-in")
    email = page.get_by_label("Email")
    expect(email).to_be_focused()
    page.keyboard.type(person.email)
    page.keyboard.press("Tab")
    expect(page.get_by_label("Password")).to_be_focused()
    page.keyboard.type(person.password)
    page.keyboard.press("Shift+Tab")
    expect(email).to_be_focused()
    page.keyboard.press("Tab")
    page.keyboard.press("Tab")
    expect(page.get_by_role("button", name="Sign in")).to_be_focused()
    page.keyboard.press("Shift+Tab")
    page.keyboard.press("Enter")
    page.wait_for_url("**/app/goals")
    expect(page.get_by_role("link", name="Sign out")).to_be_visible()
