"""Workout sessions and per-user statistics.

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None


def upgrade() -> None:
    """Create the sessions and statistics tables."""
    op.create_table(
        "workout_sessions",
        sa.Column("session_id", sa.String(36), primary_key=True),
        sa.Column("user_id", sa.String(36), nullable=False),
        sa.Column("workout_type", sa.String(32), nullable=False),
        sa.Column("start_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("end_time", sa.DateTime(timezone=True), nullable=True),
        sa.Column("duration", sa.Float, nullable=False, server_default="0"),
        sa.Column("calories_burned", sa.Float, nullable=False, server_default="0"),
        sa.Column("request_id", sa.String(128), nullable=True, unique=True),
        sa.Column("end_request_id", sa.String(128), nullable=True),
    )
    op.create_index(
        "ix_workout_sessions_user_start",
        "workout_sessions",
        ["user_id", "start_time", "session_id"],
    )
    op.create_table(
        "user_statistics",
        sa.Column("user_id", sa.String(36), primary_key=True),
        sa.Column("total_workouts", sa.Integer, nullable=False),
        sa.Column("total_duration", sa.Float, nullable=False),
        sa.Column("total_calories_burned", sa.Float, nullable=False),
    )


def downgrade() -> None:
    """Drop both tables."""
    op.drop_table("user_statistics")
    op.drop_index("ix_workout_sessions_user_start", "workout_sessions")
    op.drop_table("workout_sessions")
