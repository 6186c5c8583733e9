"""The summary of a finished live session, built from recorded facts."""

from __future__ import annotations

from gateway.realtime.persistence import summarize
from gateway.realtime.store import GroupSession, SessionFacts
from gateway.realtime.views import stamp

SESSION = GroupSession(
    "s1", "coach", "HIIT", "hiit", "", created_at=900.0, state="ended", ended_at=2000.0
)


def test_participants_are_timed_from_first_join_to_last_leave_or_the_end() -> None:
    facts = SessionFacts(
        joined={"ann": 1000.0, "bob": 1100.0, "cat": 1200.0},
        left={"ann": 1600.0, "cat": 1300.0},
        totals={"ann": {"chat_messages": 3, "reps": 40, "exercise_updates": 2}},
        present={"cat"},
    )
    summary = summarize(SESSION, facts, [])
    times = {
        p["user_id"]: (p["joined_at"], p["left_at"], p["duration"]) for p in summary["participants"]
    }
    assert times == {
        "ann": (stamp(1000.0), stamp(1600.0), 600.0),
        "bob": (stamp(1100.0), stamp(2000.0), 900.0),  # never left: counted to the end
        "cat": (stamp(1200.0), stamp(2000.0), 800.0),  # left, came back, still there at the end
    }
    ann = summary["participants"][0]
    assert (ann["chat_messages"], ann["reps"], ann["exercise_updates"]) == (3, 40, 2)
    assert summary["chat_messages"] == 3


def test_leaves_recorded_after_the_end_are_cut_at_the_end() -> None:
    facts = SessionFacts(joined={"ann": 1000.0}, left={"ann": 2005.0}, totals={}, present=set())
    assert summarize(SESSION, facts, [])["participants"][0]["left_at"] == stamp(2000.0)


def test_times_are_rfc_3339_strings_in_utc_like_the_rest_of_the_api() -> None:
    facts = SessionFacts(joined={"ann": 1000.25}, left={}, totals={}, present=set())
    summary = summarize(SESSION, facts, [])
    assert (summary["created_at"], summary["ended_at"]) == (
        "1970-01-01T00:15:00.000Z",
        "1970-01-01T00:33:20.000Z",
    )
    assert summary["participants"][0]["joined_at"] == "1970-01-01T00:16:40.250Z"


def test_poll_results_are_kept() -> None:
    poll = {
        "poll_id": "p1",
        "question": "Q?",
        "options": ["a", "b"],
        "tally": [2, 1],
        "state": "closed",
    }
    facts = SessionFacts(joined={}, left={}, totals={}, present=set())
    assert summarize(SESSION, facts, [poll])["polls"] == [
        {"poll_id": "p1", "question": "Q?", "options": ["a", "b"], "tally": [2, 1]}
    ]
