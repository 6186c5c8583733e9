"""From a client's text frame to a validated frame, or the error to send back.

A pure function that returns a frame or a refusal and never raises, whatever it is
given (tests/unit/test_live_frames.py throws generated frames at it).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from gateway.realtime.frames import (
    CLIENT_FRAME,
    FRAME_TYPES,
    ChatMessage,
    ClosePoll,
    ExerciseUpdate,
    JoinSession,
    LeaveSession,
    StartPoll,
    Vote,
)
from gateway.realtime.protocol import CODES

Frame = JoinSession | LeaveSession | ChatMessage | ExerciseUpdate | StartPoll | Vote | ClosePoll
# The deepest frame of the protocol (start_poll's options) nests two levels.
MAX_DEPTH = 8
MAX_DETAIL = 300
# A JSON escape like "\ud800" decodes to half a UTF-16 pair: not text Redis or clients can take.
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


@dataclass(frozen=True, slots=True)
class Refusal:
    """Why a frame was refused: the error frame's ``reason`` and ``message``."""

    reason: str
    message: str

    @property
    def code(self) -> str:
        """The REST status of the same cause, the error frame's ``code``."""
        return CODES[self.reason]


def parse_frame(text: str, user_id: str) -> Frame | Refusal:
    """The frame ``text`` holds, or why it is refused; ``user_id`` is the sender."""
    try:
        raw = json.loads(text)
    except RecursionError:
        return Refusal("INVALID_FRAME", f"frames may nest at most {MAX_DEPTH} levels")
    except ValueError:
        return Refusal("MALFORMED_JSON", "frames must be JSON objects")
    problem = _shape_problem(raw)
    if problem:
        return Refusal("INVALID_FRAME", problem)
    if not isinstance(raw, dict) or raw.get("type") not in FRAME_TYPES:
        kind = repr(raw.get("type") if isinstance(raw, dict) else None)[:40]
        known = ", ".join(FRAME_TYPES)
        return Refusal("UNKNOWN_TYPE", f"unknown frame type {kind}; known: {known}")
    try:
        frame: Frame = CLIENT_FRAME.validate_python(raw)
    except ValidationError as error:
        return Refusal("INVALID_FRAME", _describe(error))
    if getattr(frame, "user_id", None) not in (None, user_id):
        return Refusal("NOT_YOUR_USER_ID", "user_id must be your own")
    return frame


def _shape_problem(raw: Any) -> str:
    """What makes a decoded frame unusable whatever its type: depth, or broken text."""
    pending: list[tuple[Any, int]] = [(raw, 1)]
    while pending:
        value, depth = pending.pop()
        if depth > MAX_DEPTH:
            return f"frames may nest at most {MAX_DEPTH} levels"
        if isinstance(value, str):
            if _LONE_SURROGATE.search(value):
                return "text must be valid Unicode (no lone surrogate escapes)"
        elif isinstance(value, dict):
            pending.extend((item, depth + 1) for item in [*value.keys(), *value.values()])
        elif isinstance(value, list):
            pending.extend((item, depth + 1) for item in value)
    return ""


def _describe(error: ValidationError) -> str:
    details = "; ".join(
        f"{'.'.join(map(str, e['loc'][1:])) or 'frame'}: {e['msg']}" for e in error.errors()
    )
    return details[:MAX_DETAIL]
