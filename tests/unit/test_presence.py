"""Join and leave announcements: coalesced per window, never reordered for one user."""

from __future__ import annotations

import asyncio
from typing import Any, cast

from gateway.realtime.presence import PresenceAnnouncer
from gateway.realtime.store import LiveStore

WINDOW = 0.05


class FakeStore:
    """Records the events appended to each session's log, in order."""

    def __init__(self) -> None:
        self.appended: list[tuple[str, str, list[str]]] = []

    async def append(self, session_id: str, event: dict[str, Any]) -> dict[str, Any]:
        self.appended.append((session_id, event["type"], event["user_ids"]))
        return event


def announcer() -> tuple[PresenceAnnouncer, FakeStore]:
    store = FakeStore()
    return PresenceAnnouncer(cast(LiveStore, store), window=WINDOW), store


async def test_joins_within_one_window_go_out_as_one_event() -> None:
    presence, store = announcer()
    for user in ("ann", "bob", "cy"):
        presence.announce("s1", "join_session", user)
    await asyncio.sleep(WINDOW * 3)
    assert store.appended == [("s1", "join_session", ["ann", "bob", "cy"])]


async def test_a_reload_within_the_window_ends_with_the_user_present() -> None:
    presence, store = announcer()
    presence.announce("s1", "join_session", "bob")  # first page
    presence.announce("s1", "leave_session", "bob")  # it unloads
    presence.announce("s1", "join_session", "bob")  # the reloaded page
    await asyncio.sleep(WINDOW * 3)
    kinds = [kind for _, kind, _ in store.appended]
    assert kinds == ["join_session", "leave_session", "join_session"]


async def test_other_sessions_batches_are_left_to_their_windows() -> None:
    presence, store = announcer()
    presence.announce("s1", "join_session", "ann")
    presence.announce("s2", "leave_session", "bob")
    await asyncio.sleep(0)
    assert store.appended == []  # neither was sent ahead of its window
    await asyncio.sleep(WINDOW * 3)
    assert sorted(store.appended) == [
        ("s1", "join_session", ["ann"]),
        ("s2", "leave_session", ["bob"]),
    ]


async def test_close_sends_what_is_still_waiting() -> None:
    presence, store = announcer()
    presence.announce("s1", "join_session", "ann")
    presence.announce("s1", "leave_session", "ann")
    await presence.close()
    assert [kind for _, kind, _ in store.appended] == ["join_session", "leave_session"]
