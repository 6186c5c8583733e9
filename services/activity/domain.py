"""Workout sessions, calorie estimates and statistics."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from services.common.dependency import DependencyUnavailable


class DomainError(Exception):
    """Base of the errors a use case reports to its caller."""


class InvalidInput(DomainError):
    """A value breaks a documented rule."""


class UnknownWorkoutType(InvalidInput):
    """The workout type is not in the MET table."""


class EndBeforeStart(InvalidInput):
    """The end time precedes the session's start."""


class SessionNotFound(DomainError):
    """No session has this id."""


class NotSessionOwner(DomainError):
    """The session belongs to another user."""


class SessionAlreadyEnded(DomainError):
    """The session was already ended by an earlier request."""


class UnknownUser(DomainError):
    """The user service does not know this user (never registered, deleted or being deleted)."""


class UserServiceUnavailable(DomainError, DependencyUnavailable):
    """The user service could not be reached to read the body weight."""


@dataclass(frozen=True)
class WorkoutType:
    """A kind of workout and its energy cost in METs."""

    name: str
    met: float
    description: str


# MET values from the 2011 Compendium of Physical Activities (Ainsworth et al.).
WORKOUT_TYPES: dict[str, WorkoutType] = {
    t.name: t
    for t in (
        WorkoutType("cycling", 7.5, "bicycling, general"),
        WorkoutType("dancing", 7.3, "aerobic dance, general"),
        WorkoutType("elliptical", 5.0, "elliptical trainer, moderate effort"),
        WorkoutType("hiit", 8.0, "circuit training, vigorous effort"),
        WorkoutType("hiking", 6.0, "hiking, cross country"),
        WorkoutType("rowing", 7.0, "rowing, stationary, 100 watts, moderate effort"),
        WorkoutType("running", 9.8, "running, 6 mph (10 min/mile)"),
        WorkoutType("strength_training", 3.5, "resistance training, multiple exercises"),
        WorkoutType("swimming", 5.8, "swimming laps, freestyle, light or moderate effort"),
        WorkoutType("walking", 3.5, "walking, 2.8-3.2 mph, level, moderate pace"),
        WorkoutType("yoga", 2.5, "yoga, hatha"),
    )
}

# Used when the user has not entered a weight; documented in docs/activity.md.
DEFAULT_WEIGHT_KG = 70.0
# End times this far past the server clock are rejected as client clock errors.
MAX_CLOCK_SKEW_SECONDS = 300


@dataclass(frozen=True)
class WorkoutSession:
    """One workout; end_time is None while it runs."""

    session_id: str
    user_id: str
    workout_type: str
    start_time: datetime
    end_time: datetime | None = None
    duration: float = 0.0
    calories_burned: float = 0.0
    end_request_id: str = ""
    # Body weight read when the session started, for its calories: ending needs no user
    # service. None only on sessions started before it was kept (read when they end).
    weight_kg: float | None = None


def progress_request_id(session_id: str) -> str:
    """The one request_id every delivery of a session's progress carries: it counts once."""
    return f"progress:{session_id}"


@dataclass(frozen=True)
class ProgressEvent:
    """An ended workout the user service is still to count toward its owner's goals.

    Written in the transaction that ends the session (the outbox), so it cannot be lost;
    ``event_id`` is the request_id of every delivery, which makes a repeat harmless.
    """

    event_id: str
    user_id: str
    session_id: str
    end_time: datetime
    duration: float
    calories_burned: float
    attempts: int = 0
    # The request id of the end that queued it: its delivery is logged under it everywhere.
    trace_id: str = ""

    @classmethod
    def of(cls, session: WorkoutSession) -> ProgressEvent:
        """The progress event of an ended session."""
        if session.end_time is None:
            raise ValueError("a running session has no progress to count yet")
        return cls(
            progress_request_id(session.session_id),
            session.user_id,
            session.session_id,
            session.end_time,
            session.duration,
            session.calories_burned,
        )


@dataclass(frozen=True)
class Statistics:
    """Lifetime totals over a user's ended sessions, maintained on every end."""

    total_workouts: int = 0
    total_duration: float = 0.0
    total_calories_burned: float = 0.0

    @classmethod
    def from_totals(cls, totals: Mapping[str, Any]) -> Statistics:
        """Read the three totals from a stored row or document."""
        return cls(
            total_workouts=totals["total_workouts"],
            total_duration=totals["total_duration"],
            total_calories_burned=totals["total_calories_burned"],
        )

    @property
    def average_session_duration(self) -> float:
        """Mean duration in seconds; 0 without workouts."""
        return self.total_duration / self.total_workouts if self.total_workouts else 0.0


@dataclass(frozen=True)
class Cursor:
    """Position after the last session of a page, in newest-first order."""

    start_time: datetime
    session_id: str


def workout_type(name: str) -> WorkoutType:
    """Look up a workout type, refusing to guess for unknown names."""
    try:
        return WORKOUT_TYPES[name]
    except KeyError:
        known = ", ".join(sorted(WORKOUT_TYPES))
        raise UnknownWorkoutType(f"unknown workout_type {name!r}; known: {known}") from None


def calories_burned(met: float, weight_kg: float, duration_seconds: float) -> float:
    """Kilocalories: MET x body weight in kg x hours, to one decimal."""
    return round(met * weight_kg * duration_seconds / 3600.0, 1)
