"""REST request and response bodies: the seed's contract plus the documented extensions."""

from __future__ import annotations

from gateway.routes.schemas.changes import ChangeAccepted, ChangeState, ChangeStatus
from gateway.routes.schemas.common import (
    ErrorBody,
    ErrorDetail,
    GoalTypeName,
    PatchBody,
    StrictBody,
)
from gateway.routes.schemas.goals import (
    GoalList,
    GoalPatch,
    GoalRequest,
    GoalResponse,
    PendingChange,
    SuggestionList,
    SuggestionResponse,
)
from gateway.routes.schemas.users import (
    LoginRequest,
    LoginResponse,
    NotificationList,
    NotificationResponse,
    ProfileFields,
    ProfilePatch,
    RefreshTokenBody,
    RegisterRequest,
    RegisterResponse,
    UserResponse,
)
from gateway.routes.schemas.workouts import (
    EndWorkoutRequest,
    StartWorkoutRequest,
    StartWorkoutResponse,
    StatisticsResponse,
    WorkoutPage,
    WorkoutResponse,
    WorkoutTypeResponse,
)

__all__ = [
    "ChangeAccepted",
    "ChangeState",
    "ChangeStatus",
    "EndWorkoutRequest",
    "ErrorBody",
    "ErrorDetail",
    "GoalList",
    "GoalPatch",
    "GoalRequest",
    "GoalResponse",
    "GoalTypeName",
    "LoginRequest",
    "LoginResponse",
    "NotificationList",
    "NotificationResponse",
    "PatchBody",
    "PendingChange",
    "ProfileFields",
    "ProfilePatch",
    "RefreshTokenBody",
    "RegisterRequest",
    "RegisterResponse",
    "StartWorkoutRequest",
    "StartWorkoutResponse",
    "StatisticsResponse",
    "StrictBody",
    "SuggestionList",
    "SuggestionResponse",
    "UserResponse",
    "WorkoutPage",
    "WorkoutResponse",
    "WorkoutTypeResponse",
]
