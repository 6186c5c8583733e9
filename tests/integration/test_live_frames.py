"""Generated frames over a real socket: each gets its answer and the connection stays open."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import HealthCheck, Phase, given, settings

from gateway.live.parsing import Refusal, parse_frame
from tests.frame_strategies import frame_texts
from tests.integration import test_live_sessions as live
from tests.integration.test_live_sessions import Cluster, frames_until, join, next_of, open_session

cluster = live.cluster  # the two-instance cluster of test_live_sessions
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
        errors = [f["code"] for f in frames if f["type"] == "error"]
        if isinstance(expected, Refusal):
            assert errors == [expected.code], text
        else:
            assert "internal" not in errors, text
    await ws.close()
