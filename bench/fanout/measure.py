"""One measurement, the same steps on every path: join, weigh server 2, spaced events, burst."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

import psutil
import uvloop

from bench.fanout.receivers import Audience
from bench.fanout.stats import Result, percentiles_ms

LATENCY_EVENTS = 20
LATENCY_SPACING = 0.1
MEASUREMENT_TIMEOUT = 300.0
SETTLE_SECONDS = 2.0


def run_measurement(measurement: Coroutine[Any, Any, Result]) -> Result:
    """Run one path's measurement on uvloop (the same loop for every path), 300 s at most."""
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        return runner.run(asyncio.wait_for(measurement, MEASUREMENT_TIMEOUT))


async def measure(
    audience: Audience, send: Callable[[float], Awaitable[None]], events: int
) -> tuple[list[float], float, int]:
    """Latency from spaced events, then deliveries/s from a burst; and how many were lost."""
    spaced = await audience.phase_of(send, LATENCY_EVENTS, LATENCY_SPACING)
    started = time.time()
    burst = await audience.phase_of(send, events, 0.0)
    rate = len(burst.latencies) / max(burst.last_at - started, 1e-9)
    lost = spaced.expected - len(spaced.latencies) + burst.expected - len(burst.latencies)
    return spaced.latencies, rate, lost


async def joined_and_measured(
    audience: Audience,
    receivers: Callable[[], Awaitable[object]],
    server: psutil.Process,
    participants: int,
    start_sending: Callable[[], Awaitable[Callable[[float], Awaitable[None]]]],
    events: int,
) -> Result:
    """Join the receivers, weigh server 2 once joins settle, then measure; the common steps."""
    memory_before = server.memory_info().rss
    await receivers()
    await asyncio.sleep(SETTLE_SECONDS)  # let the join storm settle before weighing
    per_connection = (server.memory_info().rss - memory_before) / participants
    send = await start_sending()
    latencies, rate, lost = await measure(audience, send, events)
    p50, p99 = percentiles_ms(latencies)
    return Result(p50, p99, rate, lost, per_connection / 1024)
