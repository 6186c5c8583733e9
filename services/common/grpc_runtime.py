"""Shared gRPC plumbing: server bootstrap with health and reflection, request ids, metrics."""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import functools
import logging
import math
import signal
import time
from collections.abc import Awaitable, Callable, Sequence
from concurrent.futures import Executor
from typing import TYPE_CHECKING, Any, TypeVar, cast

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection
from prometheus_client import Counter, Histogram

from services.common.dependency import DEPENDENCY_TRAILER, DependencyUnavailable
from services.common.logs import REQUEST_ID_HEADER, request_id_var
from services.common.tls import TlsFiles
from services.common.trust import AuthorizationInterceptor

log = logging.getLogger(__name__)
T = TypeVar("T")

RPC_HANDLED = Counter(
    "grpc_server_handled_total", "RPCs completed by the server.", ["method", "code"]
)
RPC_LATENCY = Histogram("grpc_server_handling_seconds", "Time spent serving an RPC.", ["method"])

deadline_var: contextvars.ContextVar[float | None] = contextvars.ContextVar(
    "deadline", default=None
)

# Health probes arrive every few seconds from each gateway; they would drown the log.
HEALTH_PREFIX = "/grpc.health.v1.Health/"

# grpc's classes are generic only in the type stubs, not at run time.
if TYPE_CHECKING:
    Context = grpc.aio.ServicerContext[Any, Any]
    Handler = grpc.RpcMethodHandler[Any, Any]
else:
    Context = grpc.aio.ServicerContext
    Handler = grpc.RpcMethodHandler

Behavior = Callable[[Any, Context], Awaitable[Any]]


def _status_name(context: Context, failed: bool) -> str:
    code = context.code()
    if code is None:
        return "UNKNOWN" if failed else "OK"
    return code.name if isinstance(code, grpc.StatusCode) else grpc.StatusCode(code).name


class ObservabilityInterceptor(grpc.aio.ServerInterceptor):  # type: ignore[misc]
    """Takes the caller's request id into the log context and records RPC metrics."""

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[Handler | None]],
        details: grpc.HandlerCallDetails,
    ) -> Handler | None:
        """Wrap unary-unary handlers; streaming ones (health Watch) pass through."""
        handler = await continuation(details)
        if handler is None or handler.unary_unary is None:
            return handler
        metadata = dict(details.invocation_metadata or ())
        behavior = self._observe(cast(Behavior, handler.unary_unary), details.method, metadata)
        return grpc.unary_unary_rpc_method_handler(
            behavior,
            request_deserializer=handler.request_deserializer,
            response_serializer=handler.response_serializer,
        )

    @staticmethod
    def _observe(behavior: Behavior, method: str, metadata: dict[str, Any]) -> Behavior:
        async def observed(request: Any, context: Context) -> Any:
            request_id_var.set(str(metadata.get(REQUEST_ID_HEADER, "")))
            remaining = context.time_remaining()
            deadline_var.set(None if remaining is None else time.monotonic() + remaining)
            started = time.perf_counter()
            failed = False
            try:
                return await behavior(request, context)
            except Exception:
                failed = True
                raise
            finally:
                code = _status_name(context, failed)
                RPC_LATENCY.labels(method).observe(time.perf_counter() - started)
                RPC_HANDLED.labels(method, code).inc()
                level = logging.DEBUG if method.startswith(HEALTH_PREFIX) else logging.INFO
                log.log(level, "rpc", extra={"method": method, "code": code})

        return observed


def outbound_metadata() -> list[tuple[str, str]]:
    """Metadata for a downstream call: the request id of the call being served."""
    request_id = request_id_var.get()
    return [(REQUEST_ID_HEADER, request_id)] if request_id else []


def remaining_timeout(default: float) -> float:
    """Seconds left of the incoming call's deadline, capped at ``default``."""
    deadline = deadline_var.get()
    if deadline is None:
        return default
    return max(0.0, min(default, deadline - time.monotonic()))


def time_left() -> float:
    """Seconds left of the call being served (its deadline travels in a context variable)."""
    return remaining_timeout(math.inf)


class GrpcServer:
    """An aio mTLS server with the standard health service and reflection switched on.

    Only clients with a certificate from the CA in ``tls`` get through the handshake, and
    each call is checked against the call matrix of ``services.common.trust``.
    """

    def __init__(
        self,
        host: str,
        port: int,
        service_names: Sequence[str],
        max_concurrent_rpcs: int = 512,
        *,
        tls: TlsFiles,
        interceptors: Sequence[grpc.aio.ServerInterceptor] = (),
    ) -> None:
        # Outermost first: refused calls are still logged and counted; a service's own
        # interceptors (the watch-log service's fault injector) see authorized calls only.
        interceptors = [ObservabilityInterceptor(), AuthorizationInterceptor(), *interceptors]
        self.server = grpc.aio.server(
            interceptors=interceptors, maximum_concurrent_rpcs=max_concurrent_rpcs
        )
        self.health = health.aio.HealthServicer()
        self.service_names = list(service_names)
        self.address = f"{host}:{port}"
        health_pb2_grpc.add_HealthServicer_to_server(self.health, self.server)
        reflection.enable_server_reflection(
            [*self.service_names, health.SERVICE_NAME, reflection.SERVICE_NAME], self.server
        )
        self.port = self.server.add_secure_port(self.address, tls.server_credentials())
        if self.port == 0:
            raise OSError(f"cannot bind gRPC server to {self.address}")

    async def start(self) -> None:
        """Start serving and report every service as SERVING."""
        await self.server.start()
        for name in ["", *self.service_names]:
            await self.health.set(name, health_pb2.HealthCheckResponse.SERVING)

    async def stop(self, grace: float = 5.0) -> None:
        """Report NOT_SERVING so balancers drain us, then stop after the grace period."""
        await self.health.enter_graceful_shutdown()
        await self.server.stop(grace)

    async def serve_until_signalled(self) -> None:
        """Run until SIGINT or SIGTERM, then shut down gracefully."""
        await self.start()
        log.info("serving", extra={"address": self.bound_address})
        await wait_for_signal()
        await self.stop()

    @property
    def bound_address(self) -> str:
        """host:port the server actually listens on (port 0 resolved)."""
        return f"{self.address.rsplit(':', 1)[0]}:{self.port}"


async def wait_for_signal() -> None:
    """Return once SIGINT or SIGTERM arrives; repeats change nothing while we shut down."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()

    def on_signal(signum: int, frame: object) -> None:
        with contextlib.suppress(RuntimeError):  # a closed loop: the shutdown has run
            loop.call_soon_threadsafe(stop.set)

    # signal.signal, not loop.add_signal_handler: asyncio's close() shuts the wakeup pipe
    # before it removes its handlers, so a repeat (Ctrl-C reaches us, then our
    # supervisor's SIGTERM) landing there printed "Exception ignored when trying to write
    # to the signal wakeup fd", and one after it killed us mid-exit. This handler stays:
    # swapping in SIG_IGN makes Python report a signal already in flight as a "race".
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, on_signal)
    await stop.wait()


StatusTable = dict[type[Exception], grpc.StatusCode]


def status_for(statuses: StatusTable, error: BaseException) -> grpc.StatusCode | None:
    """The status for a domain error, found through its class hierarchy.

    A subclass of a mapped error gets its parent's status, so a new, finer error cannot
    fall out of a server's table into UNKNOWN.
    """
    for cls in type(error).__mro__:
        if cls in statuses:
            return statuses[cls]
    return None


async def abort_if_known(context: Context, statuses: StatusTable, error: BaseException) -> None:
    """Answer the call with the table's status for ``error``; unknown errors pass."""
    status = status_for(statuses, error)
    if status is None:
        return
    # Callers keep this instance's breaker closed: it answered, its dependency did not.
    trailer = (DEPENDENCY_TRAILER,) if isinstance(error, DependencyUnavailable) else ()
    await context.abort(status, str(error), trailing_metadata=trailer)


async def awaited_or_abort(context: Context, statuses: StatusTable, work: Awaitable[T]) -> T:
    """Await async work (no thread hop), answering a known error with its table status."""
    try:
        return await work
    except Exception as error:
        await abort_if_known(context, statuses, error)
        raise


async def present_or_abort(context: Context, value: T | None, message: str) -> T:
    """The value, or INVALID_ARGUMENT with ``message`` when a required field was not set."""
    if value is None:
        await context.abort(grpc.StatusCode.INVALID_ARGUMENT, message)
        raise AssertionError("unreachable: abort raises")
    return value


class Dispatcher:
    """Runs use cases for the gRPC layer and maps their domain errors to statuses.

    Use cases are blocking code, so they run on a bounded thread pool. The exception
    is reads when ``inline_reads`` is set, which the composition roots do for SQLite:
    its reads are in-process work that never waits for writers in WAL mode, and the
    two thread hand-offs of a pool call cost more than the query (docs/benchmarks.md).
    """

    def __init__(
        self, executor: Executor, statuses: StatusTable, inline_reads: bool = False
    ) -> None:
        self.executor = executor
        self.statuses = statuses
        self.inline_reads = inline_reads

    async def run(self, context: Context, fn: Callable[..., T], *args: Any) -> T:
        """Run ``fn(*args)`` off the event loop, keeping the request's context variables."""
        call = functools.partial(contextvars.copy_context().run, fn, *args)
        try:
            return await asyncio.get_running_loop().run_in_executor(self.executor, call)
        except Exception as error:
            await abort_if_known(context, self.statuses, error)
            raise

    async def read(self, context: Context, fn: Callable[..., T], *args: Any) -> T:
        """Run a read-only use case, on the loop itself when reads are cheap enough."""
        if not self.inline_reads:
            return await self.run(context, fn, *args)
        try:
            return fn(*args)
        except Exception as error:
            await abort_if_known(context, self.statuses, error)
            raise

    def status_for(self, error: Exception) -> grpc.StatusCode | None:
        """The status for a domain error, found through its class hierarchy."""
        return status_for(self.statuses, error)
