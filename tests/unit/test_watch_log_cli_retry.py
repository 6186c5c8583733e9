"""The producer's pacing: full-jitter backoff, Retry-After, and the token bucket."""

from __future__ import annotations

import random
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.common.client.retry import (
    MAX_RETRY_AFTER,
    Backoff,
    TokenBucket,
    parse_retry_after,
)
from tests.helpers import FakeClock


@given(st.integers(0, 30), st.integers(0, 2**32))
def test_a_backoff_delay_lies_between_zero_and_the_capped_exponential(
    attempt: int, seed: int
) -> None:
    backoff = Backoff(base=0.2, cap=10.0)
    delay = backoff.delay(attempt, random.Random(seed))
    assert 0 <= delay <= min(10.0, 0.2 * 2**attempt)


def test_backoff_jitter_spreads_the_delays_over_the_whole_range() -> None:
    rng = random.Random(1)
    delays = [Backoff(base=1.0, cap=8.0).delay(3, rng) for _ in range(2000)]
    assert min(delays) < 0.8
    assert max(delays) > 7.2
    assert 3.5 < sum(delays) / len(delays) < 4.5  # U(0, 8) has mean 4


@given(st.integers(0, 10), st.floats(0, MAX_RETRY_AFTER))
def test_a_retry_after_is_always_waited_out(attempt: int, retry_after: float) -> None:
    assert Backoff().delay(attempt, random.Random(0), retry_after) >= retry_after


def test_an_absurd_retry_after_is_waited_only_up_to_the_bound() -> None:
    assert Backoff(cap=1.0).delay(0, random.Random(0), 3600.0) == MAX_RETRY_AFTER


@pytest.mark.parametrize(
    ("header", "seconds"),
    [("3", 3.0), (" 1.5 ", 1.5), ("-4", 0.0), ("Tue, 01 Dec 2026 18:00:30 GMT", 30.0)],
)
def test_retry_after_is_read_as_seconds_or_as_an_http_date(header: str, seconds: float) -> None:
    now = datetime(2026, 12, 1, 18, 0, tzinfo=UTC)
    assert parse_retry_after(header, lambda: now) == seconds


@pytest.mark.parametrize("header", [None, "", "soon"])
def test_a_missing_or_unreadable_retry_after_asks_for_nothing(header: str | None) -> None:
    assert parse_retry_after(header) is None


def test_the_bucket_lets_its_capacity_through_then_paces_at_the_rate() -> None:
    clock = FakeClock()
    bucket = TokenBucket(rate=100.0, capacity=100.0, clock=clock)
    assert bucket.take(100) == 0.0
    assert bucket.take(50) == pytest.approx(0.5)
    clock.advance(0.5)
    assert bucket.take(100) == pytest.approx(1.0)  # the wait paid the debt back, no more


def test_the_bucket_refills_no_further_than_its_capacity() -> None:
    clock = FakeClock()
    bucket = TokenBucket(rate=10.0, capacity=20.0, clock=clock)
    clock.advance(3600)
    assert bucket.take(20) == 0.0
    assert bucket.take(10) == pytest.approx(1.0)


def test_a_bucket_needs_a_positive_rate() -> None:
    with pytest.raises(ValueError, match="positive"):
        TokenBucket(rate=0.0, capacity=10.0, clock=FakeClock())
