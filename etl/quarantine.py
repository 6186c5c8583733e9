"""Which source rows the warehouse cannot hold, and why: pure checks, no I/O.

A row the warehouse cannot store (a NUL, which PostgreSQL text refuses; a lone surrogate,
which is no Unicode at all; a value longer than its column; a number its column cannot
hold) must not stop the night: it is set aside in ``etl_quarantine`` and counted, and the
rest of the batch loads. The gateway refuses such input today; the stores may still hold
rows written before it did, or by a direct caller.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Generic, TypeVar

from etl.domain import GOALS, USERS, WORKOUTS, GoalRecord, UserRecord, WorkoutRecord
from etl.transform import day_key, parse_timestamp

R = TypeVar("R", GoalRecord, UserRecord, WorkoutRecord)
INT4 = (-(2**31), 2**31 - 1)
# How much of a quarantined row is kept for a person to read.
RECORD_CHARS = 2000


def text_problem(name: str, value: object, max_chars: int) -> str | None:
    """Why a text value cannot be stored in a varchar(max_chars) column, or None."""
    if not isinstance(value, str):
        return f"{name} is not text"
    if "\x00" in value:
        return f"{name} contains a NUL character"
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return f"{name} is not valid Unicode (a lone surrogate)"
    if len(value) > max_chars:
        return f"{name} is longer than {max_chars} characters"
    return None


def number_problem(name: str, value: object, optional: bool = False) -> str | None:
    """Why a value cannot be stored as a finite double precision, or None."""
    if value is None and optional:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        return f"{name} is not a number"
    if not math.isfinite(value):
        return f"{name} is not finite"
    return None


def int4_problem(name: str, value: object) -> str | None:
    """Why a value cannot be stored as an optional PostgreSQL integer, or None."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        return f"{name} is not an integer"
    if not INT4[0] <= value <= INT4[1]:
        return f"{name} is outside the integer range"
    return None


def user_problem(user: UserRecord) -> str | None:
    """Why a user row cannot be loaded into dim_user, or None."""
    return _first(
        text_problem("user_id", user.user_id, 36),
        text_problem("username", user.username, 32),
        text_problem("display_name", user.display_name, 64),
        number_problem("weight_kg", user.weight_kg, optional=True),
        number_problem("height_cm", user.height_cm, optional=True),
        int4_problem("birth_year", user.birth_year),
    )


def goal_problem(goal: GoalRecord) -> str | None:
    """Why a goal row cannot be loaded into fact_goal, or None."""
    return _first(
        text_problem("goal_id", goal.goal_id, 36),
        text_problem("user_id", goal.user_id, 36),
        text_problem("goal_type", goal.goal_type, 32),
        text_problem("status", goal.status, 16),
        number_problem("target_value", goal.target_value),
        number_problem("current_progress", goal.current_progress),
    )


def workout_problem(workout: WorkoutRecord) -> str | None:
    """Why a workout row cannot be loaded into fact_workout, or None."""
    return _first(
        text_problem("session_id", workout.session_id, 36),
        text_problem("user_id", workout.user_id, 36),
        text_problem("workout_type", workout.workout_type.strip(), 32)
        if isinstance(workout.workout_type, str)
        else "workout_type is not text",
        number_problem("duration", workout.duration),
        number_problem("calories_burned", workout.calories_burned),
        time_problem("start_time", workout.start_time),
        time_problem("end_time", workout.end_time),
        time_problem("updated_at", workout.updated_at),
    )


def time_problem(name: str, value: object) -> str | None:
    """Why a time (a datetime, or the UTC text SQLite keeps) cannot be loaded, or None."""
    if isinstance(value, datetime):
        return None
    if not isinstance(value, str):
        return f"{name} is not a time"
    try:
        parse_timestamp(value)
        day_key(value)
    except (ValueError, OverflowError):
        return f"{name} is not a time"
    return None


def _first(*problems: str | None) -> str | None:
    return next((problem for problem in problems if problem), None)


def printable(value: object, limit: int = RECORD_CHARS) -> str:
    """Text PostgreSQL can hold that shows ``value`` to a person: NULs and lone
    surrogates escaped, cut at ``limit`` characters."""
    text = value if isinstance(value, str) else repr(value)
    text = text.encode("utf-8", "backslashreplace").decode("utf-8").replace("\x00", "\\x00")
    return text[:limit]


@dataclass(frozen=True)
class Quarantined:
    """A source row set aside: which source, its key, why, and the row as text.

    A workout keeps its day and sums too, so reconciliation can count it as accounted for.
    """

    source: str
    record_key: str
    user_id: str
    reason: str
    record: str
    totals: tuple[Any, ...] | None = None  # workouts: (start, duration, calories, updated_at)


@dataclass
class Screen(Generic[R]):
    """Passes the rows of one source that the warehouse can hold; keeps the others.

    ``held`` are the keys already in quarantine: those that now pass are ``released``.
    """

    source: str
    problem: Callable[[R], str | None]
    records: Iterable[R]
    held: frozenset[str] = frozenset()
    set_aside: list[Quarantined] = field(default_factory=list)
    released: list[str] = field(default_factory=list)

    def rows(self) -> Iterator[R]:
        """The loadable rows, in order (once: the records are a stream)."""
        for record in self.records:
            reason = self.problem(record)
            key = printable(record[0], 200)
            if reason:
                self.set_aside.append(_quarantined(self.source, key, reason, record))
            else:
                if key in self.held:
                    self.released.append(key)
                yield record


def _quarantined(source: str, key: str, reason: str, record: Any) -> Quarantined:
    totals = None
    if isinstance(record, WorkoutRecord) and not _bad_times(record):
        duration, calories = _float(record.duration), _float(record.calories_burned)
        totals = (record.start_time, duration, calories, record.updated_at)
    user_id = printable(record[0] if isinstance(record, UserRecord) else record[1], 200)
    return Quarantined(source, key, user_id, reason, printable(tuple(record)), totals)


def _bad_times(workout: WorkoutRecord) -> bool:
    """A workout whose day or change time is unreadable has no day to be counted on."""
    times = (("start_time", workout.start_time), ("updated_at", workout.updated_at))
    return any(time_problem(name, value) for name, value in times)


def _float(value: object) -> float:
    """A number as stored for reconciliation; what is not one counts as nothing."""
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else 0.0


PROBLEMS: dict[str, Callable[[Any], str | None]] = {
    USERS: user_problem,
    GOALS: goal_problem,
    WORKOUTS: workout_problem,
}
