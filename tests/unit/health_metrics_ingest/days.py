"""Simulated days the ingest tests share (a day takes ~0.5 s to simulate: cached)."""

from __future__ import annotations

import functools
from datetime import date, timedelta

from services.health_metrics.simulator import SimulatedDay, simulate_day

FIRST = date(2024, 1, 1)
DAYS = tuple(FIRST + timedelta(days=n) for n in range(3))


@functools.cache
def day_of(user_id: str, day: date = FIRST, seed: int = 0) -> SimulatedDay:
    """The simulated day, computed once per test session."""
    return simulate_day(user_id, day, seed)
