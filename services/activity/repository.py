"""Port for workout storage; adapters live in sql_repository.py and mongo_repository.py."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from services.activity.domain import Cursor, Statistics, WorkoutSession
from services.activity.suggestions import GoalPlan, Totals


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
        """Delete the user's sessions, statistics and plans; return the sessions deleted."""
        ...
