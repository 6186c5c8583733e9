"""The motion service's Prometheus metrics: readings by outcome, time to store a message."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.registry import REGISTRY

from services.motion.domain import IngestResult

# One message of up to 1000 readings into a local Redis takes about a millisecond.
MESSAGE_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0)


class MotionMetrics:
    """Counters and histograms the service updates."""

    def __init__(self, registry: CollectorRegistry = REGISTRY) -> None:
        self.readings = Counter(
            "motion_readings", "Sensor readings by outcome.", ["outcome"], registry=registry
        )
        self.message_seconds = Histogram(
            "motion_message_seconds",
            "Time to store one message (IngestSensorData).",
            buckets=MESSAGE_BUCKETS,
            registry=registry,
        )

    def ingested(self, result: IngestResult) -> None:
        """Count one message's readings."""
        self.readings.labels("duplicate" if result.duplicate else "accepted").inc(result.accepted)
        self.readings.labels("rejected").inc(len(result.rejected))
