"""The goal sagas, declared as data over the participants' port."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any, Protocol

from saga_coordinator.domain import InvalidRequest
from saga_coordinator.engine import SagaDefinition, Step, StepCall
from services.common.goal_types import GOAL_TYPE_NAMES, GoalType

# Goal ids of created goals derive from the saga id, so every replay names the same goal.
GOAL_ID_NAMESPACE = uuid.UUID("1f0c2b7a-4d3e-4a5b-9c8d-6e7f8a9b0c1d")


class GoalParticipants(Protocol):
    """Port: the participant calls the goal sagas are made of."""

    async def prepare_goal_change(self, call: StepCall) -> Mapping[str, Any]:
        """User service: create the pending goal, or claim the goal for this saga."""
        ...

    async def cancel_goal_change(self, call: StepCall) -> None:
        """User service: forget the prepared change."""
        ...

    async def put_goal_plan(self, call: StepCall) -> None:
        """Activity service: store the plan behind the goal's suggestions."""
        ...

    async def restore_goal_plan(self, call: StepCall) -> None:
        """Activity service: undo put_goal_plan."""
        ...

    async def commit_goal_change(self, call: StepCall) -> None:
        """User service: apply the prepared change."""
        ...


def goal_sagas(participants: GoalParticipants) -> dict[str, SagaDefinition]:
    """create_goal, update_goal and delete_goal: the same three steps, different data."""
    steps = (
        Step(
            "prepare_goal_change",
            participants.prepare_goal_change,
            participants.cancel_goal_change,
        ),
        Step("plan_suggestions", participants.put_goal_plan, participants.restore_goal_plan),
        # The pivot: once the user service applied the change there is no going back.
        Step("commit_goal_change", participants.commit_goal_change, compensation=None),
    )
    names = ("create_goal", "update_goal", "delete_goal")
    return {name: SagaDefinition(name, steps) for name in names}


def create_goal_data(
    saga_id: str, user_id: str, goal_type: GoalType | None, target_value: float, target_date: str
) -> dict[str, Any]:
    """The saga data of a goal creation; the goal id is derived from the saga id."""
    if goal_type is None:
        raise InvalidRequest(f"goal_type must be one of {', '.join(GOAL_TYPE_NAMES)}")
    goal_id = str(uuid.uuid5(GOAL_ID_NAMESPACE, saga_id))
    # The log keeps the REST name: sagas logged before the enum existed read the same.
    return {
        **_target(user_id, goal_id, "create", target_value, target_date),
        "goal_type": goal_type.value,
    }


def update_goal_data(
    user_id: str, goal_id: str, target_value: float, target_date: str
) -> dict[str, Any]:
    """The saga data of a change of target."""
    return _target(user_id, goal_id, "update", target_value, target_date)


def delete_goal_data(user_id: str, goal_id: str) -> dict[str, Any]:
    """The saga data of a goal deletion."""
    _require(user_id=user_id, goal_id=goal_id)
    return {"user_id": user_id, "goal_id": goal_id, "operation": "delete"}


def _target(
    user_id: str, goal_id: str, operation: str, target_value: float, target_date: str
) -> dict[str, Any]:
    _require(user_id=user_id, goal_id=goal_id, target_date=target_date)
    return {
        "user_id": user_id,
        "goal_id": goal_id,
        "operation": operation,
        "target_value": target_value,
        "target_date": target_date,
    }


def _require(**values: str) -> None:
    missing = [name for name, value in values.items() if not value]
    if missing:
        raise InvalidRequest(f"required: {', '.join(missing)}")
