"""WorkoutRepository on SQLAlchemy Core: the embedded default (SQLite) and PostgreSQL."""

from __future__ import annotations

import json
from dataclasses import asdict
from datetime import date, datetime
from typing import Any

from sqlalchemy import Engine, and_, delete, func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, RowMapping
from sqlalchemy.exc import IntegrityError

from services.activity.domain import Cursor, Statistics, WorkoutSession, progress_request_id
from services.activity.suggestions import GoalPlan, Totals
from services.activity.tables import goal_plans, progress_outbox, sessions, statistics
from services.common.goal_types import GoalType
from services.common.logs import request_id_var
from services.common.timeutil import Clock, as_utc, utc_now


class SqlWorkoutRepository:
    """Sessions in one table; statistics upserted in the same transaction as each end."""

    def __init__(self, engine: Engine, clock: Clock = utc_now) -> None:
        self._engine = engine
        self._clock = clock
        self._insert = postgresql.insert if engine.dialect.name == "postgresql" else sqlite.insert

    def add_session(self, session: WorkoutSession, request_id: str) -> WorkoutSession:
        """Insert the session unless this request_id already stored one."""
        earlier = self._by_request(request_id)
        if earlier:
            return earlier
        try:
            with self._engine.begin() as conn:
                row = {**_row(session, request_id), "updated_at": self._clock()}
                conn.execute(sessions.insert().values(row))
        except IntegrityError:
            earlier = self._by_request(request_id)
            if earlier is None:
                raise
            return earlier
        return session

    def _by_request(self, request_id: str) -> WorkoutSession | None:
        return self._first(sessions.c.request_id == request_id) if request_id else None

    def _first(self, condition: Any) -> WorkoutSession | None:
        with self._engine.connect() as conn:
            row = conn.execute(select(sessions).where(condition)).mappings().first()
        return _to_session(row) if row else None

    def get_session(self, session_id: str) -> WorkoutSession | None:
        """Return the session with this id, if any."""
        return self._first(sessions.c.session_id == session_id)

    def complete_session(
        self, session_id: str, end_time: datetime, duration: float, calories: float, request_id: str
    ) -> WorkoutSession | None:
        """End the session if still running and add it to the statistics in one transaction."""
        with self._engine.begin() as conn:
            ended = conn.execute(
                update(sessions)
                .where(sessions.c.session_id == session_id, sessions.c.end_time.is_(None))
                .values(
                    end_time=end_time,
                    duration=duration,
                    calories_burned=calories,
                    end_request_id=request_id or None,
                    updated_at=self._clock(),
                )
                .returning(sessions.c.user_id)
            ).first()
            if ended:
                self._add_to_statistics(conn, ended.user_id, duration, calories)
                now = self._clock()
                event = {
                    "event_id": progress_request_id(session_id),
                    "user_id": ended.user_id,
                    "session_id": session_id,
                    "end_time": end_time,
                    "duration": duration,
                    "calories_burned": calories,
                    "created_at": now,
                    "due_at": now,
                    "trace_id": request_id_var.get() or None,
                }
                conn.execute(progress_outbox.insert().values(event))
        stored = self.get_session(session_id)
        if ended or (stored and request_id and stored.end_request_id == request_id):
            return stored
        return None

    def _add_to_statistics(
        self, conn: Connection, user_id: str, duration: float, calories: float
    ) -> None:
        insert = self._insert(statistics).values(
            user_id=user_id,
            total_workouts=1,
            total_duration=duration,
            total_calories_burned=calories,
        )
        conn.execute(
            insert.on_conflict_do_update(
                index_elements=[statistics.c.user_id],
                set_={
                    "total_workouts": statistics.c.total_workouts + 1,
                    "total_duration": statistics.c.total_duration + duration,
                    "total_calories_burned": statistics.c.total_calories_burned + calories,
                },
            )
        )

    def list_sessions(self, user_id: str, limit: int, after: Cursor | None) -> list[WorkoutSession]:
        """Keyset pagination on (start_time, session_id), newest first."""
        query = select(sessions).where(sessions.c.user_id == user_id)
        if after:
            query = query.where(
                or_(
                    sessions.c.start_time < after.start_time,
                    and_(
                        sessions.c.start_time == after.start_time,
                        sessions.c.session_id < after.session_id,
                    ),
                )
            )
        query = query.order_by(sessions.c.start_time.desc(), sessions.c.session_id.desc())
        with self._engine.connect() as conn:
            return [_to_session(row) for row in conn.execute(query.limit(limit)).mappings()]

    def get_statistics(self, user_id: str) -> Statistics:
        """Read the maintained totals: one primary-key lookup."""
        query = select(statistics).where(statistics.c.user_id == user_id)
        with self._engine.connect() as conn:
            row = conn.execute(query).mappings().first()
        return Statistics.from_totals(dict(row)) if row else Statistics()

    def totals_since(self, user_id: str, since: datetime) -> Totals:
        """One aggregate over the user's sessions ended since ``since``."""
        query = select(
            func.count(),
            func.coalesce(func.sum(sessions.c.duration), 0.0),
            func.coalesce(func.sum(sessions.c.calories_burned), 0.0),
        ).where(sessions.c.user_id == user_id, sessions.c.end_time >= since)
        with self._engine.connect() as conn:
            count, seconds, calories = conn.execute(query).one()
        return Totals(int(count), float(seconds) / 60, float(calories))

    def put_plan(self, plan: GoalPlan) -> bool:
        """Replace the goal's plan, remembering the replaced one."""
        with self._engine.begin() as conn:
            stored = self._plan_row(conn, plan.goal_id)
            if stored and stored["request_id"] == plan.request_id:
                return False
            previous = json.dumps(_plan_json(_to_plan(stored))) if stored else None
            row = {**_plan_row(plan), "previous": previous}
            upsert = self._insert(goal_plans).values(row)
            conn.execute(upsert.on_conflict_do_update(index_elements=["goal_id"], set_=row))
        return True

    def restore_plan(self, goal_id: str, put_request_id: str) -> None:
        """Put back the plan the given put replaced (or remove the plan it created)."""
        with self._engine.begin() as conn:
            stored = self._plan_row(conn, goal_id)
            if not stored or stored["request_id"] != put_request_id:
                return
            conn.execute(delete(goal_plans).where(goal_plans.c.goal_id == goal_id))
            if stored["previous"]:
                earlier = _plan_from_json(json.loads(stored["previous"]))
                conn.execute(goal_plans.insert().values(_plan_row(earlier)))

    def get_plan(self, goal_id: str) -> GoalPlan | None:
        """Return the goal's plan, if any."""
        with self._engine.connect() as conn:
            stored = self._plan_row(conn, goal_id)
        return _to_plan(stored) if stored else None

    def active_plans(self, user_id: str) -> list[GoalPlan]:
        """The user's active plans, nearest target date first."""
        query = (
            select(goal_plans)
            .where(goal_plans.c.user_id == user_id, goal_plans.c.active.is_(True))
            .order_by(goal_plans.c.target_date, goal_plans.c.goal_id)
        )
        with self._engine.connect() as conn:
            return [_to_plan(row) for row in conn.execute(query).mappings()]

    def delete_user_data(self, user_id: str) -> int:
        """Delete the user's rows from every table in one transaction."""
        with self._engine.begin() as conn:
            deleted = conn.execute(delete(sessions).where(sessions.c.user_id == user_id))
            conn.execute(delete(statistics).where(statistics.c.user_id == user_id))
            conn.execute(delete(goal_plans).where(goal_plans.c.user_id == user_id))
            conn.execute(delete(progress_outbox).where(progress_outbox.c.user_id == user_id))
        return int(deleted.rowcount)

    def _plan_row(self, conn: Connection, goal_id: str) -> RowMapping | None:
        query = select(goal_plans).where(goal_plans.c.goal_id == goal_id)
        if self._engine.dialect.name == "postgresql":
            query = query.with_for_update()
        return conn.execute(query).mappings().first()


def _plan_row(plan: GoalPlan) -> dict[str, Any]:
    return {**asdict(plan), "previous": None}


def _plan_json(plan: GoalPlan) -> dict[str, Any]:
    row = asdict(plan)
    return {
        **row,
        "target_date": plan.target_date.isoformat(),
        "start_time": plan.start_time.isoformat(),
    }


def _plan_from_json(data: dict[str, Any]) -> GoalPlan:
    return GoalPlan(
        **{
            **data,
            "goal_type": GoalType(data["goal_type"]),
            "target_date": date.fromisoformat(data["target_date"]),
            "start_time": datetime.fromisoformat(data["start_time"]),
        }
    )


def _to_plan(row: RowMapping) -> GoalPlan:
    fields = {name: row[name] for name in GoalPlan.__dataclass_fields__}
    return GoalPlan(
        **{
            **fields,
            "goal_type": GoalType(row["goal_type"]),
            "start_time": as_utc(row["start_time"]),
        }
    )


def _row(session: WorkoutSession, request_id: str) -> dict[str, Any]:
    return {
        "session_id": session.session_id,
        "user_id": session.user_id,
        "workout_type": session.workout_type,
        "start_time": session.start_time,
        "end_time": session.end_time,
        "duration": session.duration,
        "calories_burned": session.calories_burned,
        "request_id": request_id or None,
        "weight_kg": session.weight_kg,
    }


def _to_session(row: RowMapping) -> WorkoutSession:
    end_time = row["end_time"]
    return WorkoutSession(
        session_id=row["session_id"],
        user_id=row["user_id"],
        workout_type=row["workout_type"],
        start_time=as_utc(row["start_time"]),
        end_time=as_utc(end_time) if end_time else None,
        duration=row["duration"],
        calories_burned=row["calories_burned"],
        end_request_id=row["end_request_id"] or "",
        weight_kg=row["weight_kg"],
    )
