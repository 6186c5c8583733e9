"""Port for workout storage; adapters live in sql_repository.py and mongo_repository.py."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from services.activity.domain import Cursor, Statistics, WorkoutSession


class WorkoutRepository(Protocol):
    """Port: where sessions and per-user statistics live."""

    def add_session(self, session: WorkoutSession, request_id: str) -> WorkoutSession:
        """Store a new session; a known request_id returns the session stored by it."""
        ...

    def get_session(self, session_id: str) -> WorkoutSession | None:
        """Return the session with this id, if any."""
        ...

    def complete_session(
        self,
        session_id: str,
        end_time: datetime,
        duration: float,
        calories: float,
        request_id: str,
    ) -> WorkoutSession | None:
        """End a running session and add it to the owner's statistics, atomically.

        Returns the ended session, also when ``request_id`` already ended it;
        None when another request ended it first.
        """
        ...

    def list_sessions(self, user_id: str, limit: int, after: Cursor | None) -> list[WorkoutSession]:
        """Return up to ``limit`` sessions of the user, newest start first, after the cursor."""
        ...

    def get_statistics(self, user_id: str) -> Statistics:
        """Return the maintained totals of the user (zeros if he has none)."""
        ...
