"""Hypothesis strategies for WebSocket frames: junk text, junk JSON, well-shaped odd frames."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import strategies as st

from gateway.realtime.frames import FRAME_TYPES

FIELDS = (
    "type",
    "session_id",
    "user_id",
    "last_seq",
    "message",
    "exercise",
    "reps",
    "heart_rate",
    "question",
    "options",
    "duration_seconds",
    "poll_id",
    "option",
)
# Text with lone surrogates (as a client's "\ud800" escapes decode), controls, anything.
odd_text = st.text(st.characters(codec=None, categories=None), max_size=40) | st.sampled_from(
    ["", "\ud800", "a\udfffb", "\x00", "\u202e", "x" * 1001, "💪" * 50]
)
scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=True, allow_infinity=True)
    | odd_text
)
json_values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(odd_text, inner, max_size=4),
    max_leaves=12,
)


@st.composite
def shaped_frames(draw: st.DrawFn) -> dict[str, Any]:
    """A frame with a known (or nearly known) type and known field names with odd values."""
    kind = draw(st.sampled_from(FRAME_TYPES) | odd_text)
    names = draw(st.lists(st.sampled_from(FIELDS[1:]), max_size=5, unique=True))
    frame: dict[str, Any] = {"type": kind}
    for name in names:
        frame[name] = draw(json_values)
    return frame


def nested(depth: int) -> str:
    """JSON nested ``depth`` levels deep inside a chat message's field."""
    return '{"type": "chat_message", "message": ' + "[" * depth + "]" * depth + "}"


def encode(value: Any) -> str:
    """JSON text with any lone surrogates escaped, the way a client would send them."""
    return json.dumps(value, ensure_ascii=True)


frame_texts = (
    st.text(max_size=200)
    | json_values.map(encode)
    | shaped_frames().map(encode)
    | st.integers(min_value=1, max_value=30_000).map(nested)
)
