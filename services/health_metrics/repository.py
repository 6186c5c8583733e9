"""The port of the health-metrics store: what the use cases need from it.

The adapter is PostgreSQL (``services.health_metrics.postgres``). Every method blocks;
the gRPC server runs them on its worker threads. Every method raises StoreUnavailable
when the database does not answer, and nothing else for a store that works.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Protocol

from services.health_metrics.domain import Metric, Point, Resolution, Rollup, SleepSession


@dataclass(frozen=True)
class Written:
    """What an upsert did: points inserted or given a new value, and points already so."""

    changed: int
    unchanged: int


@dataclass(frozen=True)
class RefreshReport:
    """What one refresh recomputed, and how many dirty minutes are left for the next."""

    minutes: int
    hours: int
    days: int
    remaining: int


class HealthStore(Protocol):
    """Raw points by (user, metric, time), their 1m/1h/1d rollups, and sleep sessions."""

    def write_points(self, user_id: str, metric: Metric, points: Sequence[Point]) -> Written:
        """Upsert ``points`` (distinct times) in one transaction, marking dirty the minute
        of every point inserted or whose value changed; a point already stored with the
        same value changes nothing and marks nothing."""
        ...

    def delete_points(self, user_id: str, metric: Metric, start: datetime, end: datetime) -> int:
        """Delete the points with ``start <= time < end`` in one transaction, marking their
        minutes dirty; how many were deleted."""
        ...

    def read_points(
        self,
        user_id: str,
        metric: Metric,
        start: datetime,
        end: datetime,
        after: datetime | None,
        limit: int,
    ) -> list[Point]:
        """Stored points with ``start <= time < end`` (and ``time > after``), oldest first."""
        ...

    def read_rollups(
        self,
        user_id: str,
        metric: Metric,
        resolution: Resolution,
        start: datetime,
        end: datetime,
        after: datetime | None,
        limit: int,
    ) -> list[Rollup]:
        """Buckets of ``resolution`` (not RAW) whose start is in ``[start, end)`` (and
        ``> after``), oldest first, as of the last refresh. Empty buckets have no row."""
        ...

    def rollup_before(
        self, user_id: str, metric: Metric, resolution: Resolution, before: datetime
    ) -> Rollup | None:
        """The last bucket of ``resolution`` starting before ``before`` (for gap filling)."""
        ...

    def refresh(self, max_minutes: int) -> RefreshReport:
        """Recompute the rollups of up to ``max_minutes`` dirty minutes, then their hours,
        then their days, in one transaction; refreshes never run at once (they take a
        lock), and a write during one marks its minute dirty again for the next."""
        ...

    def dirty_minutes(self) -> int:
        """How many minutes wait for a refresh."""
        ...

    def oldest_dirty_seconds(self) -> float:
        """How long the longest-waiting dirty minute has waited (0 when none waits)."""
        ...

    def write_sleep(self, user_id: str, sessions: Sequence[SleepSession]) -> Written:
        """Upsert sessions by (user, start) in one transaction: a session with a stored
        start replaces that one (its stages too); the same session again changes nothing."""
        ...

    def read_sleep(self, user_id: str, start: datetime, end: datetime) -> list[SleepSession]:
        """Sessions ending in ``[start, end)``, oldest first, with their stages."""
        ...

    def delete_user(self, user_id: str) -> None:
        """Forget everything of the user (an erased account)."""
        ...

    def link_simulator(self, user_id: str) -> bool:
        """Link a simulated device to the user; False when one was linked already."""
        ...

    def simulated_users(self) -> list[str]:
        """The users with a linked simulated device, in the order they linked it."""
        ...

    def ingested_through(self, user_id: str) -> date | None:
        """The last simulated day the ingester stored for the user (None before any)."""
        ...

    def mark_ingested(self, user_id: str, day: date) -> None:
        """Record that the simulated ``day`` of the user is stored (the ingester's resume point)."""
        ...
