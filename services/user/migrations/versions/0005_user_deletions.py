"""Account deletion: the mark that hides a user being deleted, kept as the ETL's tombstone.

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"


def upgrade() -> None:
    """Create user_deletions."""
    op.create_table(
        "user_deletions",
        sa.Column("user_id", sa.String(36), primary_key=True),
        sa.Column("saga_id", sa.String(160), nullable=False),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_index("ix_user_deletions_deleted_at", "user_deletions", ["deleted_at"])


def downgrade() -> None:
    """Drop what upgrade added."""
    op.drop_index("ix_user_deletions_deleted_at", "user_deletions")
    op.drop_table("user_deletions")
