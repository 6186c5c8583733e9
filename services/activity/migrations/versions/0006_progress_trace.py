"""The request id of the end that queued a progress event, carried on to its delivery.

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"


def upgrade() -> None:
    """Add progress_outbox.trace_id."""
    with op.batch_alter_table("progress_outbox") as batch:
        batch.add_column(sa.Column("trace_id", sa.String(128), nullable=True))


def downgrade() -> None:
    """Drop progress_outbox.trace_id."""
    with op.batch_alter_table("progress_outbox") as batch:
        batch.drop_column("trace_id")
