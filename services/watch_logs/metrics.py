"""The service's Prometheus metrics: ingestion, the pipeline's streams, injected faults."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import REGISTRY, Collector

from services.common.redis import REDIS_FAILURES
from services.watch_logs.domain import IngestResult, StoreUnavailable, StreamStatus

log = logging.getLogger(__name__)
UNANSWERED: tuple[type[Exception], ...] = (StoreUnavailable, *REDIS_FAILURES)
# Batches of 1-500 entries: a batch of 100 into a local Redis takes about a millisecond.
BATCH_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)


class WatchLogMetrics:
    """Counters and histograms the service updates, and the stream gauges it collects."""

    def __init__(self, registry: CollectorRegistry = REGISTRY) -> None:
        self.entries = Counter(
            "watch_logs_entries", "Log entries by outcome.", ["outcome"], registry=registry
        )
        self.batch_seconds = Histogram(
            "watch_logs_batch_seconds",
            "Time to store one batch (IngestLogs).",
            buckets=BATCH_BUCKETS,
            registry=registry,
        )
        self.consumed = Counter(
            "watch_logs_consumer_entries",
            "Entries the reporting consumer group handled, by outcome.",
            ["outcome"],
            registry=registry,
        )
        self.faults = Counter(
            "watch_logs_faults", "Injected faults.", ["method", "kind"], registry=registry
        )
        self.registry = registry

    def ingested(self, result: IngestResult) -> None:
        """Count one batch's outcomes."""
        self.entries.labels("accepted").inc(result.accepted)
        self.entries.labels("duplicate").inc(result.duplicates)
        self.entries.labels("rejected").inc(len(result.rejected))

    def fault(self, method: str, kind: str) -> None:
        """Count one injected fault."""
        self.faults.labels(method, kind).inc()

    def watch_streams(self, status: Callable[[], list[StreamStatus]]) -> None:
        """Collect the partition streams' state at every scrape."""
        self.registry.register(StreamCollector(status))


class StreamCollector(Collector):
    """Length, lag, pending and dead letters per stream, read when Prometheus scrapes."""

    def __init__(self, status: Callable[[], list[StreamStatus]]) -> None:
        self.status = status

    def collect(self) -> Iterable[Metric]:
        """One gauge family per figure; nothing when Redis does not answer."""
        families = {
            "length": GaugeMetricFamily(
                "watch_logs_stream_length", "Entries a partition stream holds.", labels=["stream"]
            ),
            "lag": GaugeMetricFamily(
                "watch_logs_consumer_lag", "Entries the group has not read.", labels=["stream"]
            ),
            "pending": GaugeMetricFamily(
                "watch_logs_consumer_pending", "Entries read, not acked.", labels=["stream"]
            ),
            "dead_letters": GaugeMetricFamily(
                "watch_logs_dead_letters", "Entries dead-lettered.", labels=["stream"]
            ),
        }
        try:
            streams = self.status()
        except UNANSWERED:
            log.warning("stream metrics unavailable: Redis did not answer")
            return []
        for stream in streams:
            for figure, family in families.items():
                family.add_metric([stream.stream], getattr(stream, figure))
        return list(families.values())
