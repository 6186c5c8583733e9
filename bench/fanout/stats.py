"""One path's figures and the statistics over them: percentiles, medians of rounds, ratios."""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Result:
    """One path's figures at one participant count in one round."""

    p50_ms: float
    p99_ms: float
    rate: float
    lost: int
    kib_per_connection: float


def median_result(results: Sequence[Result]) -> Result:
    """The median of each figure over rounds; lost is the total, since any loss matters."""
    return Result(
        p50_ms=statistics.median(r.p50_ms for r in results),
        p99_ms=statistics.median(r.p99_ms for r in results),
        rate=statistics.median(r.rate for r in results),
        lost=sum(r.lost for r in results),
        kib_per_connection=statistics.median(r.kib_per_connection for r in results),
    )


def ratio(numerator: float, denominator: float) -> str:
    """A ratio to two decimals, or n/a when the denominator is not positive."""
    return f"{numerator / denominator:.2f}" if denominator > 0 else "n/a"


def percentiles_ms(latencies: Sequence[float]) -> tuple[float, float]:
    """(p50, p99) of delays in seconds, in milliseconds; NaN with fewer than two."""
    if len(latencies) < 2:
        return float("nan"), float("nan")
    cuts = statistics.quantiles(latencies, n=100, method="inclusive")
    return cuts[49] * 1000, cuts[98] * 1000
