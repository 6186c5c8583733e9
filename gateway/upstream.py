"""Pools of gRPC service instances: balancing, health checks, breakers, failover."""

from __future__ import annotations

import asyncio
import functools
import itertools
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import grpc
from google.protobuf.message import Message
from grpc_health.v1 import health_pb2, health_pb2_grpc

from gateway.breaker import AsyncCircuitBreaker, BreakerOpen, Clock, counts_as_failure
from services.common.grpc_runtime import outbound_metadata

log = logging.getLogger(__name__)

# Reconnect quickly to an instance that comes back; gRPC's default backoff reaches minutes.
CHANNEL_OPTIONS = [
    ("grpc.initial_reconnect_backoff_ms", 100),
    ("grpc.min_reconnect_backoff_ms", 100),
    ("grpc.max_reconnect_backoff_ms", 2000),
]
# After this many seconds an unreachable pool is worth asking again.
MIN_RETRY_AFTER = 1.0
# Opens the channel to one instance's address (mTLS in the gateway: gateway.app).
Connect = Callable[[str], grpc.aio.Channel]


class NoInstanceAvailable(Exception):
    """Every instance of the service is down, unhealthy or behind an open breaker.

    ``attempted`` tells whether the call was sent to some instance before (and failed
    there): only when it was not is it certain that the call had no effect.
    """

    def __init__(self, service: str, retry_after: float, attempted: bool = False) -> None:
        super().__init__(f"{service} is unavailable")
        self.service = service
        self.retry_after = retry_after
        self.attempted = attempted


@dataclass
class Instance:
    """One address of a service, with its channel, breaker and live counters."""

    address: str
    channel: grpc.aio.Channel
    stub: Any
    breaker: AsyncCircuitBreaker
    healthy: bool = True
    outstanding: int = 0
    calls: dict[str, int] = field(default_factory=dict)

    def available(self) -> bool:
        """Healthy by the last check and admitted by the breaker."""
        return self.healthy and self.breaker.allows_calls()


@dataclass(frozen=True)
class PoolSettings:
    """Tuning shared by all pools of a gateway."""

    call_timeout: float = 3.0
    fail_max: int = 5
    reset_timeout: float = 10.0
    health_interval: float = 2.0
    health_timeout: float = 1.0


class UpstreamPool:
    """Least-outstanding balancing over instances of one gRPC service."""

    def __init__(
        self,
        service: str,
        addresses: Sequence[str],
        stub_class: Any,
        settings: PoolSettings,
        clock: Clock = time.monotonic,
        *,
        connect: Connect,
    ) -> None:
        self.service = service
        self.settings = settings
        self._connect = connect
        self._rotation = itertools.count()
        self._health_task: asyncio.Task[None] | None = None
        self.instances = [self._instance(a, stub_class, clock) for a in addresses]

    def _instance(self, address: str, stub_class: Any, clock: Clock) -> Instance:
        channel = self._connect(address)
        breaker = AsyncCircuitBreaker(
            f"{self.service}@{address}", self.settings.fail_max, self.settings.reset_timeout, clock
        )
        return Instance(address, channel, stub_class(channel), breaker)

    async def call(self, method: str, request: Message) -> Any:
        """Call ``method`` on the best instance, failing over while the deadline allows."""
        deadline = time.monotonic() + self.settings.call_timeout
        tried: set[str] = set()
        attempted = False
        while True:
            instance = self._pick(tried, attempted)
            tried.add(instance.address)
            try:
                attempt = functools.partial(self._invoke, instance, method, request, deadline)
                return await instance.breaker.call(attempt)
            except BreakerOpen:
                continue
            except grpc.aio.AioRpcError as error:
                attempted = True
                if not (_may_retry(request, error) and deadline > time.monotonic()):
                    raise
                log.warning(
                    "failover",
                    extra={"instance": instance.address, "code": error.code().name, "rpc": method},
                )

    def _pick(self, tried: set[str], attempted: bool = False) -> Instance:
        candidates = [i for i in self.instances if i.address not in tried and i.available()]
        if not candidates:
            raise NoInstanceAvailable(self.service, self.retry_after(), attempted)
        # Round robin among the least busy, so equal load still spreads.
        fewest = min(i.outstanding for i in candidates)
        least_busy = [i for i in candidates if i.outstanding == fewest]
        return least_busy[next(self._rotation) % len(least_busy)]

    async def _invoke(
        self, instance: Instance, method: str, request: Message, deadline: float
    ) -> Any:
        instance.outstanding += 1
        code = "OK"
        try:
            return await getattr(instance.stub, method)(
                request,
                timeout=max(0.001, deadline - time.monotonic()),
                metadata=outbound_metadata(),
            )
        except grpc.aio.AioRpcError as error:
            code = error.code().name
            raise
        finally:
            instance.outstanding -= 1
            instance.calls[code] = instance.calls.get(code, 0) + 1

    def retry_after(self) -> float:
        """Seconds until some instance may take calls again, at least MIN_RETRY_AFTER."""
        waits = [i.breaker.retry_after() for i in self.instances if i.healthy]
        return max(MIN_RETRY_AFTER, min(waits, default=self.settings.health_interval))

    async def check_health(self) -> None:
        """Ask every instance's grpc.health.v1 service whether it is SERVING."""
        await asyncio.gather(*(self._check(i) for i in self.instances))

    async def _check(self, instance: Instance) -> None:
        stub = health_pb2_grpc.HealthStub(instance.channel)
        request = health_pb2.HealthCheckRequest(service=self.service)
        try:
            reply = await stub.Check(request, timeout=self.settings.health_timeout)
            healthy = reply.status == health_pb2.HealthCheckResponse.SERVING
        except grpc.aio.AioRpcError:
            healthy = False
        if healthy != instance.healthy:
            log.warning("health changed", extra={"instance": instance.address, "healthy": healthy})
        instance.healthy = healthy

    def start_health_checks(self) -> None:
        """Check health every ``health_interval`` seconds in the background."""
        self._health_task = asyncio.create_task(self._health_loop())

    async def _health_loop(self) -> None:
        while True:
            await self.check_health()
            await asyncio.sleep(self.settings.health_interval)

    async def close(self) -> None:
        """Stop health checks and close every channel."""
        if self._health_task:
            self._health_task.cancel()
        await asyncio.gather(*(i.channel.close() for i in self.instances))

    def snapshot(self) -> list[dict[str, Any]]:
        """Per-instance state for the health endpoint and metrics."""
        return [
            {
                "address": i.address,
                "healthy": i.healthy,
                "breaker": i.breaker.state,
                "consecutive_failures": i.breaker.fail_counter,
                "outstanding": i.outstanding,
            }
            for i in self.instances
        ]


def _may_retry(request: Message, error: grpc.aio.AioRpcError) -> bool:
    """Retry on another instance only after an instance failure, and only when safe:
    reads always, writes only when they carry a request_id the service deduplicates."""
    if not counts_as_failure(error) or error.code() == grpc.StatusCode.DEADLINE_EXCEEDED:
        return False
    fields = request.DESCRIPTOR.fields_by_name
    return "request_id" not in fields or bool(getattr(request, "request_id", ""))
