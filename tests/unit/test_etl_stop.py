"""How the ETL scheduler takes a stop from a signal handler: a flag, never an exception."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from etl.schedule import StopRequested, StopSignal


class FakeTime:
    """Sleeps that only move a clock, and a hook to deliver a 'signal' during one."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []
        self.during_sleep: Callable[[], None] = lambda: None

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds
        self.during_sleep()

    def monotonic(self) -> float:
        return self.now


def test_a_wait_without_a_stop_sleeps_its_whole_time_in_short_steps() -> None:
    fake = FakeTime()
    stop = StopSignal(fake.sleep, fake.monotonic)
    assert stop.wait(1.0) is False
    assert fake.now == pytest.approx(1.0)
    assert max(fake.sleeps) <= 0.2


def test_a_stop_requested_during_a_wait_ends_it_at_the_next_step() -> None:
    fake = FakeTime()
    stop = StopSignal(fake.sleep, fake.monotonic)
    fake.during_sleep = stop.request
    assert stop.wait(60.0) is True
    assert len(fake.sleeps) == 1


def test_batches_go_on_until_a_stop_is_requested_then_the_run_is_stopped() -> None:
    stop = StopSignal(FakeTime().sleep)
    stop.between_batches()
    stop.request()
    with pytest.raises(StopRequested, match="stopped by a signal"):
        stop.between_batches()
    assert not issubclass(StopRequested, Exception)  # the scheduler's retry must not catch it
