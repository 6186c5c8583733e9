"""The activity service's SQLAlchemy tables: private to it (migrations, adapters, export)."""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Column,
    Date,
    DateTime,
    Float,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
)

metadata = MetaData()

sessions = Table(
    "workout_sessions",
    metadata,
    Column("session_id", String(36), primary_key=True),
    Column("user_id", String(36), nullable=False),
    Column("workout_type", String(32), nullable=False),
    Column("start_time", DateTime(timezone=True), nullable=False),
    Column("end_time", DateTime(timezone=True), nullable=True),
    Column("duration", Float, nullable=False, default=0.0),
    Column("calories_burned", Float, nullable=False, default=0.0),
    Column("request_id", String(128), nullable=True, unique=True),
    Column("end_request_id", String(128), nullable=True),
    Column("weight_kg", Float, nullable=True),  # read at the start, for the calories
    # When the row last changed (server clock): the ETL extracts by it.
    Column("updated_at", DateTime(timezone=True), nullable=False, index=True),
    Index("ix_workout_sessions_user_start", "user_id", "start_time", "session_id"),
)

statistics = Table(
    "user_statistics",
    metadata,
    Column("user_id", String(36), primary_key=True),
    Column("total_workouts", Integer, nullable=False),
    Column("total_duration", Float, nullable=False),
    Column("total_calories_burned", Float, nullable=False),
)

goal_plans = Table(
    "goal_plans",
    metadata,
    Column("goal_id", String(36), primary_key=True),
    Column("user_id", String(36), nullable=False, index=True),
    Column("goal_type", String(32), nullable=False),
    Column("target_value", Float, nullable=False),
    Column("target_date", Date, nullable=False),
    Column("start_time", DateTime(timezone=True), nullable=False),
    Column("active", Boolean, nullable=False),
    Column("request_id", String(160), nullable=False),
    # JSON of the plan this one replaced, so a saga compensation can put it back.
    Column("previous", Text, nullable=True),
)

# The outbox: written with each session's end, drained by the relay (outbox_sql.py).
progress_outbox = Table(
    "progress_outbox",
    metadata,
    Column("event_id", String(160), primary_key=True),
    Column("user_id", String(36), nullable=False, index=True),
    Column("session_id", String(36), nullable=False),
    Column("end_time", DateTime(timezone=True), nullable=False),
    Column("duration", Float, nullable=False),
    Column("calories_burned", Float, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("due_at", DateTime(timezone=True), nullable=False),
    Column("attempts", Integer, nullable=False, default=0),
    Column("lease_owner", String(64), nullable=True),
    Column("lease_until", DateTime(timezone=True), nullable=True),
    Column("delivered_at", DateTime(timezone=True), nullable=True),
    Column("last_error", String(512), nullable=True),
    Column("trace_id", String(128), nullable=True),
    Index("ix_progress_outbox_due", "delivered_at", "due_at"),
)
