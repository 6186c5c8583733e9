"""Response bodies of the group-session routes, as the snapshot and the summary build them.

Times are RFC 3339 strings in UTC (see views.stamp), or null when unset.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

RFC3339 = "RFC 3339, UTC"


class PollResponse(BaseModel):
    """An open poll with its live tally (who chose what is never shown)."""

    poll_id: str
    question: str
    options: list[str]
    creator: str
    closes_at: str | None = Field(description=RFC3339)
    state: Literal["open", "closed"]
    option_count: int
    tally: list[int] = Field(description="Votes per option, in the options' order")


class SummaryParticipant(BaseModel):
    """One participant of an ended session; duration in seconds."""

    user_id: str
    joined_at: str | None = Field(description=RFC3339)
    left_at: str | None = Field(description=RFC3339)
    duration: float
    chat_messages: int
    exercise_updates: int
    reps: int


class SummaryPoll(BaseModel):
    """A poll of an ended session with its final tally."""

    poll_id: str
    question: str
    options: list[str]
    tally: list[int]


class SessionSummary(BaseModel):
    """The record of an ended session, once the activity service has it."""

    session_id: str
    title: str
    workout_type: str
    owner_id: str
    created_at: str | None = Field(description=RFC3339)
    ended_at: str | None = Field(description=RFC3339)
    participants: list[SummaryParticipant]
    chat_messages: int
    polls: list[SummaryPoll]


class GroupSessionResponse(BaseModel):
    """A session's snapshot: its fields, who is here, open polls, the last sequence number."""

    session_id: str
    owner_id: str
    title: str
    workout_type: str
    scheduled_at: str | None = Field(description=f"{RFC3339}; null when not scheduled")
    created_at: str | None = Field(description=RFC3339)
    state: Literal["active", "ended"]
    ended_at: str | None = Field(description=f"{RFC3339}; null while active")
    participants: list[str] = Field(description="Users connected now, sorted")
    polls: list[PollResponse]
    last_seq: int = Field(description="Sequence number of the newest event, 0 before any")
    summary: SessionSummary | None = Field(
        description="Set once an ended session has been recorded as everyone's workout"
    )


class GroupSessionList(BaseModel):
    """GET /group-sessions."""

    sessions: list[GroupSessionResponse]
