"""Ports for workout storage and the progress outbox.

Adapters: sql_repository.py and mongo_repository.py (sessions, statistics, plans),
outbox_sql.py and outbox_mongo.py (the outbox the relay drains, in the same stores).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Protocol

from services.activity.domain import Cursor, ProgressEvent, Statistics, WorkoutSession
from services.activity.suggestions import GoalPlan, Totals


class ProgressOutbox(Protocol):
    """Port: the progress events waiting to reach the user service (the outbox)."""

    def claim_progress(
        self, owner: str, now: datetime, lease: timedelta, limit: int
    ) -> list[ProgressEvent]:
        """Lease up to ``limit`` due events to ``owner`` until ``now + lease``, oldest first.

        An event leased to another relay is skipped until its lease runs out.
        """
        ...

    def progress_delivered(self, event_id: str, now: datetime) -> None:
        """Mark the event delivered: it is never claimed again."""
        ...

    def retry_progress(self, event_id: str, owner: str, due: datetime, error: str) -> None:
        """Give back ``owner``'s lease, count a failed attempt and make the event due at ``due``."""
        ...

    def pending_progress(self) -> list[ProgressEvent]:
        """Every event not delivered yet, oldest first (for operators and tests)."""
        ...

    def prune_delivered(self, before: datetime, limit: int) -> int:
        """Delete up to ``limit`` events delivered before ``before``, oldest first; count them.

        Undelivered events are never deleted, however old.
        """
        ...


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
        """End a running session, count it in the statistics and queue its ProgressEvent.

        All three in one transaction: an ended session always has its event in the outbox.

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

    def totals_since(self, user_id: str, since: datetime) -> Totals:
        """Sum the user's sessions that ended at or after ``since``."""
        ...

    def put_plan(self, plan: GoalPlan) -> bool:
        """Store the plan, keeping the one it replaces for restore_plan.

        False, changing nothing, when the stored plan came from the same request_id.
        """
        ...

    def restore_plan(self, goal_id: str, put_request_id: str) -> None:
        """Undo put_plan(request_id=put_request_id) if it is the latest put, else nothing."""
        ...

    def get_plan(self, goal_id: str) -> GoalPlan | None:
        """Return the goal's plan, if any."""
        ...

    def active_plans(self, user_id: str) -> list[GoalPlan]:
        """Return the user's active plans, nearest target date first."""
        ...

    def delete_user_data(self, user_id: str) -> int:
        """Delete the user's sessions, statistics, plans and pending progress; count sessions."""
        ...
