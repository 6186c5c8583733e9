"""Pure summaries of the measurements: medians, spreads, tables (no I/O)."""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from bench.health.common import table_row

KB = 1000  # transfer sizes in kB (10^3 bytes), as the target's "300 KB"


@dataclass(frozen=True)
class Resource:
    """One file of a page load as PerformanceResourceTiming reports it."""

    name: str
    kind: str  # initiatorType: navigation, script, link, fetch, ...
    transferred: int  # bytes on the wire: compressed body plus headers
    encoded: int  # the body as sent (gzip when compressed)
    decoded: int  # the body once uncompressed
    start: float = 0.0  # ms from navigation start: the request's start
    end: float = 0.0  # ms from navigation start: its last byte


def spread(values: Sequence[float]) -> str:
    """Median and range of ``values`` as text, e.g. "412 (380-455)"."""
    if not values:
        return "n/a"
    return f"{statistics.median(values):.0f} ({min(values):.0f}-{max(values):.0f})"


def nearest_rank(values: Sequence[float], share: float) -> float:
    """The nearest-rank percentile of ``values`` (their maximum at share 1)."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    rank = max(1, min(len(ordered), math.ceil(len(ordered) * share)))
    return ordered[rank - 1]


def ratio(numerator: float, denominator: float) -> str:
    """``numerator / denominator`` as "2.3x", or "n/a" when the denominator is zero."""
    return f"{numerator / denominator:.1f}x" if denominator > 0 else "n/a"


def is_static(resource: Resource) -> bool:
    """Whether a file is the page itself (HTML, scripts, styles), not an API answer."""
    return resource.kind != "fetch" and resource.kind != "xmlhttprequest"


def total_bytes(resources: Iterable[Resource]) -> int:
    """Bytes transferred for ``resources``."""
    return sum(resource.transferred for resource in resources)


def scripts_done(resources: Iterable[Resource]) -> float:
    """When the last file of the page itself arrived (ms from navigation start)."""
    return max((r.end for r in resources if is_static(r)), default=0.0)


def first_call(resources: Iterable[Resource]) -> float | None:
    """When the page's first API call started (ms), if it made one."""
    return min((r.start for r in resources if not is_static(r)), default=None)


def biggest(resources: Sequence[Resource], count: int = 6) -> list[Resource]:
    """The ``count`` files that cost the most bytes on the wire."""
    return sorted(resources, key=lambda r: r.transferred, reverse=True)[:count]


def latency_row(name: str, milliseconds: Sequence[float]) -> str:
    """One table row: count, p50, p95 and max of latencies in milliseconds."""
    cells = [nearest_rank(milliseconds, share) for share in (0.5, 0.95, 1.0)]
    return table_row(name, len(milliseconds), *(f"{cell:.1f}" for cell in cells))


def latencies_ms(sent: Mapping[str, float], seen: Mapping[str, float]) -> list[float]:
    """Per message seen, its arrival minus its send (epoch seconds in, milliseconds out)."""
    return [(seen[key] - sent[key]) * 1000 for key in sent if key in seen]


def verdict(value: float, target: float) -> str:
    """ "met" or "not met" for a value whose target is an upper bound."""
    return "met" if value <= target else "not met"
