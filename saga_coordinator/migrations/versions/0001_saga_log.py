"""The saga log: one row per saga and its history of step events.

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None


def upgrade() -> None:
    """Create the sagas and saga_events tables."""
    op.create_table(
        "sagas",
        sa.Column("saga_id", sa.String(160), primary_key=True),
        sa.Column("saga_type", sa.String(64), nullable=False),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("step_index", sa.Integer, nullable=False),
        sa.Column("attempt", sa.Integer, nullable=False),
        sa.Column("next_retry_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text, nullable=False),
        sa.Column("failure_code", sa.String(32), nullable=False),
        sa.Column("data", sa.Text, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_sagas_status_updated", "sagas", ["status", "updated_at"])
    op.create_table(
        "saga_events",
        sa.Column("event_id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("saga_id", sa.String(160), sa.ForeignKey("sagas.saga_id"), nullable=False),
        sa.Column("step", sa.String(64), nullable=False),
        sa.Column("phase", sa.String(16), nullable=False),
        sa.Column("outcome", sa.String(32), nullable=False),
        sa.Column("attempt", sa.Integer, nullable=False),
        sa.Column("error", sa.Text, nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_saga_events_saga_id", "saga_events", ["saga_id"])


def downgrade() -> None:
    """Drop both tables."""
    op.drop_index("ix_saga_events_saga_id", "saga_events")
    op.drop_table("saga_events")
    op.drop_index("ix_sagas_status_updated", "sagas")
    op.drop_table("sagas")
