"""Quarantine: source rows the warehouse cannot hold are set aside and counted per run.

Revision ID: 0002
Revises: 0001
"""

from alembic import op

revision = "0002"
down_revision = "0001"

UP = """
ALTER TABLE etl_runs ADD COLUMN rows_quarantined jsonb NOT NULL DEFAULT '{}';
CREATE TABLE etl_quarantine (
    source            varchar(16) NOT NULL,      -- users, goals or workouts
    record_key        text NOT NULL,             -- the row's natural key, escaped
    user_id           text NOT NULL,             -- whose row it is, escaped (for erasure)
    reason            text NOT NULL,             -- e.g. 'display_name contains a NUL character'
    record            text NOT NULL,             -- the row as a person reads it, escaped
    run_id            uuid NOT NULL,             -- the run that last set it aside
    first_seen_at     timestamptz NOT NULL,
    last_seen_at      timestamptz NOT NULL,
    -- Workouts only: what reconciliation counts as accounted for.
    date_key          integer,
    duration_seconds  double precision,
    calories          double precision,
    source_updated_at timestamptz,
    PRIMARY KEY (source, record_key)
);
CREATE INDEX etl_quarantine_user ON etl_quarantine (user_id);
"""
DOWN = """
DROP TABLE etl_quarantine;
ALTER TABLE etl_runs DROP COLUMN rows_quarantined;
"""


def upgrade() -> None:
    """Add the quarantine table and the manifest's count of quarantined rows."""
    op.execute(UP)


def downgrade() -> None:
    """Remove them."""
    op.execute(DOWN)
