"""Simulated delay and failure (seed 001): a server interceptor, off unless configured.

Operators switch it on to watch the gateway's breakers and retries, the producer's
backoff and the dashboards react; the health service is never faulted, so an instance
that fails on purpose still looks alive to the balancer, as a flaky one would.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, cast

import grpc

from services.common.grpc_runtime import Behavior, Context, Handler

Observe = Callable[[str, str], None]  # (method name, "delay" | "error")
INJECTED = "injected fault (WATCH_LOGS_FAULT_ERROR_RATE)"


@dataclass(frozen=True)
class FaultPlan:
    """Which RPCs of which service misbehave, how often and how slowly."""

    service: str
    error_rate: float = 0.0
    delay_rate: float = 0.0
    delay_mean_seconds: float = 0.0
    methods: frozenset[str] = frozenset()  # RPC names; empty: every RPC of the service

    @property
    def active(self) -> bool:
        """Whether any fault can happen."""
        return self.error_rate > 0 or (self.delay_rate > 0 and self.delay_mean_seconds > 0)

    def covers(self, path: str) -> bool:
        """Whether the RPC at ``path`` (/package.Service/Method) may be faulted."""
        service, _, name = path.strip("/").partition("/")
        return service == self.service and (not self.methods or name in self.methods)


class FaultInjector(grpc.aio.ServerInterceptor):  # type: ignore[misc]
    """Delays and fails the RPCs its plan covers, at random, and reports each fault."""

    def __init__(
        self,
        plan: FaultPlan,
        rng: random.Random,
        observe: Observe,
        sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
    ) -> None:
        self.plan = plan
        self.rng = rng
        self.observe = observe
        self.sleep = sleep

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[Handler | None]],
        details: grpc.HandlerCallDetails,
    ) -> Handler | None:
        """Wrap the covered unary handlers; everything else passes through."""
        handler = await continuation(details)
        if handler is None or handler.unary_unary is None or not self.plan.covers(details.method):
            return handler
        name = details.method.rsplit("/", 1)[-1]
        return grpc.unary_unary_rpc_method_handler(
            self._faulty(cast(Behavior, handler.unary_unary), name),
            request_deserializer=handler.request_deserializer,
            response_serializer=handler.response_serializer,
        )

    def delay(self) -> float:
        """Seconds to hold the next call: 0, or an exponential draw around the mean."""
        if self.rng.random() >= self.plan.delay_rate or self.plan.delay_mean_seconds <= 0:
            return 0.0
        return self.rng.expovariate(1 / self.plan.delay_mean_seconds)

    def fails(self) -> bool:
        """Whether the next call fails."""
        return self.rng.random() < self.plan.error_rate

    def _faulty(self, behavior: Behavior, name: str) -> Behavior:
        async def faulty(request: Any, context: Context) -> Any:
            delay = self.delay()
            if delay:
                self.observe(name, "delay")
                await self.sleep(delay)
            if self.fails():
                self.observe(name, "error")
                await context.abort(grpc.StatusCode.UNAVAILABLE, INJECTED)
            return await behavior(request, context)

        return faulty
