"""Live group sessions in the dashboard: two browsers share presence, chat, polls, the end.

Each test signs two new people in, each in a browser context of its own (its own session
storage, so its own token and socket). Every context wraps the page's WebSocket before any
script runs (RECORD_SOCKETS) and keeps each session socket in ``window.__sessionSockets``:
the reconnect tests close the newest one with the network emulated offline, so B cannot
rejoin until the test says so; the rate-limit tests send through it. The app itself exposes
nothing for tests.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import pytest
from playwright.sync_api import Browser, BrowserContext, Locator, Page, expect

from tests.e2e.browser import (
    PHONE,
    DashboardPlatform,
    screenshot,
    serious_violations,
    signed_in,
    unique,
    watch_for_problems,
)

LIVE_TIMEOUT = 20_000
# Run in each page before its scripts: a WebSocket that records every session socket the
# page opens (the newest last), so a test can drop or use the one the page is on.
RECORD_SOCKETS = """(() => {
  const Native = window.WebSocket;
  window.__sessionSockets = [];
  window.WebSocket = class extends Native {
    constructor(url, protocols) {
      super(url, protocols);
      if (String(url).includes("/ws/sessions/")) window.__sessionSockets.push(this);
    }
  };
})();"""
NEWEST_SOCKET = "window.__sessionSockets.at(-1)"


@dataclass(frozen=True)
class Member:
    """One person signed in in a browser context of his own."""

    context: BrowserContext
    page: Page
    user_id: str
    problems: list[str]

    @property
    def label(self) -> str:
        """How the others' pages name him (the API shows no one's profile to others)."""
        return f"Member {self.user_id[:8]}"


def _member(chromium: Browser, dashboard: DashboardPlatform, prefix: str) -> Member:
    context = chromium.new_context(base_url=dashboard.url, viewport={"width": 1280, "height": 900})
    context.set_default_timeout(15_000)
    context.add_init_script(RECORD_SOCKETS)
    page = context.new_page()
    problems = watch_for_problems(page)
    _, answer = signed_in(page, dashboard, prefix)
    return Member(context, page, str(answer["user_id"]), problems)


@contextmanager
def _pair(chromium: Browser, dashboard: DashboardPlatform) -> Iterator[tuple[Member, Member]]:
    host = _member(chromium, dashboard, "livea")
    guest = _member(chromium, dashboard, "liveb")
    try:
        yield host, guest
        assert host.problems == guest.problems == []  # no CSP refusal, no script error
    finally:
        host.context.close()
        guest.context.close()


@pytest.fixture
def pair(chromium: Browser, dashboard: DashboardPlatform) -> Iterator[tuple[Member, Member]]:
    """A (who will host) and B, each signed in in a browser of his own."""
    with _pair(chromium, dashboard) as both:
        yield both


def _start_session(member: Member, title: str, workout: str | None = None) -> str:
    """Start a session through the form (of the workout type shown as ``workout``, else the
    first); its page's path."""
    page = member.page
    page.goto("/app/sessions")
    page.get_by_label("Title", exact=True).fill(title)
    if workout:
        page.get_by_label("Workout type", exact=True).select_option(label=workout)
    page.get_by_role("button", name="Start session").click()
    page.wait_for_url("**/app/sessions/*")
    expect(page.get_by_role("heading", level=1)).to_have_text(title)
    _expect_connected(page)
    return page.url


def _expect_connected(page: Page) -> None:
    expect(page.locator(".live-status")).to_have_text("Connected", timeout=LIVE_TIMEOUT)


def _join(member: Member, url: str) -> None:
    member.page.goto(url)
    _expect_connected(member.page)


def _people(page: Page) -> Locator:
    return page.get_by_role("region", name="Who is here")


def _chat(page: Page) -> Locator:
    return page.get_by_role("log", name="Chat messages")


def _say(page: Page, text: str) -> None:
    page.get_by_label("Message", exact=True).fill(text)
    page.get_by_role("button", name="Send").click()
    expect(page.get_by_label("Message", exact=True)).to_have_value("")


def _chat_texts(page: Page) -> list[str]:
    return _chat(page).locator(".live-text").all_text_contents()


def _both_in(host: Member, guest: Member, url: str) -> None:
    _join(guest, url)
    expect(_people(guest.page)).to_contain_text(host.label, timeout=LIVE_TIMEOUT)
    expect(_people(host.page)).to_contain_text(guest.label, timeout=LIVE_TIMEOUT)


def _both_in_new_session(host: Member, guest: Member, title: str) -> None:
    """A starts a session, B opens it, and each sees the other there."""
    _both_in(host, guest, _start_session(host, title))


def _drop_and_stay_away(member: Member) -> None:
    """Close the member's socket (the newest recorded) with the network offline, so the
    page keeps trying to rejoin and cannot until the network is back."""
    member.context.set_offline(True)
    member.page.evaluate(f"{NEWEST_SOCKET}.close(4000)")
    expect(member.page.locator(".live-status")).to_have_text("Reconnecting…")


def _burst(page: Page, word: str, count: int) -> None:
    """Send ``count`` chat frames at once on the page's socket, faster than any person."""
    page.evaluate(
        """([word, count]) => { const socket = window.__sessionSockets.at(-1);
            for (let i = 0; i < count; i++)
                socket.send(JSON.stringify({type: "chat_message", message: `${word} ${i}`})); }""",
        [word, count],
    )


def test_two_people_see_each_other_chat_vote_and_see_the_end(pair: tuple[Member, Member]) -> None:
    """Presence both ways, chat both ways, a live tally, an exercise update, the end at B."""
    host, guest = pair
    url = _start_session(host, unique("Morning HIIT "))
    guest.page.goto("/app/sessions")
    guest.page.get_by_label("Session link or id", exact=True).fill(url)
    guest.page.get_by_role("button", name="Join", exact=True).click()
    guest.page.wait_for_url(url)
    _both_in(host, guest, url)
    _say(host.page, "Welcome, <b>everyone</b>!")
    expect(_chat(guest.page)).to_contain_text("Welcome, <b>everyone</b>!", timeout=LIVE_TIMEOUT)
    expect(_chat(guest.page).locator("b")).to_have_count(0)  # text, never markup
    guest.page.get_by_label("Message", exact=True).fill("Ready when you are")
    guest.page.get_by_label("Message", exact=True).press("Enter")  # Enter sends
    expect(_chat(host.page)).to_contain_text("Ready when you are", timeout=LIVE_TIMEOUT)
    expect(_chat(host.page)).to_contain_text(guest.label)

    host.page.get_by_label("Question", exact=True).fill("What next?")
    host.page.get_by_label("Options (one per line)", exact=True).fill("Squats\nLunges")
    host.page.get_by_role("button", name="Start poll").click()
    guest_poll = guest.page.get_by_role("article", name="Poll: What next?")
    guest_poll.get_by_role("button", name="Lunges").click()
    host_poll = host.page.get_by_role("article", name="Poll: What next?")
    lunges = host_poll.get_by_role("listitem").filter(has_text="Lunges")
    expect(lunges).to_contain_text("1 vote", timeout=LIVE_TIMEOUT)
    expect(host_poll.get_by_role("listitem").filter(has_text="Squats")).to_contain_text("0 votes")
    expect(guest_poll.get_by_role("listitem").filter(has_text="Lunges")).to_contain_text(
        "your vote"
    )
    host_poll.get_by_role("button", name="Close poll").click()
    expect(guest_poll).to_contain_text("Closed", timeout=LIVE_TIMEOUT)
    expect(guest_poll.get_by_role("button")).to_have_count(0)

    guest.page.get_by_label("Exercise", exact=True).fill("Burpees")
    guest.page.get_by_label("Reps", exact=True).fill("12")
    guest.page.get_by_role("button", name="Share update").click()
    latest = f"{guest.label}: Burpees · 12 reps"
    expect(host.page.locator(".live-now")).to_contain_text(latest, timeout=LIVE_TIMEOUT)

    host.page.get_by_role("button", name="End session").click()
    expect(guest.page.locator(".live-status")).to_have_text(
        "This session has ended.", timeout=LIVE_TIMEOUT
    )
    expect(guest.page.get_by_label("Message", exact=True)).to_have_count(0)
    summary = guest.page.get_by_role("region", name="Summary")
    expect(summary.get_by_role("table")).to_contain_text(host.label, timeout=40_000)
    expect(summary.get_by_role("table")).to_contain_text("You")
    expect(summary).to_contain_text("Lunges: 1 vote")
    for page in (host.page, guest.page):
        shown = page.locator("main").inner_text()
        assert not [word for word in ("[object", "null", "undefined") if word in shown]
    screenshot(guest.page, "live-session-ended")


def test_a_dropped_connection_rejoins_with_every_missed_message_once_in_order(
    pair: tuple[Member, Member],
) -> None:
    """B's socket drops while A sends three messages; B rejoins and shows each once, in order."""
    host, guest = pair
    _both_in_new_session(host, guest, unique("Recovery run "))
    _say(host.page, "before the drop")
    expect(_chat(guest.page)).to_contain_text("before the drop", timeout=LIVE_TIMEOUT)

    _drop_and_stay_away(guest)  # no rejoin until the three messages are sent
    missed = [f"missed {n} {unique()}" for n in range(1, 4)]
    for text in missed:
        _say(host.page, text)
    expect(_chat(host.page)).to_contain_text(missed[-1], timeout=LIVE_TIMEOUT)
    assert _chat_texts(guest.page) == ["before the drop"]  # so they can come only by the rejoin
    guest.context.set_offline(False)

    _expect_connected(guest.page)
    expect(_chat(guest.page)).to_contain_text(missed[-1], timeout=LIVE_TIMEOUT)
    assert _chat_texts(guest.page) == ["before the drop", *missed]
    _say(guest.page, "back again")
    expect(_chat(host.page)).to_contain_text("back again", timeout=LIVE_TIMEOUT)
    assert _chat_texts(guest.page) == ["before the drop", *missed, "back again"]


def test_a_session_that_ended_while_one_was_away_shows_as_ended_when_he_is_back(
    pair: tuple[Member, Member],
) -> None:
    """B's rejoin is refused once the session has ended: B's page says it ended instead."""
    host, guest = pair
    _both_in_new_session(host, guest, unique("Short class "))
    _drop_and_stay_away(guest)
    host.page.get_by_role("button", name="End session").click()
    expect(host.page.locator(".live-status")).to_have_text("This session has ended.")
    guest.context.set_offline(False)
    expect(guest.page.locator(".live-status")).to_have_text(
        "This session has ended.", timeout=LIVE_TIMEOUT
    )
    # The page stopped: every socket it opened is closed and none is trying again.
    guest.page.wait_for_function(
        "window.__sessionSockets.every((socket) => socket.readyState === WebSocket.CLOSED)"
    )


def test_an_unknown_session_id_shows_a_sentence(page: Page, dashboard: DashboardPlatform) -> None:
    """A link to a session that does not exist says so in words."""
    signed_in(page, dashboard, "livex")
    page.goto(f"/app/sessions/{unique('no-such-session-')}")
    expect(page.get_by_role("alert")).to_contain_text("There is no live session with this id")
    assert '{"error"' not in page.content()


def test_a_chat_message_over_the_limit_is_refused_with_a_sentence(
    pair: tuple[Member, Member],
) -> None:
    """1,001 characters are not sent; the sender reads why, the other sees nothing."""
    host, guest = pair
    _both_in_new_session(host, guest, unique("Limits "))
    host.page.get_by_label("Message", exact=True).fill("x" * 1001)
    host.page.get_by_role("button", name="Send").click()
    expect(host.page.get_by_role("alert")).to_contain_text("at most 1,000 characters")
    _say(host.page, "short one")
    expect(_chat(guest.page)).to_contain_text("short one", timeout=LIVE_TIMEOUT)
    assert _chat_texts(guest.page) == ["short one"]


def test_sending_too_fast_is_explained_in_words(pair: tuple[Member, Member]) -> None:
    """Past the socket's rate limit the gateway refuses frames; the page says why."""
    host, guest = pair
    url = _start_session(host, unique("Fast "))
    _join(guest, url)
    _burst(host.page, "burst", 30)
    expect(host.page.get_by_role("alert")).to_contain_text("You are sending messages too fast")
    expect(_chat(guest.page)).to_contain_text("burst 0", timeout=LIVE_TIMEOUT)
    assert "{" not in host.page.get_by_role("alert").inner_text()


def test_one_who_keeps_flooding_is_disconnected_and_can_join_again(
    page: Page, dashboard: DashboardPlatform
) -> None:
    """Past twice the burst the gateway closes the socket (1008); the page says why and rejoins."""
    page.add_init_script(RECORD_SOCKETS)
    signed_in(page, dashboard, "livef")
    page.goto("/app/sessions")
    page.get_by_label("Title", exact=True).fill(unique("Flood "))
    page.get_by_role("button", name="Start session").click()
    _expect_connected(page)
    _burst(page, "flood", 80)
    expect(page.get_by_role("alert")).to_contain_text("sending too many messages too fast")
    expect(page.locator(".live-status")).to_have_text("Disconnected")
    page.get_by_role("button", name="Join again").click()
    _expect_connected(page)
    _say(page, "calm again")
    expect(_chat(page)).to_contain_text("calm again", timeout=LIVE_TIMEOUT)
    texts = _chat_texts(page)
    assert len(texts) == len(set(texts))  # the rejoin's replay showed nothing twice


def test_the_live_pages_pass_axe_and_fit_a_phone(pair: tuple[Member, Member]) -> None:
    """No serious accessibility violations, screenshots, no sideways scrolling at 390 px."""
    host, guest = pair
    title = unique("Yoga flow ")
    _both_in(host, guest, _start_session(host, title, "Strength training"))
    expect(guest.page.locator("main")).to_contain_text("Strength training · hosted by ")
    _say(host.page, "Breathe in, breathe out")
    host.page.get_by_label("Question", exact=True).fill("Longer holds?")
    host.page.get_by_label("Options (one per line)", exact=True).fill("Yes\nNo")
    host.page.get_by_role("button", name="Start poll").click()
    guest.page.get_by_role("article", name="Poll: Longer holds?").get_by_role(
        "button", name="Yes"
    ).click()
    expect(
        host.page.get_by_role("article", name="Poll: Longer holds?").get_by_role("listitem").first
    ).to_contain_text("1 vote", timeout=LIVE_TIMEOUT)
    assert serious_violations(host.page) == []
    screenshot(host.page, "live-session")
    host.page.set_viewport_size(PHONE)
    assert host.page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")

    guest.page.goto("/app/sessions")
    expect(guest.page.get_by_role("link", name=title)).to_be_visible()
    row = guest.page.get_by_role("row").filter(has=guest.page.get_by_role("link", name=title))
    expect(row).to_contain_text("Strength training")  # the type's name for people
    assert serious_violations(guest.page) == []
    screenshot(guest.page, "live-sessions")
    guest.page.set_viewport_size(PHONE)
    assert guest.page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
