"""Goal changes prepared by sagas, processed saga requests, and notifications.

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"

GOAL_COLUMNS = (
    sa.Column("pending_operation", sa.String(16), nullable=True),
    sa.Column("pending_saga_id", sa.String(128), nullable=True),
    sa.Column("pending_target_value", sa.Float, nullable=True),
    sa.Column("pending_target_date", sa.Date, nullable=True),
    sa.Column("achieved_at", sa.DateTime(timezone=True), nullable=True),
)


def upgrade() -> None:
    """Add the pending-change columns, the request log and the notifications table."""
    with op.batch_alter_table("goals") as batch:
        for column in GOAL_COLUMNS:
            batch.add_column(column)
    op.create_table(
        "processed_requests",
        sa.Column("request_id", sa.String(160), primary_key=True),
        sa.Column("processed_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "notifications",
        sa.Column("notification_id", sa.String(36), primary_key=True),
        sa.Column("user_id", sa.String(36), sa.ForeignKey("users.user_id"), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("goal_id", sa.String(36), nullable=False, server_default=""),
        sa.Column("message", sa.String(256), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_notifications_user_id", "notifications", ["user_id", "created_at"])


def downgrade() -> None:
    """Drop what upgrade added."""
    op.drop_index("ix_notifications_user_id", "notifications")
    op.drop_table("notifications")
    op.drop_table("processed_requests")
    with op.batch_alter_table("goals") as batch:
        for column in GOAL_COLUMNS:
            batch.drop_column(column.name)
