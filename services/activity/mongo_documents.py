"""Workout sessions and goal plans to and from their MongoDB documents."""

from __future__ import annotations

from dataclasses import asdict
from datetime import UTC, date, datetime, time

from services.activity.domain import WorkoutSession
from services.activity.mongo_client import Document
from services.activity.suggestions import GoalPlan
from services.common.goal_types import GoalType
from services.common.timeutil import as_utc


def plan_document(plan: GoalPlan) -> Document:
    """The plan as stored: keyed by goal_id, its target day as a UTC datetime."""
    document = asdict(plan)
    # BSON has no date type: a target day is stored as its UTC midnight.
    document["target_date"] = datetime.combine(plan.target_date, time(), tzinfo=UTC)
    document["_id"] = document.pop("goal_id")
    return document


def to_plan(document: Document) -> GoalPlan:
    """The plan a stored document holds."""
    target: datetime = document["target_date"]
    return GoalPlan(
        goal_id=document["_id"],
        user_id=document["user_id"],
        goal_type=GoalType(document["goal_type"]),
        target_value=document["target_value"],
        target_date=date(target.year, target.month, target.day),
        start_time=as_utc(document["start_time"]),
        active=document["active"],
        request_id=document["request_id"],
    )


def session_document(session: WorkoutSession, request_id: str) -> Document:
    """The session as stored, keyed by session_id, with the request that added it."""
    document: Document = {
        "_id": session.session_id,
        "user_id": session.user_id,
        "workout_type": session.workout_type,
        "start_time": session.start_time,
        "end_time": session.end_time,
        "duration": session.duration,
        "calories_burned": session.calories_burned,
        "weight_kg": session.weight_kg,
    }
    if request_id:  # absent, not null, so the sparse unique index ignores it
        document["request_id"] = request_id
    return document


def to_session(document: Document) -> WorkoutSession:
    """The session a stored document holds."""
    end_time = document.get("end_time")
    return WorkoutSession(
        session_id=document["_id"],
        user_id=document["user_id"],
        workout_type=document["workout_type"],
        start_time=as_utc(document["start_time"]),
        end_time=as_utc(end_time) if end_time else None,
        duration=document["duration"],
        calories_burned=document["calories_burned"],
        end_request_id=document.get("end_request_id") or "",
        weight_kg=document.get("weight_kg"),
    )
