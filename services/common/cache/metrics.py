"""Prometheus counters of a cache client: reads by outcome, invalidations, store errors."""

from __future__ import annotations

import functools

from prometheus_client import REGISTRY, CollectorRegistry, Counter


class CacheMetrics:
    """The counters, in the registry given (the gateway's own, or the process default)."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.registry = registry
        self.reads = Counter(
            "cache_reads_total",
            "Cache reads by kind and outcome: hit, miss, error (answered from the source), "
            "bypass (the cache is skipped after a failure).",
            ["kind", "outcome"],
            registry=registry,
        )
        self.invalidations = Counter(
            "cache_invalidations_total",
            "Invalidations after a write, by kind and outcome (ok, error).",
            ["kind", "outcome"],
            registry=registry,
        )
        self.errors = Counter(
            "cache_store_errors_total",
            "Failed or timed-out cache store calls, by exception.",
            ["error"],
            registry=registry,
        )

    def read(self, kind: str, outcome: str) -> None:
        """Count one read."""
        self.reads.labels(kind, outcome).inc()

    def invalidation(self, kind: str, outcome: str) -> None:
        """Count one invalidation."""
        self.invalidations.labels(kind, outcome).inc()

    def store_error(self, error: str) -> None:
        """Count one failed store call."""
        self.errors.labels(error).inc()

    def count(self, kind: str, outcome: str) -> float:
        """How many reads of ``kind`` ended with ``outcome`` so far (tests, benchmarks)."""
        labels = {"kind": kind, "outcome": outcome}
        return self.registry.get_sample_value("cache_reads_total", labels) or 0.0


@functools.cache
def process_metrics() -> CacheMetrics:
    """The counters in the default registry, created once per process (the services')."""
    return CacheMetrics(REGISTRY)
