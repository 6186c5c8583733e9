"""Prometheus metrics of one gateway: HTTP traffic and the state of every upstream instance."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

if TYPE_CHECKING:
    from services.common.upstream import UpstreamPool

BREAKER_STATE_VALUES = {"closed": 0, "half-open": 1, "open": 2}


class GatewayMetrics:
    """Metrics in a registry of their own, so several apps can live in one process."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "gateway_http_requests_total",
            "HTTP requests answered.",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "gateway_http_request_duration_seconds",
            "Time to answer an HTTP request.",
            ["method", "route"],
            registry=self.registry,
        )

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        """Record one answered request."""
        self.requests.labels(method, route, str(status)).inc()
        self.latency.labels(method, route).observe(seconds)

    def watch_pools(self, pools: Sequence[UpstreamPool]) -> None:
        """Report breaker state and health of every instance at scrape time."""
        self.registry.register(_UpstreamCollector(pools))


class _UpstreamCollector(Collector):
    def __init__(self, pools: Sequence[UpstreamPool]) -> None:
        self.pools = pools

    def collect(self) -> Iterable[Metric]:
        labels = ["service", "instance"]
        breaker = GaugeMetricFamily(
            "gateway_upstream_breaker_state",
            "Circuit breaker state: 0 closed, 1 half-open, 2 open.",
            labels=labels,
        )
        healthy = GaugeMetricFamily(
            "gateway_upstream_healthy", "1 if the last health check said SERVING.", labels=labels
        )
        outstanding = GaugeMetricFamily(
            "gateway_upstream_outstanding_calls", "Calls in flight.", labels=labels
        )
        for pool in self.pools:
            for instance in pool.instances:
                key = [pool.service, instance.address]
                breaker.add_metric(key, BREAKER_STATE_VALUES[instance.breaker.state])
                healthy.add_metric(key, 1.0 if instance.healthy else 0.0)
                outstanding.add_metric(key, instance.outstanding)
        return [breaker, healthy, outstanding]
