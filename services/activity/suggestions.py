"""Goal plans and the weekly suggestions derived from them: pure rules, no I/O."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, datetime

from services.activity.domain import DomainError, InvalidInput, calories_burned
from services.common.goal_types import GoalType

# A planned session lasts about this long; more weekly minutes mean more sessions.
SESSION_MINUTES = 45
# What a session of a workouts_count goal is planned at.
COUNT_SESSION_MINUTES = 30
MAX_SESSIONS_PER_WEEK = 14
MAX_MINUTES_PER_SESSION = 240
# Calorie goals are planned at a moderate effort (rowing, 7 METs)...
PLANNING_MET = 7.0
# ...and distance goals at a jogging pace, since sessions record no distance.
PLANNING_PACE_KMH = 8.0


class InfeasibleGoal(DomainError):
    """The target cannot be reached by its date within sane weekly training."""


@dataclass(frozen=True)
class GoalPlan:
    """What the activity service knows of a goal to suggest workouts for it."""

    goal_id: str
    user_id: str
    goal_type: GoalType
    target_value: float
    target_date: date
    start_time: datetime
    active: bool
    request_id: str


@dataclass(frozen=True)
class Totals:
    """Ended workouts of a user since some moment."""

    sessions: int = 0
    minutes: float = 0.0
    calories: float = 0.0

    def toward(self, goal_type: GoalType) -> float:
        """Progress toward a goal of this type (sessions carry no distance)."""
        return {
            GoalType.WORKOUTS_COUNT: float(self.sessions),
            GoalType.ACTIVE_MINUTES: self.minutes,
            GoalType.CALORIES_BURNED: self.calories,
            GoalType.DISTANCE_KM: 0.0,
        }[goal_type]


@dataclass(frozen=True)
class Suggestion:
    """This week's share of the work left on one goal."""

    plan: GoalPlan
    progress: float
    remaining: float
    weeks_left: int
    sessions_per_week: int
    minutes_per_session: int
    weekly_target: float


def validated_plan(plan: GoalPlan) -> GoalPlan:
    """Reject a plan with a non-positive target or without its ids."""
    if not (math.isfinite(plan.target_value) and plan.target_value > 0):
        raise InvalidInput("target_value must be greater than 0")
    if not (plan.goal_id and plan.user_id):
        raise InvalidInput("goal_id and user_id are required")
    return plan


def suggest(plan: GoalPlan, done: Totals, today: date, weight_kg: float) -> Suggestion:
    """Spread what is left of the goal evenly over the weeks until its date."""
    progress = done.toward(plan.goal_type)
    remaining = max(0.0, plan.target_value - progress)
    weeks_left = max(1, math.ceil(((plan.target_date - today).days + 1) / 7))
    weekly = remaining / weeks_left
    sessions, minutes = _sessions(plan.goal_type, weekly, weight_kg)
    return Suggestion(plan, progress, remaining, weeks_left, sessions, minutes, round(weekly, 2))


def require_feasible(suggestion: Suggestion) -> None:
    """Refuse a goal whose weekly share exceeds the training limits."""
    if (
        suggestion.sessions_per_week > MAX_SESSIONS_PER_WEEK
        or suggestion.minutes_per_session > MAX_MINUTES_PER_SESSION
    ):
        raise InfeasibleGoal(
            f"reaching {suggestion.plan.target_value:g} {suggestion.plan.goal_type} by "
            f"{suggestion.plan.target_date} needs {suggestion.sessions_per_week} sessions of "
            f"{suggestion.minutes_per_session} minutes a week"
        )


def _sessions(goal_type: GoalType, weekly: float, weight_kg: float) -> tuple[int, int]:
    """Sessions per week and minutes per session for a weekly share of the goal."""
    if weekly <= 0:
        return 0, 0
    if goal_type is GoalType.WORKOUTS_COUNT:
        return math.ceil(weekly), COUNT_SESSION_MINUTES
    minutes = _weekly_minutes(goal_type, weekly, weight_kg)
    sessions = min(7, max(1, math.ceil(minutes / SESSION_MINUTES)))
    return sessions, math.ceil(minutes / sessions)


def _weekly_minutes(goal_type: GoalType, weekly: float, weight_kg: float) -> float:
    if goal_type is GoalType.CALORIES_BURNED:
        per_minute = calories_burned(PLANNING_MET, weight_kg, 60)
        return weekly / per_minute
    if goal_type is GoalType.DISTANCE_KM:
        return weekly / PLANNING_PACE_KMH * 60
    return weekly
