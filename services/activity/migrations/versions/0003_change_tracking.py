"""Change tracking for the nightly ETL: updated_at on workout sessions.

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"


def upgrade() -> None:
    """Add updated_at, backfilled from the last thing known to have happened to a session."""
    with op.batch_alter_table("workout_sessions") as batch:
        batch.add_column(sa.Column("updated_at", sa.DateTime(timezone=True), nullable=True))
    op.execute("UPDATE workout_sessions SET updated_at = COALESCE(end_time, start_time)")
    with op.batch_alter_table("workout_sessions") as batch:
        batch.alter_column("updated_at", nullable=False)
    op.create_index("ix_workout_sessions_updated_at", "workout_sessions", ["updated_at"])


def downgrade() -> None:
    """Drop updated_at."""
    op.drop_index("ix_workout_sessions_updated_at", "workout_sessions")
    with op.batch_alter_table("workout_sessions") as batch:
        batch.drop_column("updated_at")
