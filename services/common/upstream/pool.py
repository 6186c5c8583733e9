"""Pools of gRPC service instances: balancing, health checks, breakers, failover, deadlines.

The one client every component uses to call another (the gateway, the saga coordinator,
the activity service's user lookups): one failure model, with its rules in ``retry`` and
its errors in ``errors`` (no ``grpc.aio.AioRpcError`` leaves ``UpstreamPool.call``).
"""

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
from grpc_health.v1 import health_pb2, health_pb2_grpc

from services.common.grpc_runtime import outbound_metadata
from services.common.tls import TlsFiles, secure_aio_channel
from services.common.upstream.breaker import AsyncCircuitBreaker, BreakerOpen, Clock
from services.common.upstream.errors import NoInstanceAvailable, RpcFailed, map_rpc_errors
from services.common.upstream.retry import dependency_failed, may_fail_over
from services.common.upstream.rpcs import Req, Resp, Rpc

log = logging.getLogger(__name__)

# Reconnect quickly to an instance that comes back; gRPC's default backoff reaches minutes.
CHANNEL_OPTIONS = [
    ("grpc.initial_reconnect_backoff_ms", 100),
    ("grpc.min_reconnect_backoff_ms", 100),
    ("grpc.max_reconnect_backoff_ms", 2000),
]
# After this many seconds an unreachable pool is worth asking again.
MIN_RETRY_AFTER = 1.0
# Shortest wait for a breaker's trial (another call may be making it right now).
MIN_TRIAL_WAIT = 0.05
# Opens the channel to one instance's address (mTLS: ``connector``).
Connect = Callable[[str], grpc.aio.Channel]


def connector(tls: TlsFiles, component: str) -> Connect:
    """Opens mTLS channels to instances of ``component``, presenting our certificate."""
    return functools.partial(secure_aio_channel, tls=tls, server=component, options=CHANNEL_OPTIONS)


@dataclass
class Instance:
    """One address of a service, with its channel, breaker and live counters."""

    address: str
    channel: grpc.aio.Channel
    breaker: AsyncCircuitBreaker
    healthy: bool = True
    slow_checks: int = 0  # health checks in a row that timed out
    outstanding: int = 0
    # Answers in a row saying its dependency (its database) is down, and the last one's time.
    dependency_failures: int = 0
    dependency_failed_at: float = float("-inf")
    calls: dict[str, int] = field(default_factory=dict)
    methods: dict[str, Any] = field(default_factory=dict)

    def available(self) -> bool:
        """Healthy by the last check and admitted by the breaker."""
        return self.healthy and self.breaker.allows_calls()

    def method(self, rpc: Rpc[Any, Any]) -> Any:
        """The channel's callable for ``rpc``, made once (as a generated stub would)."""
        callable_ = self.methods.get(rpc.path)
        if callable_ is None:
            callable_ = self.channel.unary_unary(
                rpc.path,
                request_serializer=rpc.request.SerializeToString,
                response_deserializer=rpc.response.FromString,
            )
            self.methods[rpc.path] = callable_
        return callable_


@dataclass(frozen=True)
class PoolSettings:
    """Tuning of a pool: the deadline of a call, the breakers and the health checks."""

    call_timeout: float = 3.0
    fail_max: int = 5
    reset_timeout: float = 10.0
    health_interval: float = 2.0
    health_timeout: float = 1.0
    # When every breaker is open: wait for the first trial if the deadline allows it,
    # rather than refuse at once (for callers that retry anyway: the saga engine).
    await_trial: bool = False


# Health checks in a row that must time out before an instance counts as down.
SLOW_CHECKS_TO_FAIL = 2


def judge_health(healthy: bool, slow_checks: int, answer: bool | None) -> tuple[bool, int]:
    """The instance's health after a check, and its count of slow checks in a row.

    ``answer`` is SERVING (True), refused, unreachable or NOT_SERVING (False), or timed out
    (None). A refusal or NOT_SERVING (draining) counts at once; one slow answer is more
    likely a busy machine than a dead instance, so only a second in a row takes it out.
    """
    if answer is not None:
        return answer, 0
    slow_checks += 1
    return healthy and slow_checks < SLOW_CHECKS_TO_FAIL, slow_checks


class UpstreamPool:
    """Least-outstanding balancing over instances of one gRPC service."""

    def __init__(
        self,
        service: str,
        addresses: Sequence[str],
        settings: PoolSettings,
        clock: Clock = time.monotonic,
        *,
        connect: Connect,
    ) -> None:
        self.service = service
        self.settings = settings
        self._connect = connect
        self._rotation = itertools.count()
        self._clock = clock
        self._health_task: asyncio.Task[None] | None = None
        self.instances = [self._instance(a, clock) for a in addresses]

    def _instance(self, address: str, clock: Clock) -> Instance:
        channel = self._connect(address)
        breaker = AsyncCircuitBreaker(
            f"{self.service}@{address}", self.settings.fail_max, self.settings.reset_timeout, clock
        )
        return Instance(address, channel, breaker)

    async def call(self, rpc: Rpc[Req, Resp], request: Req, within: float | None = None) -> Resp:
        """Call ``rpc`` on the best instance, failing over while the deadline allows.

        The deadline is the pool's call_timeout, or ``within`` seconds when sooner (a
        server passes what is left of its caller's deadline: grpc_runtime.remaining_timeout).
        Raises RpcFailed or NoInstanceAvailable, never a gRPC error.
        """
        if rpc.service != self.service:
            raise ValueError(f"{rpc.path} is not a method of {self.service}")
        budget = self.settings.call_timeout
        if within is not None:
            budget = min(budget, within)
        if budget <= 0:
            # The caller's own deadline is spent: no instance is to blame for that.
            spent = grpc.StatusCode.DEADLINE_EXCEEDED
            raise RpcFailed(self.service, spent, "the caller's deadline is spent", sent=False)
        with map_rpc_errors(self.service):
            return await self._call(rpc, request, time.monotonic() + budget)

    async def _call(self, rpc: Rpc[Req, Resp], request: Req, deadline: float) -> Resp:
        tried: set[str] = set()
        attempted = False
        while True:
            try:
                instance = self._pick(tried, attempted)
            except NoInstanceAvailable:
                wait = self._trial_wait(attempted, deadline)
                if wait is None:
                    raise
                await asyncio.sleep(wait)
                tried.clear()
                continue
            tried.add(instance.address)
            try:
                attempt = functools.partial(self._invoke, instance, rpc, request, deadline)
                return await instance.breaker.call(attempt)
            except BreakerOpen:
                continue
            except grpc.aio.AioRpcError as error:
                attempted = True
                if not (may_fail_over(request, error.code()) and deadline > time.monotonic()):
                    raise
                where = {"instance": instance.address, "code": error.code().name, "rpc": rpc.name}
                log.warning("failover", extra=where)

    def _pick(self, tried: set[str], attempted: bool = False) -> Instance:
        candidates = [i for i in self.instances if i.address not in tried and i.available()]
        if not candidates:
            raise NoInstanceAvailable(self.service, self.retry_after(), attempted)
        # Answers about a dead dependency keep breakers closed (during a database failover
        # every instance says so); an instance that alone keeps saying it is passed over
        # while another is not, and tried again after the breakers' reset timeout.
        sound = [i for i in candidates if not self._dependency_down(i)]
        candidates = sound or candidates
        # Round robin among the least busy, so equal load still spreads.
        fewest = min(i.outstanding for i in candidates)
        least_busy = [i for i in candidates if i.outstanding == fewest]
        return least_busy[next(self._rotation) % len(least_busy)]

    def _answered(self, instance: Instance) -> None:
        # An instance whose dependency came back: a shared database's failover is over,
        # so the others are given their chance again too (a still partitioned one is
        # passed over again after fail_max answers).
        if instance.dependency_failures >= self.settings.fail_max:
            for other in self.instances:
                other.dependency_failures = 0
        instance.dependency_failures = 0

    def _dependency_down(self, instance: Instance) -> bool:
        recent = self._clock() - instance.dependency_failed_at < self.settings.reset_timeout
        return recent and instance.dependency_failures >= self.settings.fail_max

    async def _invoke(
        self, instance: Instance, rpc: Rpc[Req, Resp], request: Req, deadline: float
    ) -> Resp:
        instance.outstanding += 1
        code = "OK"
        try:
            reply: Resp = await instance.method(rpc)(
                request,
                timeout=max(0.001, deadline - time.monotonic()),
                metadata=outbound_metadata(),
            )
            self._answered(instance)
            return reply
        except grpc.aio.AioRpcError as error:
            code = error.code().name
            if dependency_failed(error):
                instance.dependency_failures += 1
                instance.dependency_failed_at = self._clock()
            raise
        finally:
            instance.outstanding -= 1
            instance.calls[code] = instance.calls.get(code, 0) + 1

    def _trial_wait(self, attempted: bool, deadline: float) -> float | None:
        """Seconds to wait for a breaker's trial, or None to refuse now."""
        if attempted or not self.settings.await_trial:
            return None
        waits = [i.breaker.retry_after() for i in self.instances if i.healthy]
        if not waits:
            return None
        wait = max(MIN_TRIAL_WAIT, min(waits))
        return wait if time.monotonic() + wait < deadline else None

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
        answer: bool | None
        try:
            reply = await stub.Check(request, timeout=self.settings.health_timeout)
            answer = reply.status == health_pb2.HealthCheckResponse.SERVING
        except grpc.aio.AioRpcError as error:
            answer = None if error.code() == grpc.StatusCode.DEADLINE_EXCEEDED else False
        healthy, instance.slow_checks = judge_health(instance.healthy, instance.slow_checks, answer)
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
