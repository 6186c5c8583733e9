"""Linear gap filling of a bucketed series, and cutting a series into pages.

Pure: the service reads the buckets, this decides which imputed points lie between them
and where a page ends. Imputed points are made on every read and never stored, so they
can never stand in for real data.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import datetime, timedelta

from services.health_metrics.domain import Resolution, SeriesPoint

# The longest gap (missing buckets between two real ones) that is filled: an hour of
# minutes, a quarter-day of hours, a weekend of days. Longer gaps are left empty.
MAX_FILL_GAP: dict[Resolution, int] = {
    Resolution.MINUTE: 60,
    Resolution.HOUR: 6,
    Resolution.DAY: 2,
}


def between(a: SeriesPoint, b: SeriesPoint, step: timedelta, max_gap: int) -> list[SeriesPoint]:
    """The imputed points at the bucket starts missing between ``a`` and ``b`` (none if
    more than ``max_gap`` are missing), linearly interpolated and marked imputed."""
    missing = (b.time - a.time) // step - 1
    if not 1 <= missing <= max_gap:
        return []
    low, high = min(a.value, b.value), max(a.value, b.value)
    points = []
    for k in range(1, missing + 1):
        # Clamped: rounding must not put a value outside its neighbours.
        value = min(max(a.value + (b.value - a.value) * k / (missing + 1), low), high)
        points.append(SeriesPoint(a.time + k * step, value, value, value, 0, imputed=True))
    return points


def filled(
    left: SeriesPoint | None, real: Iterable[SeriesPoint], step: timedelta, max_gap: int
) -> Iterator[SeriesPoint]:
    """The real points in order with the gaps between consecutive ones filled; ``left``
    (a real point before them, or None) only fills the gap before the first."""
    previous = left
    for point in real:
        if previous is not None:
            yield from between(previous, point, step, max_gap)
        yield point
        previous = point


def cut_page(
    series: Iterable[SeriesPoint], after: datetime | None, size: int, most: int
) -> tuple[list[SeriesPoint], bool]:
    """The points of ``series`` after ``after``, up to ``size`` real ones and ``most`` in
    all, and whether any point follows them (then the next page starts after the last)."""
    page: list[SeriesPoint] = []
    real = 0
    for point in series:
        if after is not None and point.time <= after:
            continue
        # A page holds one point at least, whatever the limits: every page moves on.
        if page and (len(page) >= most or (real >= size and not point.imputed)):
            return page, True
        page.append(point)
        real += not point.imputed
    return page, False
