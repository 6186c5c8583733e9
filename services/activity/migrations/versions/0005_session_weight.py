"""The body weight a session was started with, so ending it needs no user service.

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"


def upgrade() -> None:
    """Add workout_sessions.weight_kg (NULL on older sessions: read when they end)."""
    with op.batch_alter_table("workout_sessions") as batch:
        batch.add_column(sa.Column("weight_kg", sa.Float, nullable=True))


def downgrade() -> None:
    """Drop workout_sessions.weight_kg."""
    with op.batch_alter_table("workout_sessions") as batch:
        batch.drop_column("weight_kg")
