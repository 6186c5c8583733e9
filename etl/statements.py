"""The warehouse's SQL: staging tables, upserts that compare before they write, SCD2,
dates, aggregates, reconciliation totals and watermarks. Parameters are bound, never
formatted in, except table and column names (psycopg.sql) in REPOINT_FACTS."""

WORKOUT_COLUMNS = (
    "session_id",
    "user_id",
    "date_key",
    "workout_type",
    "start_time",
    "end_time",
    "duration_seconds",
    "calories",
    "source_updated_at",
)
# A fact as COPY appends it straight to fact_workout.
FACT_COLUMNS = (*WORKOUT_COLUMNS, "user_key")
USER_COLUMNS = (
    "user_id",
    "username",
    "display_name",
    "weight_kg",
    "height_cm",
    "birth_year",
    "registered_at",
    "changed_at",
)
GOAL_COLUMNS = (
    "goal_id",
    "user_id",
    "goal_type",
    "target_value",
    "current_progress",
    "status",
    "target_date",
    "created_date_key",
    "target_date_key",
    "achieved_date_key",
    "created_at",
    "achieved_at",
    "source_updated_at",
)
STAGING = """
CREATE TEMP TABLE stage_workout (
    session_id varchar(36), user_id varchar(36), date_key integer, workout_type varchar(32),
    start_time timestamptz, end_time timestamptz, duration_seconds double precision,
    calories double precision, source_updated_at timestamptz
) ON COMMIT DROP;
CREATE TEMP TABLE stage_user (
    user_id varchar(36), username varchar(32), display_name varchar(64),
    weight_kg double precision, height_cm double precision, birth_year integer,
    registered_at timestamptz, changed_at timestamptz
) ON COMMIT DROP;
CREATE TEMP TABLE stage_goal (
    goal_id varchar(36), user_id varchar(36), goal_type varchar(32),
    target_value double precision, current_progress double precision, status varchar(16),
    target_date date, created_date_key integer, target_date_key integer,
    achieved_date_key integer, created_at timestamptz, achieved_at timestamptz,
    source_updated_at timestamptz
) ON COMMIT DROP;
CREATE TEMP TABLE stage_goal_deletion (
    goal_id varchar(36), user_id varchar(36), deleted_at timestamptz
) ON COMMIT DROP;
"""

# SCD2: close the current version of users whose tracked attributes changed...
CLOSE_CHANGED_USERS = """
UPDATE dim_user d SET valid_to = s.changed_at, is_current = false
FROM stage_user s
WHERE d.user_id = s.user_id AND d.is_current AND s.changed_at > d.valid_from
  AND (d.username, d.display_name, d.weight_kg, d.height_cm, d.birth_year)
      IS DISTINCT FROM (s.username, s.display_name, s.weight_kg, s.height_cm, s.birth_year)
RETURNING d.user_id
"""
# ...then open a version for every staged user without a current one. A user's first
# version reaches back to the start of time: nothing older is known about them.
OPEN_USER_VERSIONS = """
INSERT INTO dim_user (user_id, username, display_name, weight_kg, height_cm, birth_year,
                      registered_at, valid_from, is_current)
SELECT s.user_id, s.username, s.display_name, s.weight_kg, s.height_cm, s.birth_year,
       s.registered_at,
       CASE WHEN EXISTS (SELECT 1 FROM dim_user o WHERE o.user_id = s.user_id)
            THEN s.changed_at ELSE '1900-01-01 00:00:00+00' END,
       true
FROM stage_user s
WHERE NOT EXISTS (SELECT 1 FROM dim_user d WHERE d.user_id = s.user_id AND d.is_current)
"""
# Facts point at the version that was valid when they happened.
REPOINT_FACTS = """
UPDATE {table} f SET user_key = d.user_key
FROM dim_user d
WHERE d.user_id = f.user_id AND d.user_id = ANY(%s)
  AND f.{time} >= d.valid_from AND f.{time} < d.valid_to
  AND f.user_key IS DISTINCT FROM d.user_key
"""
UPSERT_WORKOUTS = """
INSERT INTO fact_workout (session_id, user_id, user_key, date_key, workout_type, start_time,
                          end_time, duration_seconds, calories, source_updated_at)
SELECT s.session_id, s.user_id, d.user_key, s.date_key, s.workout_type, s.start_time,
       s.end_time, s.duration_seconds, s.calories, s.source_updated_at
FROM stage_workout s
LEFT JOIN dim_user d
       ON d.user_id = s.user_id AND s.start_time >= d.valid_from AND s.start_time < d.valid_to
ON CONFLICT (session_id) DO UPDATE SET
    user_id = excluded.user_id, user_key = excluded.user_key, date_key = excluded.date_key,
    workout_type = excluded.workout_type, start_time = excluded.start_time,
    end_time = excluded.end_time, duration_seconds = excluded.duration_seconds,
    calories = excluded.calories, source_updated_at = excluded.source_updated_at
WHERE (fact_workout.user_id, fact_workout.user_key, fact_workout.date_key,
       fact_workout.workout_type, fact_workout.start_time, fact_workout.end_time,
       fact_workout.duration_seconds, fact_workout.calories, fact_workout.source_updated_at)
      IS DISTINCT FROM
      (excluded.user_id, excluded.user_key, excluded.date_key, excluded.workout_type,
       excluded.start_time, excluded.end_time, excluded.duration_seconds, excluded.calories,
       excluded.source_updated_at)
"""
UPSERT_GOALS = """
INSERT INTO fact_goal (goal_id, user_id, user_key, goal_type, target_value, current_progress,
                       status, target_date, created_date_key, target_date_key,
                       achieved_date_key, created_at, achieved_at, deleted_at,
                       source_updated_at)
SELECT s.goal_id, s.user_id, d.user_key, s.goal_type, s.target_value, s.current_progress,
       s.status, s.target_date, s.created_date_key, s.target_date_key, s.achieved_date_key,
       s.created_at, s.achieved_at, NULL, s.source_updated_at
FROM stage_goal s
LEFT JOIN dim_user d
       ON d.user_id = s.user_id AND s.created_at >= d.valid_from AND s.created_at < d.valid_to
ON CONFLICT (goal_id) DO UPDATE SET
    user_key = excluded.user_key, goal_type = excluded.goal_type,
    target_value = excluded.target_value, current_progress = excluded.current_progress,
    status = excluded.status, target_date = excluded.target_date,
    target_date_key = excluded.target_date_key, achieved_date_key = excluded.achieved_date_key,
    achieved_at = excluded.achieved_at, deleted_at = NULL,
    source_updated_at = excluded.source_updated_at
WHERE (fact_goal.user_key, fact_goal.goal_type, fact_goal.target_value,
       fact_goal.current_progress, fact_goal.status, fact_goal.target_date,
       fact_goal.achieved_at, fact_goal.deleted_at, fact_goal.source_updated_at)
      IS DISTINCT FROM
      (excluded.user_key, excluded.goal_type, excluded.target_value,
       excluded.current_progress, excluded.status, excluded.target_date,
       excluded.achieved_at, NULL, excluded.source_updated_at)
  AND excluded.source_updated_at >= fact_goal.source_updated_at
"""
# A tombstone counts only if it is newer than the goal the warehouse holds.
APPLY_GOAL_DELETIONS = """
UPDATE fact_goal g SET deleted_at = s.deleted_at
FROM stage_goal_deletion s
WHERE g.goal_id = s.goal_id AND s.deleted_at >= g.source_updated_at
  AND g.deleted_at IS DISTINCT FROM s.deleted_at
"""
ENSURE_DATES = """
INSERT INTO dim_date
SELECT to_char(d, 'YYYYMMDD')::integer, d, extract(year FROM d), extract(quarter FROM d),
       extract(month FROM d), extract(day FROM d), extract(isoyear FROM d),
       extract(week FROM d), extract(isodow FROM d), extract(isodow FROM d) >= 6
FROM (SELECT to_date(k::text, 'YYYYMMDD') AS d FROM unnest(%s::integer[]) AS k) AS days
ON CONFLICT (date_key) DO NOTHING
"""
STAGED_GOAL_DATE_KEYS = """
SELECT created_date_key FROM stage_goal
UNION SELECT target_date_key FROM stage_goal
UNION SELECT achieved_date_key FROM stage_goal WHERE achieved_date_key IS NOT NULL
"""
REFRESH_AGGREGATES = """
INSERT INTO agg_daily_activity (date_key, user_id, workouts, duration_seconds, calories)
SELECT date_key, user_id, count(*), round(sum(duration_seconds)::numeric, 3),
       round(sum(calories)::numeric, 3)
FROM fact_workout WHERE date_key = ANY(%s)
GROUP BY date_key, user_id
ON CONFLICT (date_key, user_id) DO UPDATE SET
    workouts = excluded.workouts, duration_seconds = excluded.duration_seconds,
    calories = excluded.calories
WHERE (agg_daily_activity.workouts, agg_daily_activity.duration_seconds,
       agg_daily_activity.calories)
      IS DISTINCT FROM (excluded.workouts, excluded.duration_seconds, excluded.calories)
"""
FACT_TOTALS = """
SELECT date_key, count(*), coalesce(sum(duration_seconds), 0), coalesce(sum(calories), 0)
FROM fact_workout
WHERE date_key = ANY(%(days)s)
  AND (source_updated_at < %(watermark)s
       OR source_updated_at >= %(since)s AND source_updated_at < %(until)s)
GROUP BY date_key
"""
AGGREGATE_TOTALS = """
SELECT date_key, sum(workouts), sum(duration_seconds), sum(calories)
FROM agg_daily_activity WHERE date_key = ANY(%s) GROUP BY date_key
"""
# A watermark moves only forward, and only over a batch that reaches it: a backfill of
# a later day must not claim the days between.
ADVANCE_WATERMARK = """
UPDATE etl_watermarks SET loaded_to = %(until)s, updated_at = %(now)s
WHERE source = %(source)s AND loaded_to >= %(since)s AND loaded_to < %(until)s
"""
CREATE_WATERMARK = """
INSERT INTO etl_watermarks (source, loaded_to, updated_at)
VALUES (%(source)s, %(until)s, %(now)s)
ON CONFLICT (source) DO NOTHING
"""
QUARANTINE = """
INSERT INTO etl_quarantine (source, record_key, user_id, reason, record, run_id,
                            first_seen_at, last_seen_at, date_key, duration_seconds, calories,
                            source_updated_at)
VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)
ON CONFLICT (source, record_key) DO UPDATE SET
    user_id = excluded.user_id, reason = excluded.reason, record = excluded.record,
    run_id = excluded.run_id,
    last_seen_at = excluded.last_seen_at, date_key = excluded.date_key,
    duration_seconds = excluded.duration_seconds, calories = excluded.calories,
    source_updated_at = excluded.source_updated_at
"""
# Quarantined workouts are in the source's totals but not in the facts: reconciliation
# counts them as accounted for, over the same change times as FACT_TOTALS.
QUARANTINE_TOTALS = """
SELECT date_key, count(*), coalesce(sum(duration_seconds), 0), coalesce(sum(calories), 0)
FROM etl_quarantine
WHERE source = 'workouts' AND date_key = ANY(%(days)s)
  AND (source_updated_at < %(watermark)s
       OR source_updated_at >= %(since)s AND source_updated_at < %(until)s)
GROUP BY date_key
"""
# An erased account leaves nothing behind: its facts, aggregates, versions and quarantined
# rows go. Workout days are returned so their aggregates are refreshed and reconciled.
ERASE_USER_WORKOUTS = "DELETE FROM fact_workout WHERE user_id = ANY(%s) RETURNING date_key"
ERASE_USER_ROWS = tuple(
    f"DELETE FROM {table} WHERE user_id = ANY(%s)"
    for table in ("fact_goal", "agg_daily_activity", "dim_user", "etl_quarantine")
)
