"""REST bodies of changes run as sagas: the 202 answer and the status to follow."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from gateway.routes.schemas.common import ErrorDetail


class ChangeAccepted(BaseModel):
    """202: the change is accepted, its outcome not known yet; follow change_url (Location)."""

    saga_id: str
    status: str = Field(
        description="running or compensating; unknown when the coordinator's answer was lost"
    )
    change_url: str = Field(description="GET it until done: the outcome of this change")
    goal_id: str | None = Field(None, description="The goal changed, when known")
    goal_url: str | None = None


ChangeState = Literal[
    "running", "compensating", "completed", "compensated", "needs_attention", "not_accepted"
]


class ChangeStatus(BaseModel):
    """GET /users/{user_id}/changes/{saga_id}: where a change run as a saga stands."""

    saga_id: str
    kind: str = Field(
        description="create_goal, update_goal, delete_goal, delete_user; not_accepted for a "
        "change that never reached the coordinator"
    )
    status: ChangeState
    done: bool = Field(description="Whether the status is final")
    applied: bool = Field(description="Whether the change took effect (status completed)")
    goal_id: str | None = None
    goal_url: str | None = None
    error: ErrorDetail | None = Field(
        None, description="Why the change was undone or not accepted, in the error shape"
    )
