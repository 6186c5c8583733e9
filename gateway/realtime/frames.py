"""Frames clients send over the session WebSocket, validated strictly."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, TypeAdapter

from gateway.routes.fields import (
    INT64_MAX,
    BodyId,
    ChatText,
    ExerciseName,
    PollOption,
    PollQuestion,
)
from gateway.routes.schemas import StrictBody

MAX_POLL_OPTIONS = 10


class _Frame(StrictBody):
    """Unknown fields and wrongly typed values are refused; strings are safe text."""


class JoinSession(_Frame):
    """First frame of a connection; last_seq asks for the events missed since."""

    type: Literal["join_session"]
    session_id: BodyId
    user_id: BodyId | None = None
    last_seq: int | None = Field(None, ge=0, le=INT64_MAX)


class LeaveSession(_Frame):
    """Leave the session (closing the socket does the same)."""

    type: Literal["leave_session"]


class ChatMessage(_Frame):
    """A chat line for everyone in the session."""

    type: Literal["chat_message"]
    message: ChatText
    user_id: BodyId | None = None


class ExerciseUpdate(_Frame):
    """What the participant is doing now."""

    type: Literal["exercise_update"]
    exercise: ExerciseName | None = None
    reps: int | None = Field(None, ge=0, le=10_000)
    heart_rate: int | None = Field(None, ge=20, le=250)
    user_id: BodyId | None = None


class StartPoll(_Frame):
    """Ask the session a question; voting closes after duration_seconds."""

    type: Literal["start_poll"]
    question: PollQuestion
    options: list[PollOption] = Field(min_length=2, max_length=MAX_POLL_OPTIONS)
    duration_seconds: int = Field(60, ge=5, le=3600)


class Vote(_Frame):
    """Choose an option (by index); voting again changes the choice until the poll closes."""

    type: Literal["vote"]
    poll_id: BodyId
    option: int = Field(ge=0, lt=MAX_POLL_OPTIONS)


class ClosePoll(_Frame):
    """Close a poll early (its creator or the session owner)."""

    type: Literal["close_poll"]
    poll_id: BodyId


ClientFrame = Annotated[
    JoinSession | LeaveSession | ChatMessage | ExerciseUpdate | StartPoll | Vote | ClosePoll,
    Field(discriminator="type"),
]
CLIENT_FRAME = TypeAdapter(ClientFrame)
FRAME_TYPES = (
    "join_session",
    "leave_session",
    "chat_message",
    "exercise_update",
    "start_poll",
    "vote",
    "close_poll",
)
