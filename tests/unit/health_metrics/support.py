"""What the health-metrics unit tests share: a fixed now, times of a test day, the deps."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from services.health_metrics import service
from services.health_metrics.domain import Point, SeriesPage, SeriesPoint
from services.health_metrics.service import HealthDeps, Limits
from tests.unit.health_metrics.fake_store import FakeHealthStore

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
DAY = datetime(2026, 5, 1, tzinfo=UTC)  # a day well inside the accepted window
USER = "user-1"


def deps(store: FakeHealthStore, limits: Limits | None = None) -> HealthDeps:
    """The use cases' dependencies at NOW."""
    return HealthDeps(store=store, limits=limits or Limits(), clock=lambda: NOW)


def at(minutes: float = 0, hours: float = 0, days: float = 0) -> datetime:
    """A time that far after the start of DAY."""
    return DAY + timedelta(minutes=minutes, hours=hours, days=days)


def points(*pairs: tuple[datetime, float]) -> list[Point]:
    """Points of (time, value) pairs."""
    return [Point(time, value) for time, value in pairs]


def stored(store: FakeHealthStore, metric: str, pairs: Sequence[tuple[datetime, float]]) -> None:
    """Write the points for USER through the use case, then refresh every rollup."""
    result = service.write_points(deps(store), USER, metric, points(*pairs))
    assert result.rejected == ()
    store.refresh(1_000_000)


def all_pages(
    d: HealthDeps,
    metric: str,
    start: datetime,
    end: datetime,
    resolution: str,
    fill: str,
    page_size: int,
) -> list[SeriesPage]:
    """Every page of a read, following the tokens."""
    pages = [service.read_series(d, USER, metric, start, end, resolution, fill, page_size, "")]
    while pages[-1].next_page_token:
        token = pages[-1].next_page_token
        pages.append(
            service.read_series(d, USER, metric, start, end, resolution, fill, page_size, token)
        )
    return pages


def joined(pages: Sequence[SeriesPage]) -> list[SeriesPoint]:
    """The points of the pages, in page order."""
    return [point for page in pages for point in page.points]
