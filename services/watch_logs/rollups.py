"""Hourly and daily rollups of stored logs (pure: no I/O)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from itertools import pairwise
from operator import itemgetter

from services.watch_logs.domain import ACTIVE_ACTIVITIES, BucketWidth, Rollup, StoredLog


@dataclass
class _Sums:
    samples: int = 0
    steps: int = 0
    active_seconds: float = 0.0
    calories: float = 0.0
    distance_m: float = 0.0
    floors: int = 0
    heart_rate_sum: int = 0
    heart_rate_count: int = 0
    max_heart_rate: int = 0
    battery_drain: int = 0

    def add(self, stored: StoredLog) -> None:
        log = stored.log
        self.samples += 1
        self.steps += log.steps
        self.calories += log.calories
        self.distance_m += log.distance_m
        self.floors += log.floors
        if log.activity in ACTIVE_ACTIVITIES:
            self.active_seconds += log.duration_s
        if log.heart_rate:
            self.heart_rate_sum += log.heart_rate
            self.heart_rate_count += 1
            self.max_heart_rate = max(self.max_heart_rate, log.heart_rate)


@dataclass
class _Rollups:
    width: BucketWidth
    sums: dict[tuple[str, datetime], _Sums] = field(default_factory=lambda: defaultdict(_Sums))

    def bucket(self, stored: StoredLog) -> _Sums:
        return self.sums[(stored.user_id, bucket_start(stored.log.timestamp, self.width))]


def bucket_start(moment: datetime, width: BucketWidth) -> datetime:
    """The start (UTC) of the hour or day holding ``moment``."""
    moment = moment.astimezone(UTC)
    if width is BucketWidth.DAY:
        return moment.replace(hour=0, minute=0, second=0, microsecond=0)
    return moment.replace(minute=0, second=0, microsecond=0)


def roll_up(logs: Iterable[StoredLog], width: BucketWidth) -> list[Rollup]:
    """One Rollup per user and bucket holding logs, in (user, start) order.

    Battery drain is the sum of the drops between a watch's consecutive samples (rises,
    i.e. charging, are not counted), each drop credited to the later sample's bucket.
    """
    rollups = _Rollups(width)
    # Only (time, battery) per watch is kept for the drain, not the logs themselves.
    levels: dict[tuple[str, str], list[tuple[datetime, int]]] = defaultdict(list)
    for stored in logs:
        rollups.bucket(stored).add(stored)
        levels[(stored.user_id, stored.log.device_id)].append(
            (stored.log.timestamp, stored.log.battery)
        )
    for (user_id, _), samples in levels.items():
        _add_drain(rollups, user_id, sorted(samples, key=itemgetter(0)))  # stable in time
    return [_rollup(user, start, sums) for (user, start), sums in sorted(rollups.sums.items())]


def _add_drain(rollups: _Rollups, user_id: str, samples: list[tuple[datetime, int]]) -> None:
    for (_, before), (moment, after) in pairwise(samples):
        if before > after:
            key = (user_id, bucket_start(moment, rollups.width))
            rollups.sums[key].battery_drain += before - after


def _rollup(user_id: str, start: datetime, sums: _Sums) -> Rollup:
    mean = sums.heart_rate_sum / sums.heart_rate_count if sums.heart_rate_count else 0.0
    return Rollup(
        user_id=user_id,
        start=start,
        samples=sums.samples,
        steps=sums.steps,
        active_minutes=sums.active_seconds / 60,
        calories=sums.calories,
        distance_m=sums.distance_m,
        floors=sums.floors,
        mean_heart_rate=mean,
        max_heart_rate=sums.max_heart_rate,
        battery_drain=sums.battery_drain,
    )
