"""Daily health facts: one row per user and UTC day, from the health-metrics database.

Revision ID: 0003
Revises: 0002
"""

from alembic import op

revision = "0003"
down_revision = "0002"

UP = """
CREATE TABLE fact_health_daily (
    user_id             varchar(64) NOT NULL,     -- the health service's user ids: 1-64 chars
    date_key            integer NOT NULL,         -- the UTC day (dim_date)
    user_key            bigint,                   -- the user's version at the day's start
    day_start           timestamptz NOT NULL,     -- midnight UTC: the dim_user join's time
    resting_heart_rate  double precision,         -- bpm; NULL: fewer than 30 minutes in a row
    steps               double precision,         -- the day's sum; NULL: no steps data
    active_zone_minutes double precision,         -- the day's sum
    spo2_mean           double precision,         -- %
    hrv_mean            double precision,         -- ms
    breathing_rate_mean double precision,         -- breaths/min
    deep_minutes        double precision NOT NULL, -- sleep sessions ending on the day
    light_minutes       double precision NOT NULL,
    rem_minutes         double precision NOT NULL,
    wake_minutes        double precision NOT NULL,
    asleep_minutes      double precision
        GENERATED ALWAYS AS (deep_minutes + light_minutes + rem_minutes) STORED,
    -- Digest of the day's 1-day rollups and sleep sessions the row was computed from.
    source_fingerprint  text NOT NULL,
    PRIMARY KEY (user_id, date_key)
);
CREATE INDEX fact_health_daily_date ON fact_health_daily (date_key);

-- Per user and ISO week: mean resting heart rate, steps, zone minutes, sleep a night.
CREATE VIEW report_health_per_user_week AS
SELECT d.iso_year, d.iso_week, h.user_id, u.username,
       count(*)::integer AS days,
       round(avg(h.resting_heart_rate)::numeric, 1) AS resting_heart_rate,
       round(sum(h.steps)::numeric, 0) AS steps,
       round(sum(h.active_zone_minutes)::numeric, 0) AS active_zone_minutes,
       round((avg(h.asleep_minutes) FILTER (WHERE h.asleep_minutes > 0))::numeric, 0)
           AS asleep_minutes_per_night
FROM fact_health_daily h
JOIN dim_date d USING (date_key)
LEFT JOIN dim_user u ON u.user_id = h.user_id AND u.is_current
GROUP BY d.iso_year, d.iso_week, h.user_id, u.username;
"""
DOWN = """
DROP VIEW report_health_per_user_week;
DROP TABLE fact_health_daily;
"""


def upgrade() -> None:
    """Add the daily health facts and their weekly report."""
    op.execute(UP)


def downgrade() -> None:
    """Remove them."""
    op.execute(DOWN)
