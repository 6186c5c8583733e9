"""Goals created the only way there is: the create_goal saga's prepare and commit steps."""

from __future__ import annotations

from datetime import date

from services.user import goal_changes
from services.user.domain import Goal, GoalOperation, GoalType
from services.user.goal_changes import GoalChange
from services.user.service import UserDeps


def saga_created_goal(
    deps: UserDeps,
    user_id: str,
    goal_type: GoalType,
    target_value: float,
    target_date: date,
    saga_id: str,
) -> Goal:
    """Prepare and commit a new goal as saga ``saga_id`` would; the goal id is the saga's."""
    goal_id = f"goal-{saga_id}"
    change = GoalChange(
        saga_id, user_id, goal_id, GoalOperation.CREATE, goal_type, target_value, target_date
    )
    goal_changes.prepare_goal_change(deps, change, f"{saga_id}:prepare")
    committed = goal_changes.commit_goal_change(
        deps, saga_id, user_id, goal_id, f"{saga_id}:commit"
    )
    assert committed is not None
    return committed
