"""The motion activity dashboard: the seed's panels, read from the warehouse PostgreSQL.

Every query reads ``processed_data.user_activity_processed`` (services/motion/warehouse.py)
for the device the ``device`` variable picks. Times there are bigint milliseconds: the range
is compared in milliseconds (FROM_MS, TO_MS) so the (device_id, window_end_ms) index serves
it, and shown through ``to_timestamp(ms / 1000.0)``. Grafana's ``$__timeFilter(x)`` is not
used: its macro takes no argument holding a parenthesis (its pattern stops at the first
``)``), and a function of the column would defeat the index. A single-valued variable is
substituted unquoted (only ``'`` doubled), so the SQL quotes ``'$device'`` itself.
tests/integration/test_motion_dashboard.py runs every query on a real PostgreSQL.
"""

from __future__ import annotations

from deploy.monitoring.grafana import Dashboard, Panel, Query, Variable
from services.motion.domain import Activity
from services.motion.warehouse import PROCESSED

TABLE = PROCESSED.name
DEVICE = "device_id = '$device'"
FROM_MS = "(extract(epoch FROM $__timeFrom()::timestamptz) * 1000)::bigint"
TO_MS = "(extract(epoch FROM $__timeTo()::timestamptz) * 1000)::bigint"
ENDING_IN_RANGE = f"{DEVICE} AND window_end_ms BETWEEN {FROM_MS} AND {TO_MS}"
# A window owns [owned_start_ms, owned_end_ms): those overlapping the range, clipped to it.
# It owns nothing past its end, so the (redundant) bound on window_end_ms reaches the index.
OWNING_IN_RANGE = (
    f"{DEVICE} AND window_end_ms > {FROM_MS}"
    f" AND owned_end_ms > {FROM_MS} AND owned_start_ms < {TO_MS}"
)
START = f"greatest(owned_start_ms, {FROM_MS})"
END = f"least(owned_end_ms, {TO_MS})"
NEWEST_FIRST = "ORDER BY window_end_ms DESC, window_key DESC"
RECENT_RECORDS = 50
COLOURS = {
    Activity.STATIONARY: "blue",
    Activity.WALKING: "green",
    Activity.RUNNING: "orange",
    Activity.UNKNOWN: "text",
}
ACTIVITY_MAPPINGS = tuple((a.value, a.value, colour) for a, colour in COLOURS.items())

DEVICES = f"SELECT DISTINCT device_id FROM {TABLE} ORDER BY device_id"


def latest(column: str) -> str:
    """``column`` of the device's last window ending by the range's end."""
    return (
        f"SELECT {column} FROM {TABLE} WHERE {DEVICE} AND window_end_ms <= {TO_MS}"
        f" {NEWEST_FIRST} LIMIT 1"
    )


MAGNITUDE = (
    'SELECT to_timestamp(window_end_ms / 1000.0) AS "time", magnitude, dynamic_rms'
    f" FROM {TABLE} WHERE {ENDING_IN_RANGE} ORDER BY window_end_ms, window_key"
)
# A row per window at the start of what it owns, and a NULL row where a gap follows it
# (nothing owned until the next window, or the last window's end): the gap stays empty.
TIMELINE = (
    f"WITH owned AS (SELECT {START} AS start_ms, {END} AS end_ms, activity,"
    f" lead({START}) OVER (ORDER BY owned_start_ms, window_key) AS next_ms"
    f" FROM {TABLE} WHERE {OWNING_IN_RANGE})"
    ' SELECT to_timestamp(start_ms / 1000.0) AS "time", activity FROM owned'
    " UNION ALL SELECT to_timestamp(end_ms / 1000.0), NULL FROM owned"
    " WHERE next_ms IS NULL OR next_ms > end_ms"
    ' ORDER BY "time"'
)
# One row, a column of owned seconds per activity: the pie's slices, zeros included.
DISTRIBUTION = (
    "SELECT "
    + ", ".join(
        f"coalesce(sum({END} - {START}) FILTER (WHERE activity = '{a.value}'), 0) / 1000.0"
        f' AS "{a.value}"'
        for a in Activity
    )
    + f" FROM {TABLE} WHERE {OWNING_IN_RANGE}"
)
RECORDS = (
    'SELECT to_timestamp(window_start_ms / 1000.0) AS "window start",'
    ' to_timestamp(window_end_ms / 1000.0) AS "window end",'
    " activity, confidence, magnitude, dynamic_rms, cadence_hz, samples"
    f" FROM {TABLE} WHERE {ENDING_IN_RANGE} {NEWEST_FIRST} LIMIT {RECENT_RECORDS}"
)


def motion_activity() -> Dashboard:
    """One device's activity: state, confidence, timeline, distribution, magnitude, records."""
    return Dashboard(
        uid="fitness-motion-activity",
        title="Motion activity",
        description="One device's classified windows, from the warehouse PostgreSQL.",
        tags=["fitness", "motion"],
        source="warehouse",
        variables=[Variable("device", "Device", DEVICES)],
        panels=[
            Panel(
                "Current activity",
                [Query(latest("activity"))],
                kind="stat",
                width=6,
                height=6,
                mappings=ACTIVITY_MAPPINGS,
                fields="/^activity$/",
                description="The last window ending by the end of the range.",
            ),
            Panel(
                "Confidence",
                [Query(latest("confidence"))],
                unit="percentunit",
                kind="gauge",
                width=6,
                height=6,
                limits=(0, 1),
                description="The classifier's confidence in the last window's activity.",
            ),
            Panel(
                "Distribution",
                [Query(DISTRIBUTION)],
                unit="s",
                kind="piechart",
                width=12,
                height=6,
                description="Seconds spent in each activity in the range, each second once.",
            ),
            Panel(
                "Activity timeline",
                [Query(TIMELINE)],
                kind="state-timeline",
                width=24,
                height=5,
                mappings=ACTIVITY_MAPPINGS,
                description="What each window owns; a gap in the readings is left empty.",
            ),
            Panel(
                "Average magnitude",
                [Query(MAGNITUDE, format="time_series")],
                unit="accMS2",
                width=24,
                description="Per window: the mean |a| and the RMS of its 0.6-5 Hz band.",
            ),
            Panel(
                "Recent records",
                [Query(RECORDS)],
                kind="table",
                width=24,
                height=10,
                mappings=ACTIVITY_MAPPINGS,
                description=f"The last {RECENT_RECORDS} windows ending in the range, newest first.",
            ),
        ],
    )
