"""Weekly suggestions derived from a goal plan: pure rules."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from services.activity.suggestions import (
    GoalPlan,
    InfeasibleGoal,
    Totals,
    require_feasible,
    suggest,
)
from services.common.goal_types import GoalType

TODAY = date(2030, 1, 7)  # a Monday


def plan(goal_type: GoalType, target: float, day: date = date(2030, 1, 20)) -> GoalPlan:
    start = datetime(2030, 1, 1, tzinfo=UTC)
    return GoalPlan("g", "u", goal_type, target, day, start, True, "r")


def test_minutes_are_spread_over_the_weeks_left_in_sessions_of_about_45() -> None:
    found = suggest(plan(GoalType.ACTIVE_MINUTES, 300), Totals(), TODAY, 70)
    assert (found.weeks_left, found.weekly_target) == (2, 150.0)
    assert (found.sessions_per_week, found.minutes_per_session) == (4, 38)


def test_progress_already_made_shrinks_what_is_left() -> None:
    found = suggest(plan(GoalType.WORKOUTS_COUNT, 10), Totals(sessions=4), TODAY, 70)
    assert (found.progress, found.remaining) == (4, 6)
    assert (found.sessions_per_week, found.minutes_per_session) == (3, 30)


def test_calories_are_planned_at_moderate_effort_for_the_users_weight() -> None:
    light = suggest(plan(GoalType.CALORIES_BURNED, 3000), Totals(), TODAY, 50)
    heavy = suggest(plan(GoalType.CALORIES_BURNED, 3000), Totals(), TODAY, 100)
    assert (
        light.sessions_per_week * light.minutes_per_session
        > heavy.sessions_per_week * heavy.minutes_per_session
    )


def test_a_reached_goal_needs_no_more_sessions() -> None:
    found = suggest(plan(GoalType.ACTIVE_MINUTES, 60), Totals(minutes=75), TODAY, 70)
    assert (found.remaining, found.sessions_per_week, found.minutes_per_session) == (0, 0, 0)


def test_a_target_date_today_leaves_one_week() -> None:
    found = suggest(plan(GoalType.DISTANCE_KM, 16, day=TODAY), Totals(), TODAY, 70)
    assert found.weeks_left == 1
    assert found.sessions_per_week * found.minutes_per_session >= 120  # 16 km at 8 km/h


def test_a_target_beyond_sane_training_is_refused() -> None:
    require_feasible(suggest(plan(GoalType.ACTIVE_MINUTES, 1600), Totals(), TODAY, 70))
    with pytest.raises(InfeasibleGoal):
        require_feasible(suggest(plan(GoalType.ACTIVE_MINUTES, 5000), Totals(), TODAY, 70))
    with pytest.raises(InfeasibleGoal):
        require_feasible(suggest(plan(GoalType.WORKOUTS_COUNT, 40), Totals(), TODAY, 70))
