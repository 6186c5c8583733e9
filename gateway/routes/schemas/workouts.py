"""REST bodies of workout sessions, statistics and workout types."""

from __future__ import annotations

from pydantic import BaseModel, Field

from gateway.routes.fields import BodyId, Timestamp, WorkoutType
from gateway.routes.schemas.common import StrictBody


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
