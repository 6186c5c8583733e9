"""Roles granted by an operator, and rotating refresh tokens (stored as SHA-256).

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"


def _user_fk() -> sa.ForeignKey:
    # Roles and refresh tokens go with the account they belong to.
    return sa.ForeignKey("users.user_id", ondelete="CASCADE")


def upgrade() -> None:
    """Create user_roles and refresh_tokens."""
    op.create_table(
        "user_roles",
        sa.Column("user_id", sa.String(36), _user_fk(), primary_key=True),
        sa.Column("role", sa.String(32), primary_key=True),
        sa.Column("granted_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "refresh_tokens",
        sa.Column("token_hash", sa.String(64), primary_key=True),
        sa.Column("family_id", sa.String(36), nullable=False),
        sa.Column("user_id", sa.String(36), _user_fk(), nullable=False),
        sa.Column("issued_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_index("ix_refresh_tokens_family_id", "refresh_tokens", ["family_id"])
    op.create_index("ix_refresh_tokens_user_id", "refresh_tokens", ["user_id"])


def downgrade() -> None:
    """Drop what upgrade added."""
    op.drop_index("ix_refresh_tokens_user_id", "refresh_tokens")
    op.drop_index("ix_refresh_tokens_family_id", "refresh_tokens")
    op.drop_table("refresh_tokens")
    op.drop_table("user_roles")
