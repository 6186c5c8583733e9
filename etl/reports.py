"""The reporting views, by the names the CLI knows them, and a plain-text table printer."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from etl.warehouse import Warehouse


@dataclass(frozen=True)
class Report:
    """A view and the order its rows read best in."""

    view: str
    order_by: str
    title: str


REPORTS = {
    "calories-per-user-week": Report(
        "report_calories_per_user_week",
        "iso_year DESC, iso_week DESC, calories DESC",
        "Calories burned per user per ISO week",
    ),
    "active-users-per-day": Report(
        "report_active_users_per_day", "date DESC", "Users with a workout, per UTC day"
    ),
    "goal-completion-rate": Report(
        "report_goal_completion_rate", "goal_type", "Goals achieved, of those decided"
    ),
    "workout-type-mix": Report("report_workout_type_mix", "workouts DESC", "Workouts by type"),
    "health-per-user-week": Report(
        "report_health_per_user_week",
        "iso_year DESC, iso_week DESC, user_id",
        "Resting heart rate, steps, zone minutes and sleep per user per ISO week",
    ),
}
RUNS_QUERY = (
    "SELECT run_id, trigger, status, interval_start, interval_end, committed_to, rows_read,"
    " rows_written, rows_quarantined, round(duration_seconds::numeric, 2) AS seconds,"
    " started_at, error"
    " FROM etl_runs ORDER BY started_at DESC LIMIT %s"
)

QUARANTINE_QUERY = (
    "SELECT source, record_key, reason, last_seen_at, record FROM etl_quarantine"
    " ORDER BY last_seen_at DESC, source, record_key LIMIT %s"
)


def fetch(warehouse: Warehouse, name: str, limit: int) -> tuple[list[str], list[tuple[Any, ...]]]:
    """Columns and up to ``limit`` rows of a named report."""
    report = REPORTS[name]  # view and order come from this table, never from input
    statement = f"SELECT * FROM {report.view} ORDER BY {report.order_by} LIMIT %s"
    return warehouse.query(statement, (limit,))


def render(columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """An aligned text table, numbers right-aligned."""
    cells = [[_text(value) for value in row] for row in rows]
    widths = [max([len(c), *(len(row[i]) for row in cells)]) for i, c in enumerate(columns)]
    numeric = [bool(rows) and all(_is_number(row[i]) for row in rows) for i in range(len(columns))]

    def line(values: Sequence[str]) -> str:
        return "  ".join(
            v.rjust(w) if right else v.ljust(w)
            for v, w, right in zip(values, widths, numeric, strict=True)
        ).rstrip()

    rule = "  ".join("-" * w for w in widths)
    return "\n".join([line(list(columns)), rule, *(line(row) for row in cells)])


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def _is_number(value: Any) -> bool:
    return value is None or (isinstance(value, int | float) or type(value).__name__ == "Decimal")
