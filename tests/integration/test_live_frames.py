"""Frames over a real socket: generated ones each get their answer, and times read as RFC 3339."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import HealthCheck, Phase, given, settings

from gateway.realtime.parsing import Refusal, parse_frame
from services.common.timeutil import format_time, parse_time
from tests.frame_strategies import frame_texts
from tests.integration.live_cluster import (
    Cluster,
    frames_until,
    join,
    next_of,
    open_session,
    start_poll,
    summary_of,
)

EXAMPLES = 60


def generated_frames(count: int) -> list[str]:
    """``count`` frames drawn by Hypothesis, the same ones on every run."""
    frames: list[str] = []

    @settings(
        max_examples=count,
        database=None,
        derandomize=True,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
        deadline=None,
    )
    @given(frame_texts)
    def collect(text: str) -> None:
        frames.append(text)

    collect()
    return frames


async def test_generated_frames_each_get_an_answer_and_never_close_the_connection(
    cluster: Cluster,
) -> None:
    session_id = await open_session(cluster)
    ws = await join(cluster, "fuzzer", session_id)
    await next_of(ws, "session_snapshot")
    user_id, _ = await cluster.user("fuzzer")
    for n, text in enumerate(generated_frames(EXAMPLES)):
        expected = parse_frame(text, user_id)
        if not isinstance(expected, Refusal) and expected.type == "leave_session":
            continue  # a valid leave ends the connection, as it should
        await ws.send(text)
        probe = f"probe {n}"
        await ws.send(json.dumps({"type": "chat_message", "message": probe}))

        def is_probe(frame: dict[str, Any], probe: str = probe) -> bool:
            return frame.get("type") == "chat_message" and frame.get("message") == probe

        # A close (1000 or 1011) would raise here; the probe's echo proves the socket lives.
        frames = await frames_until(ws, is_probe)
        errors = [(f["code"], f["reason"]) for f in frames if f["type"] == "error"]
        if isinstance(expected, Refusal):
            assert errors == [(expected.code, expected.reason)], text
        else:
            assert ("INTERNAL", "INTERNAL") not in errors, text
    await ws.close()


def is_rfc3339(value: object) -> bool:
    """An RFC 3339 UTC time in the API's one format (as workouts and goals show times)."""
    return isinstance(value, str) and format_time(parse_time(value)) == value


async def test_times_are_rfc_3339_strings_or_null_in_rest_and_in_frames(cluster: Cluster) -> None:
    _, headers = await cluster.user("coach")
    body = {
        "title": "Noon run",
        "workout_type": "running",
        "scheduled_at": "2030-01-31T12:30:00+01:00",
    }
    created = (await cluster.http.post("/group-sessions", headers=headers, json=body)).json()
    assert created["scheduled_at"] == "2030-01-31T11:30:00.000Z"
    assert is_rfc3339(created["created_at"])
    assert created["ended_at"] is None
    unscheduled = await open_session(cluster)
    snapshot = (await cluster.http.get(f"/group-sessions/{unscheduled}", headers=headers)).json()
    assert snapshot["scheduled_at"] is None
    ws = await join(cluster, "coach", unscheduled)
    joined = await next_of(ws, "session_snapshot")
    assert is_rfc3339(joined["created_at"])
    poll = await start_poll(ws, ["a", "b"])
    assert is_rfc3339(poll["ts"])
    assert is_rfc3339(poll["closes_at"])
    listed = (await cluster.http.get(f"/group-sessions/{unscheduled}", headers=headers)).json()
    assert is_rfc3339(listed["polls"][0]["closes_at"])
    ended = await cluster.http.post(f"/group-sessions/{unscheduled}/end", headers=headers)
    assert is_rfc3339(ended.json()["ended_at"])
    assert is_rfc3339((await next_of(ws, "session_ended"))["ts"])
    summary = await summary_of(cluster, unscheduled)
    assert all(is_rfc3339(summary[k]) for k in ("created_at", "ended_at"))
    attendee = summary["participants"][0]
    assert is_rfc3339(attendee["joined_at"])
    assert is_rfc3339(attendee["left_at"])
