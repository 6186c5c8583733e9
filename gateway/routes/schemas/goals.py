"""REST bodies of goals and the weekly suggestions."""

from __future__ import annotations

from typing import Literal, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator
from pydantic.json_schema import SkipJsonSchema

from gateway.routes.fields import IsoDate, TargetValue
from gateway.routes.schemas.common import GoalTypeName, PatchBody, StrictBody


class GoalRequest(StrictBody):
    """POST /users/{user_id}/goals."""

    goal_type: GoalTypeName
    target_value: TargetValue
    target_date: IsoDate = Field(description="YYYY-MM-DD, today or later")


class GoalPatch(PatchBody):
    """PATCH /users/{user_id}/goals/{goal_id}: a new target value, date, or both."""

    model_config = ConfigDict(json_schema_extra={"minProperties": 1})

    # Optional but not nullable, as in ProfilePatch.
    target_value: TargetValue | SkipJsonSchema[None] = None
    target_date: IsoDate | SkipJsonSchema[None] = Field(
        None, description="YYYY-MM-DD, today or later"
    )

    @model_validator(mode="after")
    def _something(self) -> Self:
        if self.target_value is None and self.target_date is None:
            raise ValueError("send target_value, target_date or both")
        return self


class PendingChange(BaseModel):
    """A change being carried out on a goal by a saga."""

    operation: Literal["create", "update", "delete"]
    saga_id: str


class GoalResponse(BaseModel):
    """A goal: the seed's fields plus status, creation time and any change in progress."""

    goal_id: str
    goal_type: GoalTypeName
    target_value: float
    target_date: str
    current_progress: float
    status: Literal["active", "achieved"]
    created_at: str
    achieved_at: str | None = None
    pending: PendingChange | None = Field(
        None, description="Set while a change of this goal is still being carried out"
    )


class GoalList(BaseModel):
    """GET /users/{user_id}/goals."""

    goals: list[GoalResponse]


class SuggestionResponse(BaseModel):
    """This week's share of one goal."""

    goal_id: str
    goal_type: GoalTypeName
    target_value: float
    target_date: str
    progress: float
    remaining: float
    weeks_left: int
    sessions_per_week: int
    minutes_per_session: int
    weekly_target: float


class SuggestionList(BaseModel):
    """GET /users/{user_id}/suggestions: the weekly plan, nearest target date first."""

    suggestions: list[SuggestionResponse]
