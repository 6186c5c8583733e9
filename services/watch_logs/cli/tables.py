"""Plain-text tables for the terminal, and the report tables of the gateway's answers."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

Columns = tuple[tuple[str, str], ...]  # (title, field)

AGGREGATE_COLUMNS: Columns = (
    ("user", "user_id"),
    ("start", "start"),
    ("samples", "samples"),
    ("steps", "steps"),
    ("active min", "active_minutes"),
    ("kcal", "calories"),
    ("distance m", "distance_m"),
    ("floors", "floors"),
    ("mean HR", "mean_heart_rate"),
    ("max HR", "max_heart_rate"),
    ("battery drain", "battery_drain"),
)
SUMMARY_COLUMNS: Columns = (
    ("day", "date"),
    ("samples", "samples"),
    ("steps", "steps"),
    ("active min", "active_minutes"),
    ("kcal", "calories"),
    ("distance m", "distance_m"),
    ("floors", "floors"),
    ("mean HR", "mean_heart_rate"),
    ("max HR", "max_heart_rate"),
)
PIPELINE_COLUMNS: Columns = (
    ("stream", "stream"),
    ("length", "length"),
    ("lag", "lag"),
    ("pending", "pending"),
    ("dead letters", "dead_letters"),
)


def cell(value: Any) -> str:
    """A value as a table shows it: floats with one decimal, None as '-'."""
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:,.1f}"
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    return str(value)


def _numeric(text: str) -> bool:
    return text.replace(",", "").replace(".", "", 1).lstrip("-").isdigit()


def render(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """Columns padded to their widest cell, numbers right-aligned, a rule under the header."""
    widths = [len(h) for h in headers]
    for row in rows:
        widths = [max(w, len(c)) for w, c in zip(widths, row, strict=True)]

    def line(cells: Sequence[str]) -> str:
        parts = [
            c.rjust(w) if _numeric(c) else c.ljust(w) for c, w in zip(cells, widths, strict=True)
        ]
        return "  ".join(parts).rstrip()

    rule = "  ".join("-" * w for w in widths)
    return "\n".join([line(headers), rule, *(line(r) for r in rows)])


def table(columns: Sequence[tuple[str, str]], items: Sequence[dict[str, Any]]) -> str:
    """The items as a table of the named fields ('(none)' for no items)."""
    if not items:
        return "(none)"
    rows = [[cell(item.get(key)) for _, key in columns] for item in items]
    return render([title for title, _ in columns], rows)
