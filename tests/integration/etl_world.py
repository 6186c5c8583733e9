"""A small world for ETL tests: real source stores written through the services'
repositories on a controllable clock, and a real PostgreSQL warehouse."""

from __future__ import annotations

import os
import uuid
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from deploy import embedded_postgres
from etl.__main__ import MIGRATIONS as WAREHOUSE_MIGRATIONS
from etl.domain import Interval, RunReport, Window
from etl.pipeline import EtlDeps, days_interval, nightly_interval, run_etl
from etl.sources import ActivitySource, SqlActivitySource, SqlUserSource
from etl.warehouse import Warehouse
from services.activity.__main__ import MIGRATIONS as ACTIVITY_MIGRATIONS
from services.activity.domain import WorkoutSession
from services.activity.sql_repository import SqlWorkoutRepository
from services.common.db import make_engine, migrate
from services.user.__main__ import MIGRATIONS as USER_MIGRATIONS
from services.user.domain import Goal, GoalStatus, GoalType, Profile, User
from services.user.repository import GoalWrite
from services.user.sql_repository import SqlUserRepository

LOOKBACK = timedelta(hours=6)


def at(day: date, hour: int, minute: int = 0) -> datetime:
    """A UTC moment on a day."""
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=UTC)


class EtlWorld:
    """Source stores, a warehouse and a clock the test moves."""

    def __init__(self, user_url: str, activity_url: str, warehouse_url: str) -> None:
        self.now = datetime(2026, 3, 1, tzinfo=UTC)
        self.user_engine = make_engine(user_url, pool_size=2)
        self.activity_engine = make_engine(activity_url, pool_size=2)
        migrate(self.user_engine, USER_MIGRATIONS)
        migrate(self.activity_engine, ACTIVITY_MIGRATIONS)
        migrate(make_engine(warehouse_url, pool_size=1), WAREHOUSE_MIGRATIONS)
        self.users = SqlUserRepository(self.user_engine, self.clock)
        self.workouts = SqlWorkoutRepository(self.activity_engine, self.clock)
        self.warehouse = Warehouse(warehouse_url)
        self.deps = EtlDeps(
            users=SqlUserSource(self.user_engine),
            activity=SqlActivitySource(self.activity_engine),
            warehouse=self.warehouse,
            lookback=LOOKBACK,
            clock=self.clock,
        )

    def clock(self) -> datetime:
        """The world's current time."""
        return self.now

    def register(self, name: str, weight: float, when: datetime) -> str:
        """A new user, registered at ``when``."""
        self.now = when
        user = User(
            str(uuid.uuid4()),
            name,
            f"{name}@example.com",
            "hash",
            Profile(display_name=name.title(), weight_kg=weight),
            when,
        )
        return self.users.add_user(user, "").user_id

    def change_weight(self, user_id: str, weight: float, when: datetime) -> None:
        """The user edits his profile at ``when``."""
        self.now = when
        self.users.update_profile(user_id, {"weight_kg": weight})

    def workout(
        self,
        user_id: str,
        start: datetime,
        minutes: float = 30,
        kcal: float = 250.0,
        kind: str = "running",
        recorded: datetime | None = None,
    ) -> str:
        """A workout started at ``start`` and ended (recorded) at ``recorded`` (or its end)."""
        end = start + timedelta(minutes=minutes)
        self.now = start
        session = WorkoutSession(str(uuid.uuid4()), user_id, kind, start)
        self.workouts.add_session(session, "")
        self.now = recorded or end
        self.workouts.complete_session(session.session_id, end, minutes * 60, kcal, "")
        return session.session_id

    def goal(self, user_id: str, target: float, when: datetime, **changes: Any) -> Goal:
        """A committed goal created at ``when``."""
        self.now = when
        goal = Goal(
            str(uuid.uuid4()),
            user_id,
            GoalType.WORKOUTS_COUNT,
            target,
            (when + timedelta(days=30)).date(),
            0.0,
            GoalStatus.ACTIVE,
            when,
        )
        goal = replace(goal, **changes)
        self.users.write_goals(str(uuid.uuid4()), [GoalWrite(None, goal)], when)
        return goal

    def delete_goal(self, goal: Goal, when: datetime) -> None:
        """The goal's deletion commits at ``when``."""
        self.users.write_goals(str(uuid.uuid4()), [GoalWrite(goal, None)], when)

    def erase(self, user_id: str, when: datetime) -> None:
        """The account deletion saga's steps for the user, all at ``when``."""
        self.now = when
        saga = str(uuid.uuid4())
        self.users.mark_deleting(user_id, saga, f"{saga}:mark", when)
        self.workouts.delete_user_data(user_id)
        self.users.erase_user(user_id, f"{saga}:erase", when)

    def load(self, first: date, last: date | None = None, **deps: Any) -> RunReport:
        """``etl run --from first --to last`` (one day without ``last``)."""
        return run_etl(replace(self.deps, **deps), days_interval(first, last or first))

    def nightly(self, now: datetime, **deps: Any) -> RunReport | None:
        """The scheduled run at ``now``: everything up to that day's midnight."""
        self.now = now
        interval = nightly_interval(self.deps)
        return run_etl(replace(self.deps, **deps), interval) if interval else None

    def rows(self, statement: str, *params: object) -> list[tuple[Any, ...]]:
        """Rows of a warehouse query."""
        return self.warehouse.query(statement, params)[1]

    def scalar(self, statement: str, *params: object) -> Any:
        """The single value of a warehouse query."""
        return self.rows(statement, *params)[0][0]

    def snapshot(self) -> dict[str, list[tuple[Any, ...]]]:
        """Every warehouse table's rows, in a stable order."""
        return snapshot(self.warehouse)

    def watermarks(self) -> dict[str, datetime]:
        """The warehouse's watermarks."""
        return self.warehouse.watermarks()

    def interval(self, first: date, last: date) -> Interval:
        """The interval of ``--from first --to last``."""
        return days_interval(first, last)


def new_warehouse_url(server_url: str) -> str:
    """Another empty, migrated warehouse on the same server: its URL."""
    url = embedded_postgres.create_database(server_url, f"wh_{uuid.uuid4().hex[:12]}")
    migrate(make_engine(url, pool_size=1), WAREHOUSE_MIGRATIONS)
    return url


def new_warehouse(server_url: str) -> Warehouse:
    """Another empty, migrated warehouse on the same server."""
    return Warehouse(new_warehouse_url(server_url))


def snapshot(warehouse: Warehouse) -> dict[str, list[tuple[Any, ...]]]:
    """Every warehouse table's rows, in a stable order."""
    tables = ("dim_date", "dim_user", "fact_workout", "fact_goal", "agg_daily_activity")
    return {table: warehouse.query(f"SELECT * FROM {table} ORDER BY 1, 2")[1] for table in tables}


class DroppingActivitySource:
    """An activity source whose extract silently loses one row: a bug to be caught."""

    def __init__(self, inner: ActivitySource, drop: str) -> None:
        self._inner = inner
        self._drop = drop

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    def workouts(self, window: Window) -> Any:
        """Every workout but the dropped one."""
        return (w for w in self._inner.workouts(window) if w.session_id != self._drop)


class FailingActivitySource(DroppingActivitySource):
    """An activity source whose connection breaks after some rows of the extract."""

    def __init__(self, inner: ActivitySource, after_rows: int) -> None:
        super().__init__(inner, "")
        self._after = after_rows

    def workouts(self, window: Window) -> Any:
        """Some workouts, then a broken connection."""
        for index, workout in enumerate(self._inner.workouts(window)):
            if index == self._after:
                raise ConnectionError("activity store went away mid-extract")
            yield workout


def etl_env(tmp_path: Path, warehouse_url: str) -> dict[str, str]:
    """The environment of an ETL process over the test stores."""
    return {
        **os.environ,
        "ETL_WAREHOUSE_URL": warehouse_url,
        "ETL_USER_DATABASE_URL": f"sqlite:///{tmp_path / 'user.db'}",
        "ETL_ACTIVITY_DATABASE_URL": f"sqlite:///{tmp_path / 'activity.db'}",
    }
