"""The motion dashboard's SQL on a real PostgreSQL: every panel's query and the device
variable's, expanded as Grafana's PostgreSQL datasource expands them, run on the warehouse
tables (services/motion/warehouse.py) holding the windows of a few devices: each panel's
rows are what the windows say, only the chosen device's, and read through the
(device_id, window_end_ms) index.

No Grafana runs here. ``grafana_sql`` stands in for the two steps Grafana takes before the
SQL reaches PostgreSQL, copied from Grafana's source:

- the front end substitutes dashboard variables (``$name``, ``${name}``): a single-valued
  variable's value goes in unquoted with each ``'`` doubled (packages/grafana-sql,
  ``SqlDatasource.interpolateVariable``), so the SQL quotes it;
- the back end expands the macros ``$__timeFilter(x)`` (``x BETWEEN '<from>' AND '<to>'``),
  ``$__timeFrom()`` and ``$__timeTo()`` (``'<from>'``, ``'<to>'``), times in UTC as Go's
  RFC 3339 with nanoseconds, found by Grafana's own pattern (pkg/tsdb/
  grafana-postgresql-datasource/macros.go). Any other macro is refused here, so a query
  using one fails this test rather than being run unexpanded.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
import pytest
import yaml

from deploy.monitoring.dashboards import WAREHOUSE_DASHBOARDS, rendered
from deploy.monitoring.dashboards.motion import RECENT_RECORDS, motion_activity
from deploy.monitoring.grafana import WAREHOUSE, WAREHOUSE_UID, dashboard_json
from services.motion.domain import Activity, ActivityRecord, Features
from services.motion.records import encode_record
from services.motion.sink.rows import processed_row
from services.motion.warehouse import PROCESSED, MotionWarehouse

T0 = 1_780_000_000_000  # 2026-05-28T20:26:40Z, ms
SLIDE = 2500
MACRO = re.compile(r"\$([_a-zA-Z0-9]+)\(([^\)]*)\)")  # Grafana's sExpr
VARIABLE = re.compile(r"\$\{(\w+)\}|\$(\w+)")
DASHBOARD = motion_activity()
PANELS = {panel.title: panel.queries[0].expr for panel in DASHBOARD.panels}
ROOT = Path(__file__).parents[2]


def go_rfc3339_nano(ms: int) -> str:
    """Go's ``time.RFC3339Nano`` of a UTC instant: trailing zeros of the fraction dropped."""
    moment = datetime.fromtimestamp(ms / 1000, UTC)
    fraction = f"{moment.microsecond:06d}".rstrip("0")
    return moment.strftime("%Y-%m-%dT%H:%M:%S") + (f".{fraction}" if fraction else "") + "Z"


def grafana_sql(sql: str, from_ms: int, to_ms: int, variables: Mapping[str, str]) -> str:
    """``sql`` as Grafana sends it to PostgreSQL: variables, then the time macros."""

    def variable(match: re.Match[str]) -> str:
        name = match.group(1) or match.group(2)
        if name.startswith("__"):  # a macro, left to the back end
            return match.group(0)
        return variables[name].replace("'", "''")

    def macro(match: re.Match[str]) -> str:
        name, args = match.group(1), [a.strip() for a in match.group(2).split(",")]
        start, end = go_rfc3339_nano(from_ms), go_rfc3339_nano(to_ms)
        if name == "__timeFilter" and args[0]:
            return f"{args[0]} BETWEEN '{start}' AND '{end}'"
        if name in ("__timeFrom", "__timeTo"):
            return f"'{start if name == '__timeFrom' else end}'"
        raise AssertionError(f"a macro the test does not expand: {match.group(0)}")

    return MACRO.sub(macro, VARIABLE.sub(variable, sql))


def window(device: str, session: str, n: int, activity: Activity, start_ms: int) -> ActivityRecord:
    """Window ``n`` of a session that began at ``start_ms`` (5 s sliding by 2.5 s).

    It owns its newest slide, the first window all of itself (the session's first reading).
    """
    start = start_ms + n * SLIDE
    owned_start = start if n == 0 else start + SLIDE
    magnitude = {Activity.STATIONARY: 9.81, Activity.WALKING: 10.6, Activity.RUNNING: 13.9}
    features = Features(magnitude.get(activity, 9.8) + n / 100, 0.1 + n, 1.8, 0.8, 50.0, 250, 1.0)
    confidence = 0.5 + n / 100
    return ActivityRecord(
        device, f"user-{device}", session, f"m{n}", start, start + 2 * SLIDE,
        owned_start, start + 2 * SLIDE, features, activity, confidence,
    )  # fmt: skip


def session(
    device: str, name: str, start_ms: int, activities: Sequence[Activity]
) -> list[ActivityRecord]:
    """Consecutive windows of one session, one per activity given."""
    return [window(device, name, n, a, start_ms) for n, a in enumerate(activities)]


WALK, RUN, STILL = Activity.WALKING, Activity.RUNNING, Activity.STATIONARY
# pixel-7: a walk turning into a run, 27.5 s of silence, then standing still.
PIXEL = session("pixel-7", "s1", T0, [WALK] * 6 + [RUN] * 6) + session(
    "pixel-7", "s2", T0 + 60_000, [STILL] * 4
)
# galaxy-s9 runs at the same time and past pixel-7's last window; long-1 has 60 windows.
GALAXY = session("galaxy-s9", "g1", T0 + 1000, [RUN] * 40)
LONG = session("long-1", "l1", T0, [Activity.UNKNOWN] * 3 + [WALK] * 57)
ALL_MS = (T0 - 60_000, T0 + 600_000)


@pytest.fixture
def warehouse(postgres_url: str) -> Iterator[psycopg.Connection[Any]]:
    """The warehouse tables, filled through the sink's own row mapping, and a connection."""
    made = MotionWarehouse(postgres_url)
    rows = [processed_row({"record": encode_record(r)}) for r in PIXEL + GALAXY + LONG]
    assert made.insert(PROCESSED, rows) == len(rows)
    made.close()
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        conn.execute("SET TIME ZONE 'UTC'")
        yield conn


def run(
    conn: psycopg.Connection[Any], sql: str, device: str, span: tuple[int, int] = ALL_MS
) -> tuple[list[str], list[tuple[Any, ...]]]:
    """Column names and rows of ``sql``, expanded for ``device`` over ``span`` (ms)."""
    cursor = conn.execute(grafana_sql(sql, *span, {"device": device}))  # type: ignore[arg-type]
    names = [column.name for column in cursor.description or []]
    return names, cursor.fetchall()


def ms(moment: datetime) -> int:
    """Milliseconds since the epoch of a timestamptz PostgreSQL returned."""
    return round(moment.timestamp() * 1000)


def owned_seconds(records: Sequence[ActivityRecord], span: tuple[int, int]) -> dict[str, float]:
    """Seconds each activity owns inside ``span``, added up here from the records."""
    seconds = {a.value: 0.0 for a in Activity}
    for r in records:
        clipped = min(r.owned_end_ms, span[1]) - max(r.owned_start_ms, span[0])
        seconds[r.activity.value] += max(clipped, 0) / 1000
    return seconds


def test_the_device_variable_lists_every_device_once_in_order(
    warehouse: psycopg.Connection[Any],
) -> None:
    [variable] = DASHBOARD.variables

    _, rows = run(warehouse, variable.sql, "unused")

    assert variable.name == "device"
    assert rows == [("galaxy-s9",), ("long-1",), ("pixel-7",)]


def test_the_current_activity_and_confidence_are_the_devices_last_windows(
    warehouse: psycopg.Connection[Any],
) -> None:
    last = PIXEL[-1]

    assert run(warehouse, PANELS["Current activity"], "pixel-7")[1] == [("stationary",)]
    assert run(warehouse, PANELS["Confidence"], "pixel-7")[1] == [(last.confidence,)]
    assert run(warehouse, PANELS["Current activity"], "galaxy-s9")[1] == [("running",)]


def test_the_current_activity_is_the_last_window_ending_by_the_ranges_end(
    warehouse: psycopg.Connection[Any],
) -> None:
    last_walk = PIXEL[5]
    span = (T0, last_walk.window_end_ms + SLIDE - 1)  # before the first running window's end

    [(activity,)] = run(warehouse, PANELS["Current activity"], "pixel-7", span)[1]
    [(confidence,)] = run(warehouse, PANELS["Confidence"], "pixel-7", span)[1]

    assert (activity, confidence) == ("walking", last_walk.confidence)


def test_the_magnitude_series_is_the_devices_windows_ending_in_the_range_in_time_order(
    warehouse: psycopg.Connection[Any],
) -> None:
    span = (PIXEL[3].window_end_ms, PIXEL[9].window_end_ms)

    names, rows = run(warehouse, PANELS["Average magnitude"], "pixel-7", span)

    assert names == ["time", "magnitude", "dynamic_rms"]
    assert [(ms(t), m, d) for t, m, d in rows] == [
        (r.window_end_ms, r.features.magnitude, r.features.dynamic_rms) for r in PIXEL[3:10]
    ]


def test_the_timeline_is_ordered_without_overlap_and_leaves_the_gaps_empty(
    warehouse: psycopg.Connection[Any],
) -> None:
    names, rows = run(warehouse, PANELS["Activity timeline"], "pixel-7")
    times = [ms(t) for t, _ in rows]
    s1_end, s2_end = PIXEL[11].owned_end_ms, PIXEL[-1].owned_end_ms

    assert names == ["time", "activity"]
    assert times == sorted(set(times)), "each row starts after the previous one"
    # A state lasts until the next row: each window's stretch, then nothing in the gaps.
    assert [(ms(t), a) for t, a in rows] == [
        *((r.owned_start_ms, r.activity.value) for r in PIXEL[:12]),
        (s1_end, None),
        *((r.owned_start_ms, r.activity.value) for r in PIXEL[12:]),
        (s2_end, None),
    ]


def test_the_timeline_is_clipped_to_the_range(warehouse: psycopg.Connection[Any]) -> None:
    span = (PIXEL[2].owned_start_ms + 700, PIXEL[4].owned_end_ms - 300)

    _, rows = run(warehouse, PANELS["Activity timeline"], "pixel-7", span)

    assert [(ms(t), a) for t, a in rows] == [
        (span[0], "walking"),
        (PIXEL[3].owned_start_ms, "walking"),
        (PIXEL[4].owned_start_ms, "walking"),
        (span[1], None),
    ]


@pytest.mark.parametrize(
    "span",
    [ALL_MS, (T0 + 3_700, T0 + 61_300), (T0 + 20_000, T0 + 20_001)],
    ids=["everything", "cutting-windows", "one-millisecond"],
)
def test_the_pie_shows_the_seconds_each_activity_owns_in_the_range(
    warehouse: psycopg.Connection[Any], span: tuple[int, int]
) -> None:
    names, [row] = run(warehouse, PANELS["Distribution"], "pixel-7", span)

    assert dict(zip(names, map(float, row), strict=True)) == pytest.approx(
        owned_seconds(PIXEL, span)
    )


def test_the_pie_counts_each_second_once_though_the_windows_overlap(
    warehouse: psycopg.Connection[Any],
) -> None:
    names, [row] = run(warehouse, PANELS["Distribution"], "pixel-7")
    seconds = dict(zip(names, map(float, row), strict=True))

    # s1: 2 slides in its first window, then 11 more; s2: 2 + 3 slides.
    assert seconds == {"unknown": 0, "stationary": 12.5, "walking": 17.5, "running": 15.0}


def test_the_recent_records_are_the_last_fifty_windows_newest_first(
    warehouse: psycopg.Connection[Any],
) -> None:
    names, rows = run(warehouse, PANELS["Recent records"], "long-1")
    newest = sorted(LONG, key=lambda r: r.window_end_ms, reverse=True)[:RECENT_RECORDS]

    assert names == [
        "window start", "window end", "activity", "confidence",
        "magnitude", "dynamic_rms", "cadence_hz", "samples",
    ]  # fmt: skip
    assert len(rows) == RECENT_RECORDS < len(LONG)
    assert [(ms(row[0]), ms(row[1]), *row[2:]) for row in rows] == [
        (r.window_start_ms, r.window_end_ms, r.activity.value, r.confidence,
         r.features.magnitude, r.features.dynamic_rms, r.features.cadence_hz, r.features.samples)
        for r in newest
    ]  # fmt: skip


def test_the_recent_records_hold_only_windows_ending_in_the_range(
    warehouse: psycopg.Connection[Any],
) -> None:
    span = (PIXEL[10].window_end_ms, T0 + 59_999)

    _, rows = run(warehouse, PANELS["Recent records"], "pixel-7", span)

    assert [ms(row[1]) for row in rows] == [PIXEL[11].window_end_ms, PIXEL[10].window_end_ms]


@pytest.mark.parametrize("title", PANELS)
def test_no_panel_shows_another_devices_windows(
    warehouse: psycopg.Connection[Any], title: str
) -> None:
    _, rows = run(warehouse, PANELS[title], "pixel-8")  # a device with no windows

    if title == "Distribution":
        assert [tuple(map(float, row)) for row in rows] == [(0.0, 0.0, 0.0, 0.0)]
    else:
        assert rows == []


def test_a_devices_panels_are_made_of_its_own_windows_only(
    warehouse: psycopg.Connection[Any],
) -> None:
    _, timeline = run(warehouse, PANELS["Activity timeline"], "galaxy-s9")
    _, records = run(warehouse, PANELS["Recent records"], "galaxy-s9")
    _, [pie] = run(warehouse, PANELS["Distribution"], "galaxy-s9")

    assert {a for _, a in timeline} == {"running", None}
    assert len(timeline) == len(GALAXY) + 1
    assert {ms(row[1]) for row in records} <= {r.window_end_ms for r in GALAXY}
    assert float(pie[3]) == owned_seconds(GALAXY, ALL_MS)["running"] == 102.5


@pytest.mark.parametrize("title", PANELS)
def test_every_panel_reads_the_devices_windows_through_the_device_and_end_index(
    warehouse: psycopg.Connection[Any], title: str
) -> None:
    # A few rows: a scan would be as cheap, and the key (device_id, window_key) as good.
    warehouse.execute(f"ALTER TABLE {PROCESSED.name} DROP CONSTRAINT user_activity_processed_pkey")
    warehouse.execute("SET enable_seqscan = off")

    _, plan = run(warehouse, f"EXPLAIN {PANELS[title]}", "pixel-7")
    conditions = [line for (line,) in plan if "Index Cond" in line]

    assert conditions, plan
    assert all("device_id = 'pixel-7'" in c and "window_end_ms" in c for c in conditions), plan


def test_a_device_value_holding_a_quote_is_a_value_not_sql(
    warehouse: psycopg.Connection[Any],
) -> None:
    hostile = "x' OR 'a' = 'a"

    assert run(warehouse, PANELS["Recent records"], hostile)[1] == []
    assert run(warehouse, PANELS["Current activity"], hostile)[1] == []


def test_the_expansion_follows_grafanas_macros_and_their_pattern() -> None:
    expanded = grafana_sql("WHERE $__timeFilter(ts) AND d = '$device'", T0, T0 + 1500, {
        "device": "o'k"
    })  # fmt: skip
    # Grafana's pattern ends an argument at its first ")": why motion.py avoids it there.
    nested = grafana_sql("$__timeFilter(to_timestamp(ms))", T0, T0 + 1, {})

    assert expanded == (
        "WHERE ts BETWEEN '2026-05-28T20:26:40Z' AND '2026-05-28T20:26:41.5Z' AND d = 'o''k'"
    )
    assert nested.startswith("to_timestamp(ms BETWEEN '")
    with pytest.raises(AssertionError, match="does not expand"):
        grafana_sql("$__timeGroup(ts, '1m')", T0, T0, {})


def test_every_query_targets_the_provisioned_warehouse_datasource() -> None:
    provisioned = yaml.safe_load(
        (ROOT / "deploy/monitoring/grafana/provisioning/datasources/warehouse.yml").read_text()
    )
    [source] = provisioned["datasources"]
    built = dashboard_json(DASHBOARD)
    targets = [target for panel in built["panels"] for target in panel["targets"]]
    settings = [source["url"], source["user"], *source["jsonData"].values()]

    assert {source["uid"], source["type"]} == {WAREHOUSE_UID, WAREHOUSE["type"]}
    assert all(t["datasource"] == WAREHOUSE and t["rawSql"] == t["rawSql"].strip() for t in targets)
    assert [t["rawSql"] for t in targets] == list(PANELS.values())
    assert built["templating"]["list"][0]["datasource"] == WAREHOUSE
    # Address, user and password come from Grafana's environment, never from the file.
    assert re.fullmatch(r"\$\{GRAFANA_WAREHOUSE_[A-Z]+\}", source["secureJsonData"]["password"])
    assert all(re.fullmatch(r"\$\{GRAFANA_WAREHOUSE_[A-Z]+\}", s) for s in settings[:4])


def test_the_motion_dashboard_is_generated_into_the_committed_folder() -> None:
    name = f"{DASHBOARD.uid}.json"
    committed = ROOT / "deploy/monitoring/grafana/dashboards" / name

    assert motion_activity in WAREHOUSE_DASHBOARDS
    assert committed.read_text() == rendered()[name]
