"""The processor's Prometheus metrics (a worker's registry, passed in)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge


class ProcessorMetrics:
    """What one worker counts: windows, readings, late drops, take-overs, its partitions."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.registry = registry
        self.windows = Counter(
            "motion_processor_windows",
            "Windows emitted (written for the first time), by activity.",
            ["activity"],
            registry=registry,
        )
        self.replayed = Counter(
            "motion_processor_windows_replayed",
            "Closed windows that were already written (a replay after a take-over).",
            registry=registry,
        )
        self.readings = Counter(
            "motion_processor_readings", "Accelerometer readings windowed.", registry=registry
        )
        self.late = Counter(
            "motion_processor_late_readings",
            "Readings dropped because every window that would hold them had closed.",
            registry=registry,
        )
        self.claimed = Counter(
            "motion_processor_claimed_entries",
            "Pending raw entries taken over (XAUTOCLAIM) on acquiring a partition.",
            registry=registry,
        )
        self.dead_lettered = Counter(
            "motion_processor_dead_letters",
            "Raw entries that were no message, moved to dead letters.",
            registry=registry,
        )
        self.partitions = Gauge(
            "motion_processor_partitions_held", "Partitions this worker holds.", registry=registry
        )
        self.lag = Gauge(
            "motion_processor_lag",
            "Raw entries of a held partition the group has not read.",
            ["partition"],
            registry=registry,
        )
