"""The request that created each notification, so a repeat of it can answer the same.

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"


def upgrade() -> None:
    """Add notifications.request_id (unknown, NULL, for the older ones)."""
    with op.batch_alter_table("notifications") as batch:
        batch.add_column(sa.Column("request_id", sa.String(160), nullable=True))
    op.create_index("ix_notifications_request_id", "notifications", ["request_id"])


def downgrade() -> None:
    """Drop notifications.request_id."""
    op.drop_index("ix_notifications_request_id", "notifications")
    with op.batch_alter_table("notifications") as batch:
        batch.drop_column("request_id")
