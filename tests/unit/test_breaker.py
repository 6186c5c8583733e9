"""The asyncio adapter around pybreaker: counting, concurrency, and timing by a fake clock."""

from __future__ import annotations

import asyncio

import grpc
import pytest

from services.common.upstream.breaker import AsyncCircuitBreaker, BreakerOpen
from tests.helpers import FakeClock, failing


async def succeeding() -> str:
    """A call that succeeds after yielding to the loop."""
    await asyncio.sleep(0)
    return "ok"


def breaker(clock: FakeClock, fail_max: int = 3) -> AsyncCircuitBreaker:
    """A breaker with a short threshold and a 10 s reset timeout."""
    return AsyncCircuitBreaker("test", fail_max=fail_max, reset_timeout=10, clock=clock)


async def trip(cb: AsyncCircuitBreaker, times: int) -> None:
    """Feed the breaker ``times`` counted failures."""
    for _ in range(times):
        with pytest.raises(grpc.aio.AioRpcError):
            await cb.call(failing)


async def test_async_failures_are_counted_and_open_the_breaker() -> None:
    cb = breaker(FakeClock())
    await trip(cb, 2)
    assert cb.state == "closed"
    assert cb.fail_counter == 2
    await trip(cb, 1)
    assert cb.state == "open"


async def test_concurrent_failures_are_all_counted() -> None:
    cb = breaker(FakeClock(), fail_max=5)
    results = await asyncio.gather(*(cb.call(failing) for _ in range(5)), return_exceptions=True)
    assert all(isinstance(r, grpc.aio.AioRpcError) for r in results)
    assert cb.state == "open"


@pytest.mark.parametrize(
    "code",
    [grpc.StatusCode.NOT_FOUND, grpc.StatusCode.INVALID_ARGUMENT, grpc.StatusCode.ALREADY_EXISTS],
)
async def test_answers_from_a_live_instance_do_not_count(code: grpc.StatusCode) -> None:
    cb = breaker(FakeClock())
    await trip(cb, 2)
    with pytest.raises(grpc.aio.AioRpcError):
        await cb.call(lambda: failing(code))
    assert cb.fail_counter == 0
    assert cb.state == "closed"


async def test_deadline_exceeded_counts_like_unavailable() -> None:
    cb = breaker(FakeClock(), fail_max=1)
    with pytest.raises(grpc.aio.AioRpcError):
        await cb.call(lambda: failing(grpc.StatusCode.DEADLINE_EXCEEDED))
    assert cb.state == "open"


async def test_calls_are_not_serialized() -> None:
    """Every call must be in flight at once: a lock held across the await would deadlock here."""
    cb = breaker(FakeClock())
    in_flight = 0
    all_started = asyncio.Event()

    async def waits_for_the_others() -> int:
        nonlocal in_flight
        in_flight += 1
        if in_flight == 20:
            all_started.set()
        await asyncio.wait_for(all_started.wait(), timeout=5)
        return in_flight

    results = await asyncio.gather(*(cb.call(waits_for_the_others) for _ in range(20)))
    assert results == [20] * 20


async def test_an_open_breaker_refuses_without_calling() -> None:
    clock = FakeClock()
    cb = breaker(clock)
    await trip(cb, 3)
    called = False

    async def should_not_run() -> None:
        nonlocal called
        called = True

    clock.advance(4)
    with pytest.raises(BreakerOpen) as refused:
        await cb.call(should_not_run)
    assert not called
    assert refused.value.retry_after == 6


async def test_after_the_reset_timeout_one_trial_closes_it() -> None:
    clock = FakeClock()
    cb = breaker(clock)
    await trip(cb, 3)
    clock.advance(10)
    assert cb.allows_calls()
    assert await cb.call(succeeding) == "ok"
    assert cb.state == "closed"
    assert cb.fail_counter == 0


async def test_a_failed_trial_reopens_for_another_timeout() -> None:
    clock = FakeClock()
    cb = breaker(clock)
    await trip(cb, 3)
    clock.advance(10)
    await trip(cb, 1)
    assert cb.state == "open"
    assert cb.retry_after() == 10


async def test_only_one_trial_runs_while_half_open() -> None:
    clock = FakeClock()
    cb = breaker(clock)
    await trip(cb, 3)
    clock.advance(10)
    release = asyncio.Event()

    async def slow_trial() -> str:
        await release.wait()
        return "ok"

    trial = asyncio.create_task(cb.call(slow_trial))
    await asyncio.sleep(0)
    assert cb.state == "half-open"
    with pytest.raises(BreakerOpen):
        await cb.call(succeeding)
    release.set()
    assert await trial == "ok"
    assert cb.state == "closed"


async def test_a_cancelled_trial_frees_the_half_open_slot() -> None:
    clock = FakeClock()
    cb = breaker(clock)
    await trip(cb, 3)
    clock.advance(10)
    trial = asyncio.create_task(cb.call(asyncio.Event().wait))
    await asyncio.sleep(0)
    trial.cancel()
    with pytest.raises(asyncio.CancelledError):
        await trial
    assert await cb.call(succeeding) == "ok"


async def test_late_results_from_before_the_trip_do_not_close_it() -> None:
    clock = FakeClock()
    cb = breaker(clock)
    release = asyncio.Event()

    async def slow_success() -> str:
        await release.wait()
        return "ok"

    slow = asyncio.create_task(cb.call(slow_success))
    await asyncio.sleep(0)
    await trip(cb, 3)
    release.set()
    assert await slow == "ok"
    assert cb.state == "open"
