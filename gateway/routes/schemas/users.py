"""REST bodies of accounts, sessions, profiles and notifications."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field
from pydantic.json_schema import SkipJsonSchema

from gateway.routes.fields import (
    BirthYear,
    DisplayName,
    Email,
    HeightCm,
    LoginPassword,
    Password,
    Username,
    WeightKg,
)
from gateway.routes.schemas.common import PatchBody, StrictBody


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
