"""Benchmark: the health-metrics store on PostgreSQL (issue 15), three parts.

Each part starts its own private embedded PostgreSQL (the test settings: fsync off), on a
fresh database, and stops by itself.

ingest   - heart rate at 1 Hz for --ingest-users user-days, written with the store's upsert
           (PostgresHealthStore.write_points, batches of 10,000) against a plain binary COPY
           of the same rows into the same partitioned table; a fresh database for every
           round, rounds alternating. Reported: rows/s of each (median), their ratio
           (target >= 0.4x), and the same rows written again (all unchanged).
refresh  - one user-day at 1 Hz (86,400 points), refreshed fully; then --corrections times a
           point of a random minute is corrected and store.refresh() timed: it recomputes
           1 minute, 1 hour and 1 day (checked). Target: median <= 10 ms. Also reported: a
           refresh with nothing dirty (the fixed cost of a refresh transaction).
read     - --users x --days of 1 Hz heart rate (26 M points at 10 x 30), loaded a day at a
           time (every user's points and the dirty minutes the store's writes would mark,
           with one binary COPY; then store.refresh() until nothing is dirty; then VACUUM
           ANALYZE of the day's partition) while --load-budget seconds last; then one
           user-day at 1-minute resolution read with store.read_rollups (1,440 rows) against
           a GROUP BY date_trunc('minute') of its raw points, at --samples random user-days,
           alternating which goes first. Targets: rollup median <= 5 ms, raw / rollup >= 10.

    python -m bench.health [--part all|ingest|refresh|read] [--rounds 3]
        [--ingest-users 4] [--corrections 50] [--users 10] [--days 30] [--samples 30]
"""
