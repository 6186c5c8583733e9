"""REST request and response bodies: the seed's contract plus the documented extensions."""

from __future__ import annotations

from typing import Annotated, Any, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, WithJsonSchema, model_validator
from pydantic.json_schema import SkipJsonSchema

from gateway.routes.fields import (
    BirthYear,
    BodyId,
    DisplayName,
    Email,
    HeightCm,
    IsoDate,
    LoginPassword,
    Password,
    TargetValue,
    Timestamp,
    Username,
    WeightKg,
    WorkoutType,
)
from services.common.goal_types import GOAL_TYPE_NAMES, GoalType
from services.common.text import describe, unsafe_character

# The platform's goal types (fitness.goal.v1.GoalType) by their lower-case names. Not
# strict: a JSON body carries the name, never a GoalType, and pydantic's strict mode would
# want the instance. The schema is inline, as for the other enums of the API.
GoalTypeName = Annotated[
    GoalType,
    Field(strict=False),
    WithJsonSchema({"type": "string", "enum": list(GOAL_TYPE_NAMES)}),
]


class StrictBody(BaseModel):
    """Request bodies: unknown fields and wrongly typed values are rejected, not coerced."""

    model_config = ConfigDict(extra="forbid", strict=True)

    @model_validator(mode="after")
    def _no_unsafe_strings(self) -> Self:
        # A safety net for string fields declared without a gateway.routes.fields type.
        for name, value in self:
            for text in value if isinstance(value, list) else [value]:
                bad = unsafe_character(text, multiline=True) if isinstance(text, str) else None
                if bad is not None:
                    raise ValueError(f"{name} must not contain {describe(bad)}")
        return self


class ProfileFields(StrictBody):
    """Profile fields a user may set at registration or later."""

    display_name: DisplayName | None = None
    weight_kg: WeightKg | None = None
    height_cm: HeightCm | None = None
    birth_year: BirthYear | None = None


class RegisterRequest(ProfileFields):
    """POST /users/register."""

    username: Username
    email: Email
    password: Password


class RegisterResponse(BaseModel):
    """The account that was created."""

    user_id: str
    username: str
    email: str


class LoginRequest(StrictBody):
    """POST /users/login."""

    email: Email
    password: LoginPassword


class LoginResponse(BaseModel):
    """A bearer token for the Authorization header, and the refresh token that renews it."""

    token: str
    user_id: str
    token_type: str = "Bearer"
    expires_in: int
    refresh_token: str
    refresh_expires_in: int


class RefreshTokenBody(StrictBody):
    """POST /users/token/refresh and POST /users/logout."""

    refresh_token: str = Field(min_length=1, max_length=256)


class UserResponse(BaseModel):
    """A user and his profile (never the password hash)."""

    user_id: str
    username: str
    email: str
    display_name: str
    weight_kg: float | None
    height_cm: float | None
    birth_year: int | None
    created_at: str


class PatchBody(StrictBody):
    """PATCH bodies: only the fields present change; null is not a value."""

    @model_validator(mode="after")
    def _no_nulls(self) -> Self:
        nulls = sorted(name for name in self.model_fields_set if getattr(self, name) is None)
        if nulls:
            raise ValueError(f"fields may not be null: {', '.join(nulls)}")
        return self


class ProfilePatch(PatchBody):
    """PATCH /users/{user_id}: only the fields present change; null is not a value."""

    # Optional but not nullable: SkipJsonSchema keeps None (the "not sent" default) out
    # of the schema, and _no_nulls refuses an explicit null.
    display_name: DisplayName | SkipJsonSchema[None] = None
    weight_kg: WeightKg | SkipJsonSchema[None] = None
    height_cm: HeightCm | SkipJsonSchema[None] = None
    birth_year: BirthYear | SkipJsonSchema[None] = None

    def changes(self) -> dict[str, Any]:
        """The fields the client sent."""
        return self.model_dump(include=self.model_fields_set)


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


class NotificationResponse(BaseModel):
    """Something the platform told the user."""

    notification_id: str
    kind: str
    goal_id: str | None
    message: str
    created_at: str


class NotificationList(BaseModel):
    """GET /users/{user_id}/notifications, newest first."""

    notifications: list[NotificationResponse]


class GoalList(BaseModel):
    """GET /users/{user_id}/goals."""

    goals: list[GoalResponse]


class StartWorkoutRequest(StrictBody):
    """POST /workouts/start; user_id defaults to the caller and must be the caller."""

    user_id: BodyId | None = None
    workout_type: WorkoutType


class StartWorkoutResponse(BaseModel):
    """The running session."""

    session_id: str
    start_time: str
    user_id: str
    workout_type: str


class EndWorkoutRequest(StrictBody):
    """POST /workouts/{session_id}/end; end_time defaults to now."""

    end_time: Timestamp | None = Field(
        None, description="RFC 3339 with an offset; not before the start nor over 5 min ahead"
    )


class WorkoutResponse(BaseModel):
    """A session: duration in seconds, calories in kcal."""

    session_id: str
    user_id: str
    workout_type: str
    start_time: str
    end_time: str | None
    duration: float
    calories_burned: float


class WorkoutPage(BaseModel):
    """GET /users/{user_id}/workouts."""

    workouts: list[WorkoutResponse]
    next_page_token: str


class StatisticsResponse(BaseModel):
    """GET /users/{user_id}/statistics; durations in seconds."""

    total_workouts: int
    total_duration: float
    total_calories_burned: float
    average_session_duration: float


class WorkoutTypeResponse(BaseModel):
    """A workout type and its MET value."""

    name: str
    met: float
    description: str


class ErrorDetail(BaseModel):
    """What went wrong."""

    code: int = Field(description="HTTP status code")
    status: str = Field(description="Canonical status name, e.g. NOT_FOUND")
    message: str


class ErrorBody(BaseModel):
    """The one error shape of the API."""

    error: ErrorDetail
