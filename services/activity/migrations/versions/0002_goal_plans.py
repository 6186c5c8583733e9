"""Goal plans behind the weekly suggestions.

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"


def upgrade() -> None:
    """Create the goal_plans table."""
    op.create_table(
        "goal_plans",
        sa.Column("goal_id", sa.String(36), primary_key=True),
        sa.Column("user_id", sa.String(36), nullable=False),
        sa.Column("goal_type", sa.String(32), nullable=False),
        sa.Column("target_value", sa.Float, nullable=False),
        sa.Column("target_date", sa.Date, nullable=False),
        sa.Column("start_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("active", sa.Boolean, nullable=False),
        sa.Column("request_id", sa.String(160), nullable=False),
        sa.Column("previous", sa.Text, nullable=True),
    )
    op.create_index("ix_goal_plans_user_id", "goal_plans", ["user_id"])


def downgrade() -> None:
    """Drop the goal_plans table."""
    op.drop_index("ix_goal_plans_user_id", "goal_plans")
    op.drop_table("goal_plans")
