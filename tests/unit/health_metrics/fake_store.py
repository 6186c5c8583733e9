"""FakeHealthStore: the HealthStore in memory, with the PostgreSQL store's semantics.

Points upserted by (user, metric, time); a write that inserts or changes a point, and a
delete, mark its minute dirty (a minute already waiting keeps its place in the queue);
``refresh`` claims the oldest dirty minutes, recomputes them from the raw points, then
their hours from the minute rollups, then their days from the hour rollups. Reads of
rollups see the last refresh only, as the real store's do.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from services.common.timeutil import utc_now
from services.health_metrics.domain import (
    Metric,
    Point,
    Resolution,
    Rollup,
    SleepOverlap,
    SleepSession,
    StoreUnavailable,
)
from services.health_metrics.repository import RefreshReport, Written

Series = tuple[str, Metric]
MINUTE = timedelta(minutes=1)
HOUR = timedelta(hours=1)
DAY = timedelta(days=1)


def minute_of(moment: datetime) -> datetime:
    """The start of the UTC minute of ``moment``."""
    return moment.replace(second=0, microsecond=0)


def hour_of(moment: datetime) -> datetime:
    """The start of the UTC hour of ``moment``."""
    return moment.replace(minute=0, second=0, microsecond=0)


def day_of(moment: datetime) -> datetime:
    """The start of the UTC day of ``moment``."""
    return moment.replace(hour=0, minute=0, second=0, microsecond=0)


def aggregate(start: datetime, values: Sequence[float]) -> Rollup:
    """The bucket of the points with ``values``."""
    return Rollup(start, min(values), max(values), sum(values), len(values))


def merge(start: datetime, parts: Sequence[Rollup]) -> Rollup:
    """The bucket made of smaller ones (hours of minutes, days of hours)."""
    return Rollup(
        start,
        min(part.low for part in parts),
        max(part.high for part in parts),
        sum(part.total for part in parts),
        sum(part.count for part in parts),
    )


@dataclass
class FakeHealthStore:
    """In-memory HealthStore; set ``unavailable`` to make every call fail as an outage."""

    clock: Callable[[], datetime] = utc_now
    points: dict[Series, dict[datetime, float]] = field(default_factory=dict)
    # (user, metric, minute) -> when it was marked; dict order is the queue's order.
    dirty: dict[tuple[str, Metric, datetime], datetime] = field(default_factory=dict)
    rollups: dict[tuple[str, Metric, Resolution], dict[datetime, Rollup]] = field(
        default_factory=dict
    )
    sessions: dict[str, dict[datetime, SleepSession]] = field(default_factory=dict)
    linked: list[str] = field(default_factory=list)
    ingested: dict[str, date] = field(default_factory=dict)
    unavailable: bool = False

    def _check(self) -> None:
        if self.unavailable:
            raise StoreUnavailable("the fake store is down")

    def _mark(self, user_id: str, metric: Metric, moment: datetime) -> None:
        self.dirty.setdefault((user_id, metric, minute_of(moment)), self.clock())

    def write_points(self, user_id: str, metric: Metric, points: Sequence[Point]) -> Written:
        """Upsert; only inserted or changed points mark their minute dirty."""
        self._check()
        stored = self.points.setdefault((user_id, metric), {})
        changed = 0
        for point in points:
            if stored.get(point.time) != point.value:
                stored[point.time] = point.value
                self._mark(user_id, metric, point.time)
                changed += 1
        return Written(changed, len(points) - changed)

    def delete_points(self, user_id: str, metric: Metric, start: datetime, end: datetime) -> int:
        """Delete ``start <= time < end``, marking the minutes."""
        self._check()
        stored = self.points.get((user_id, metric), {})
        doomed = [moment for moment in stored if start <= moment < end]
        for moment in doomed:
            del stored[moment]
            self._mark(user_id, metric, moment)
        return len(doomed)

    def read_points(
        self,
        user_id: str,
        metric: Metric,
        start: datetime,
        end: datetime,
        after: datetime | None,
        limit: int,
    ) -> list[Point]:
        """Stored points in the range (after ``after``), oldest first."""
        self._check()
        stored = self.points.get((user_id, metric), {})
        times = _window(stored, start, end, after)[:limit]
        return [Point(moment, stored[moment]) for moment in times]

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
        """Buckets starting in the range (after ``after``), oldest first."""
        self._check()
        buckets = self.rollups.get((user_id, metric, resolution), {})
        return [buckets[moment] for moment in _window(buckets, start, end, after)[:limit]]

    def rollup_before(
        self, user_id: str, metric: Metric, resolution: Resolution, before: datetime
    ) -> Rollup | None:
        """The last bucket starting before ``before``."""
        self._check()
        buckets = self.rollups.get((user_id, metric, resolution), {})
        earlier = [moment for moment in buckets if moment < before]
        return buckets[max(earlier)] if earlier else None

    def refresh(self, max_minutes: int) -> RefreshReport:
        """Recompute the oldest dirty minutes, then their hours, then their days."""
        self._check()
        claimed = list(self.dirty)[:max_minutes]
        for key in claimed:
            del self.dirty[key]
        for user_id, metric, minute in claimed:
            self._recompute_minute(user_id, metric, minute)
        hours = {(user_id, metric, hour_of(minute)) for user_id, metric, minute in claimed}
        for user_id, metric, hour in hours:
            self._recompute(user_id, metric, Resolution.HOUR, hour, HOUR, Resolution.MINUTE)
        days = {(user_id, metric, day_of(hour)) for user_id, metric, hour in hours}
        for user_id, metric, day in days:
            self._recompute(user_id, metric, Resolution.DAY, day, DAY, Resolution.HOUR)
        return RefreshReport(len(claimed), len(hours), len(days), len(self.dirty))

    def _recompute_minute(self, user_id: str, metric: Metric, minute: datetime) -> None:
        stored = self.points.get((user_id, metric), {})
        values = [value for moment, value in stored.items() if minute_of(moment) == minute]
        self._put(
            user_id,
            metric,
            Resolution.MINUTE,
            minute,
            aggregate(minute, values) if values else None,
        )

    def _recompute(
        self,
        user_id: str,
        metric: Metric,
        resolution: Resolution,
        start: datetime,
        span: timedelta,
        source: Resolution,
    ) -> None:
        parts = self.rollups.get((user_id, metric, source), {})
        inside = [rollup for moment, rollup in parts.items() if start <= moment < start + span]
        self._put(user_id, metric, resolution, start, merge(start, inside) if inside else None)

    def _put(
        self,
        user_id: str,
        metric: Metric,
        resolution: Resolution,
        start: datetime,
        rollup: Rollup | None,
    ) -> None:
        """Store the bucket; an empty one (None) has no row."""
        buckets = self.rollups.setdefault((user_id, metric, resolution), {})
        if rollup is None:
            buckets.pop(start, None)
        else:
            buckets[start] = rollup

    def dirty_minutes(self) -> int:
        """Minutes waiting for a refresh."""
        self._check()
        return len(self.dirty)

    def oldest_dirty_seconds(self) -> float:
        """How long the longest-waiting minute has waited."""
        self._check()
        if not self.dirty:
            return 0.0
        return max(0.0, (self.clock() - min(self.dirty.values())).total_seconds())

    def write_sleep(self, user_id: str, sessions: Sequence[SleepSession]) -> Written:
        """Upsert by (user, start): a new shape replaces the stored session."""
        self._check()
        stored = self.sessions.setdefault(user_id, {})
        for session in sessions:
            for other in stored.values():
                if other.start != session.start and overlap(other, session):
                    raise SleepOverlap(f"overlaps the stored session at {other.start}")
        changed = 0
        for session in sessions:
            if stored.get(session.start) != session:
                stored[session.start] = session
                changed += 1
        return Written(changed, len(sessions) - changed)

    def read_sleep(self, user_id: str, start: datetime, end: datetime) -> list[SleepSession]:
        """Sessions ending in ``[start, end)``, oldest first."""
        self._check()
        stored = self.sessions.get(user_id, {}).values()
        return sorted((s for s in stored if start <= s.end < end), key=lambda s: s.start)

    def delete_user(self, user_id: str) -> None:
        """Forget everything of the user."""
        self._check()
        self.points = {k: v for k, v in self.points.items() if k[0] != user_id}
        self.dirty = {k: v for k, v in self.dirty.items() if k[0] != user_id}
        self.rollups = {k: v for k, v in self.rollups.items() if k[0] != user_id}
        self.sessions.pop(user_id, None)
        self.ingested.pop(user_id, None)
        if user_id in self.linked:
            self.linked.remove(user_id)

    def link_simulator(self, user_id: str) -> bool:
        """Link once; False when linked already."""
        self._check()
        if user_id in self.linked:
            return False
        self.linked.append(user_id)
        return True

    def simulated_users(self) -> list[str]:
        """Linked users in linking order."""
        self._check()
        return list(self.linked)

    def ingested_through(self, user_id: str) -> date | None:
        """The last simulated day stored for the user."""
        self._check()
        return self.ingested.get(user_id)

    def mark_ingested(self, user_id: str, day: date) -> None:
        """Record the ingester's resume point."""
        self._check()
        self.ingested[user_id] = day


def _window(
    keyed: Iterable[datetime], start: datetime, end: datetime, after: datetime | None
) -> list[datetime]:
    """The times in ``[start, end)`` and after ``after``, in order."""
    return sorted(t for t in keyed if start <= t < end and (after is None or t > after))


def overlap(a: SleepSession, b: SleepSession) -> bool:
    """Whether two sessions share a moment."""
    return a.start < b.end and b.start < a.end
