"""A sink worker's Prometheus metrics: rows written per table, entries, lag and pending."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import REGISTRY, Collector

from services.common.redis import REDIS_FAILURES

log = logging.getLogger(__name__)
# A batch of 500 raw entries (~25 000 readings) takes ~0.1-0.3 s into a local PostgreSQL.
BATCH_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


@dataclass(frozen=True)
class GroupStatus:
    """What a sink's group has not read (lag) or not acked (pending), over its streams."""

    kind: str
    lag: int
    pending: int
    dead_letters: int


class SinkMetrics:
    """Counters the worker updates, and the group gauges collected at every scrape."""

    def __init__(self, registry: CollectorRegistry = REGISTRY) -> None:
        self._rows = Counter(
            "motion_sink_rows",
            "Rows a sink inserted, per table (new rows only).",
            ["table"],
            registry=registry,
        )
        self._duplicates = Counter(
            "motion_sink_duplicate_rows",
            "Rows a sink found already written (a redelivery), per table.",
            ["table"],
            registry=registry,
        )
        self._entries = Counter(
            "motion_sink_entries",
            "Stream entries a sink settled, by sink and outcome (written, dead_lettered).",
            ["sink", "outcome"],
            registry=registry,
        )
        self._seconds = Histogram(
            "motion_sink_batch_seconds",
            "Time to write one batch into the warehouse.",
            ["sink"],
            buckets=BATCH_BUCKETS,
            registry=registry,
        )
        self._up = Gauge(
            "motion_sink_warehouse_up",
            "1 if the last write reached the warehouse, 0 if it did not.",
            registry=registry,
        )
        self.registry = registry

    def rows(self, table: str, inserted: int, duplicates: int) -> None:
        """Count one insert's new and already-present rows."""
        self._rows.labels(table).inc(inserted)
        self._duplicates.labels(table).inc(duplicates)

    def entries(self, sink: str, outcome: str, n: int) -> None:
        """Count ``n`` entries of a sink settled with ``outcome``."""
        if n:
            self._entries.labels(sink, outcome).inc(n)

    def batch_seconds(self, sink: str, seconds: float) -> None:
        """Observe one batch's write time."""
        self._seconds.labels(sink).observe(seconds)

    def warehouse_up(self, up: bool) -> None:
        """Whether the warehouse answered the last write."""
        self._up.set(1 if up else 0)

    def watch_groups(self, status: Callable[[], list[GroupStatus]]) -> None:
        """Collect the groups' lag and pending at every scrape."""
        self.registry.register(GroupCollector(status))


class GroupCollector(Collector):
    """Lag, pending and dead letters per sink, read from Redis when Prometheus scrapes."""

    def __init__(self, status: Callable[[], list[GroupStatus]]) -> None:
        self.status = status

    def collect(self) -> Iterable[Metric]:
        """One gauge family per figure; nothing when Redis does not answer."""
        families = {
            "lag": GaugeMetricFamily(
                "motion_sink_lag", "Entries the sink's group has not read.", labels=["sink"]
            ),
            "pending": GaugeMetricFamily(
                "motion_sink_pending", "Entries read, not yet acked.", labels=["sink"]
            ),
            "dead_letters": GaugeMetricFamily(
                "motion_sink_dead_letters", "Entries in the dead-letter streams.", labels=["sink"]
            ),
        }
        try:
            groups = self.status()
        except REDIS_FAILURES:
            log.warning("sink metrics unavailable: Redis did not answer")
            return []
        for group in groups:
            for figure, family in families.items():
                family.add_metric([group.kind], getattr(group, figure))
        return list(families.values())
