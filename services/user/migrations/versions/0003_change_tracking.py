"""Change tracking for the nightly ETL: updated_at on users and goals, goal tombstones.

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"

TRACKED = ("users", "goals")


def upgrade() -> None:
    """Add updated_at (backfilled from created_at) and the goal_deletions table."""
    for table in TRACKED:
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column("updated_at", sa.DateTime(timezone=True), nullable=True))
        op.execute(f"UPDATE {table} SET updated_at = created_at")
        with op.batch_alter_table(table) as batch:
            batch.alter_column("updated_at", nullable=False)
        op.create_index(f"ix_{table}_updated_at", table, ["updated_at"])
    op.create_table(
        "goal_deletions",
        sa.Column("goal_id", sa.String(36), primary_key=True),
        sa.Column("user_id", sa.String(36), nullable=False),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_goal_deletions_deleted_at", "goal_deletions", ["deleted_at"])


def downgrade() -> None:
    """Drop what upgrade added."""
    op.drop_index("ix_goal_deletions_deleted_at", "goal_deletions")
    op.drop_table("goal_deletions")
    for table in TRACKED:
        op.drop_index(f"ix_{table}_updated_at", table)
        with op.batch_alter_table(table) as batch:
            batch.drop_column("updated_at")
