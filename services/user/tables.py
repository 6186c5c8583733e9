"""The user service's SQLAlchemy tables: private to the service (migrations, adapters, export)."""

from __future__ import annotations

from sqlalchemy import (
    Column,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
)

metadata = MetaData()

users = Table(
    "users",
    metadata,
    Column("user_id", String(36), primary_key=True),
    Column("username", String(32), nullable=False, unique=True),
    Column("email", String(254), nullable=False),
    Column("email_key", String(254), nullable=False, unique=True),
    Column("password_hash", String(255), nullable=False),
    Column("display_name", String(64), nullable=False, default=""),
    Column("weight_kg", Float, nullable=True),
    Column("height_cm", Float, nullable=True),
    Column("birth_year", Integer, nullable=True),
    Column("request_id", String(128), nullable=True, unique=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False, index=True),
)

goals = Table(
    "goals",
    metadata,
    Column("goal_id", String(36), primary_key=True),
    Column("user_id", String(36), ForeignKey("users.user_id"), nullable=False, index=True),
    Column("goal_type", String(32), nullable=False),
    Column("target_value", Float, nullable=False),
    Column("target_date", Date, nullable=False),
    Column("current_progress", Float, nullable=False, default=0.0),
    Column("status", String(16), nullable=False),
    Column("request_id", String(128), nullable=True, unique=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("pending_operation", String(16), nullable=True),
    Column("pending_saga_id", String(128), nullable=True),
    Column("pending_target_value", Float, nullable=True),
    Column("pending_target_date", Date, nullable=True),
    Column("achieved_at", DateTime(timezone=True), nullable=True),
    Column("updated_at", DateTime(timezone=True), nullable=False, index=True),
)

# Tombstones of deleted goals, written with the delete, so the ETL can see deletions.
goal_deletions = Table(
    "goal_deletions",
    metadata,
    Column("goal_id", String(36), primary_key=True),
    Column("user_id", String(36), nullable=False),
    Column("deleted_at", DateTime(timezone=True), nullable=False, index=True),
)

# Requests whose effect has been applied: written in the effect's own transaction.
processed_requests = Table(
    "processed_requests",
    metadata,
    Column("request_id", String(160), primary_key=True),
    Column("processed_at", DateTime(timezone=True), nullable=False),
)

notifications = Table(
    "notifications",
    metadata,
    Column("notification_id", String(36), primary_key=True),
    Column("user_id", String(36), ForeignKey("users.user_id"), nullable=False),
    Column("kind", String(32), nullable=False),
    Column("goal_id", String(36), nullable=False, server_default=""),
    Column("message", String(256), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    # The write_goals request that created it: a repeat of that request answers with it.
    Column("request_id", String(160), nullable=True, index=True),
    Index("ix_notifications_user_id", "user_id", "created_at"),
)

# Roles an operator granted (python -m services.user roles ...); never derived from a name.
user_roles = Table(
    "user_roles",
    metadata,
    Column(
        "user_id", String(36), ForeignKey("users.user_id", ondelete="CASCADE"), primary_key=True
    ),
    Column("role", String(32), primary_key=True),
    Column("granted_at", DateTime(timezone=True), nullable=False),
)

# Refresh tokens by SHA-256 of the token; a family is one login's chain of rotations.
refresh_tokens = Table(
    "refresh_tokens",
    metadata,
    Column("token_hash", String(64), primary_key=True),
    Column("family_id", String(36), nullable=False, index=True),
    Column(
        "user_id",
        String(36),
        ForeignKey("users.user_id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
    Column("issued_at", DateTime(timezone=True), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False),
    Column("used_at", DateTime(timezone=True), nullable=True),
    Column("revoked_at", DateTime(timezone=True), nullable=True),
)

# Accounts being deleted (deleted_at null) or deleted: written by the deletion saga's first
# step, which hides the user from every read; kept after the erase as the ETL's tombstone.
user_deletions = Table(
    "user_deletions",
    metadata,
    Column("user_id", String(36), primary_key=True),
    Column("saga_id", String(160), nullable=False),
    Column("requested_at", DateTime(timezone=True), nullable=False),
    Column("deleted_at", DateTime(timezone=True), nullable=True, index=True),
)
