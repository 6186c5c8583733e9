"""Prometheus counters of a cache client: reads by outcome, invalidations, store errors."""

from __future__ import annotations

import weakref

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


_BY_REGISTRY: weakref.WeakKeyDictionary[CollectorRegistry, CacheMetrics] = (
    weakref.WeakKeyDictionary()
)


def metrics_in(registry: CollectorRegistry) -> CacheMetrics:
    """The counters in ``registry``, created once (an app started twice registers them once)."""
    if registry not in _BY_REGISTRY:
        _BY_REGISTRY[registry] = CacheMetrics(registry)
    return _BY_REGISTRY[registry]


def process_metrics() -> CacheMetrics:
    """The counters in the default registry (the services' metrics port)."""
    return metrics_in(REGISTRY)
