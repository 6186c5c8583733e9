"""The warehouse: date and user (SCD2) dimensions, workout and goal facts, daily aggregates,
the ETL's watermarks and run manifest, and the reporting views.

Revision ID: 0001
Revises:
"""

from alembic import op

revision = "0001"
down_revision = None

TABLES = """
CREATE TABLE dim_date (
    date_key     integer PRIMARY KEY,           -- YYYYMMDD
    date         date NOT NULL UNIQUE,
    year         smallint NOT NULL,
    quarter      smallint NOT NULL,
    month        smallint NOT NULL,
    day          smallint NOT NULL,
    iso_year     smallint NOT NULL,
    iso_week     smallint NOT NULL,
    day_of_week  smallint NOT NULL,             -- ISO: 1 = Monday
    is_weekend   boolean NOT NULL
);

-- One row per version of a user's tracked attributes (SCD type 2).
CREATE TABLE dim_user (
    user_key      bigserial PRIMARY KEY,
    user_id       varchar(36) NOT NULL,
    username      varchar(32) NOT NULL,
    display_name  varchar(64) NOT NULL,
    weight_kg     double precision,
    height_cm     double precision,
    birth_year    integer,
    registered_at timestamptz NOT NULL,
    -- The first known version reaches back to the start of time, the current one forward
    -- to its end: 1900-01-01 and 9999-12-31, which every client library can read.
    valid_from    timestamptz NOT NULL,
    valid_to      timestamptz NOT NULL DEFAULT '9999-12-31 00:00:00+00',
    is_current    boolean NOT NULL,
    UNIQUE (user_id, valid_from)
);
CREATE UNIQUE INDEX dim_user_one_current ON dim_user (user_id) WHERE is_current;

CREATE TABLE fact_workout (
    session_id        varchar(36) PRIMARY KEY,   -- natural key from the activity store
    user_id           varchar(36) NOT NULL,
    user_key          bigint,                    -- the user's version when the workout began
    date_key          integer NOT NULL,          -- UTC day the workout began
    workout_type      varchar(32) NOT NULL,
    start_time        timestamptz NOT NULL,
    end_time          timestamptz NOT NULL,
    duration_seconds  double precision NOT NULL,
    calories          double precision NOT NULL,
    source_updated_at timestamptz NOT NULL
);
CREATE INDEX fact_workout_date ON fact_workout (date_key);
CREATE INDEX fact_workout_user ON fact_workout (user_id, start_time);

CREATE TABLE fact_goal (
    goal_id           varchar(36) PRIMARY KEY,
    user_id           varchar(36) NOT NULL,
    user_key          bigint,
    goal_type         varchar(32) NOT NULL,
    target_value      double precision NOT NULL,
    current_progress  double precision NOT NULL,
    status            varchar(16) NOT NULL,
    target_date       date NOT NULL,
    created_date_key  integer NOT NULL,
    target_date_key   integer NOT NULL,
    achieved_date_key integer,
    created_at        timestamptz NOT NULL,
    achieved_at       timestamptz,
    deleted_at        timestamptz,               -- set from the user store's tombstones
    source_updated_at timestamptz NOT NULL
);
CREATE INDEX fact_goal_user ON fact_goal (user_id);

-- Per user and UTC day, recomputed from fact_workout for every day a load touches.
CREATE TABLE agg_daily_activity (
    date_key          integer NOT NULL,
    user_id           varchar(36) NOT NULL,
    workouts          integer NOT NULL,
    duration_seconds  numeric(16, 3) NOT NULL,
    calories          numeric(16, 3) NOT NULL,
    PRIMARY KEY (date_key, user_id)
);

-- Per source: changes before this instant are loaded. Advanced in each batch's commit.
CREATE TABLE etl_watermarks (
    source      varchar(32) PRIMARY KEY,
    loaded_to   timestamptz NOT NULL,
    updated_at  timestamptz NOT NULL
);

-- One row per run: what it covered, read and wrote, and how it ended.
CREATE TABLE etl_runs (
    run_id           uuid PRIMARY KEY,
    trigger          varchar(16) NOT NULL,
    interval_start   timestamptz NOT NULL,
    interval_end     timestamptz NOT NULL,
    committed_to     timestamptz,              -- end of the last committed batch
    status           varchar(16) NOT NULL,
    rows_read        jsonb NOT NULL DEFAULT '{}',
    rows_written     jsonb NOT NULL DEFAULT '{}',
    started_at       timestamptz NOT NULL,
    finished_at      timestamptz,
    duration_seconds double precision,
    error            text NOT NULL DEFAULT ''
);
CREATE INDEX etl_runs_started ON etl_runs (started_at);
"""

VIEWS = """
-- Calories per user per ISO week.
CREATE VIEW report_calories_per_user_week AS
SELECT d.iso_year, d.iso_week, a.user_id, u.username,
       sum(a.workouts)::integer AS workouts,
       round(sum(a.calories), 1) AS calories
FROM agg_daily_activity a
JOIN dim_date d USING (date_key)
LEFT JOIN dim_user u ON u.user_id = a.user_id AND u.is_current
GROUP BY d.iso_year, d.iso_week, a.user_id, u.username;

-- Users with at least one workout, per UTC day.
CREATE VIEW report_active_users_per_day AS
SELECT d.date, count(*)::integer AS active_users, sum(a.workouts)::integer AS workouts
FROM agg_daily_activity a
JOIN dim_date d USING (date_key)
GROUP BY d.date;

-- Of the goals that are decided (achieved, or past their target date), the share achieved.
CREATE VIEW report_goal_completion_rate AS
SELECT goal_type,
       count(*)::integer AS goals,
       count(*) FILTER (WHERE status = 'achieved')::integer AS achieved,
       count(*) FILTER (WHERE status <> 'achieved' AND target_date < current_date)::integer
           AS missed,
       round(count(*) FILTER (WHERE status = 'achieved')::numeric
             / nullif(count(*) FILTER (WHERE status = 'achieved' OR target_date < current_date), 0),
             3) AS completion_rate
FROM fact_goal
WHERE deleted_at IS NULL
GROUP BY goal_type;

-- Workout types by count, share of all workouts, hours and calories.
CREATE VIEW report_workout_type_mix AS
SELECT workout_type,
       count(*)::integer AS workouts,
       round(100.0 * count(*) / sum(count(*)) OVER (), 1) AS share_pct,
       round((sum(duration_seconds) / 3600)::numeric, 1) AS hours,
       round(sum(calories)::numeric, 1) AS calories
FROM fact_workout
GROUP BY workout_type;
"""

DROP = """
DROP VIEW report_workout_type_mix, report_goal_completion_rate,
          report_active_users_per_day, report_calories_per_user_week;
DROP TABLE etl_runs, etl_watermarks, agg_daily_activity, fact_goal, fact_workout,
           dim_user, dim_date;
"""


def upgrade() -> None:
    """Create the schema and the views."""
    op.execute(TABLES)
    op.execute(VIEWS)


def downgrade() -> None:
    """Drop everything upgrade created."""
    op.execute(DROP)
