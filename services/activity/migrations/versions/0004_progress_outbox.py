"""The progress outbox: ended workouts still to be counted by the user service.

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"


def upgrade() -> None:
    """Create the progress_outbox table."""
    op.create_table(
        "progress_outbox",
        sa.Column("event_id", sa.String(160), primary_key=True),
        sa.Column("user_id", sa.String(36), nullable=False),
        sa.Column("session_id", sa.String(36), nullable=False),
        sa.Column("end_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("duration", sa.Float, nullable=False),
        sa.Column("calories_burned", sa.Float, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("lease_owner", sa.String(64), nullable=True),
        sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.String(512), nullable=True),
    )
    op.create_index("ix_progress_outbox_user_id", "progress_outbox", ["user_id"])
    op.create_index("ix_progress_outbox_due", "progress_outbox", ["delivered_at", "due_at"])


def downgrade() -> None:
    """Drop the progress_outbox table."""
    op.drop_index("ix_progress_outbox_due", "progress_outbox")
    op.drop_index("ix_progress_outbox_user_id", "progress_outbox")
    op.drop_table("progress_outbox")
