"""The pool for blocking code: use cases running on a service's worker threads."""

from __future__ import annotations

import asyncio
import concurrent.futures

import grpc

from services.common.upstream.errors import RpcFailed
from services.common.upstream.pool import UpstreamPool
from services.common.upstream.rpcs import Req, Resp, Rpc

# Beyond the call's own deadline, how long a thread waits for the loop before giving up
# (the loop is busy or shutting down; the pool's deadline normally ends the call first).
LOOP_MARGIN = 1.0


class BlockingPool:
    """Runs an UpstreamPool's calls on the event loop that owns it, for a worker thread.

    The pool's channels and breakers belong to one loop and are not thread-safe, so the
    call is handed to that loop (with the thread's context variables: request id and
    deadline) and the thread waits for its result.
    """

    def __init__(self, pool: UpstreamPool, loop: asyncio.AbstractEventLoop) -> None:
        self.pool = pool
        self.loop = loop

    def call(self, rpc: Rpc[Req, Resp], request: Req, within: float | None = None) -> Resp:
        """Call ``rpc`` and wait for the answer; raises what UpstreamPool.call raises."""
        if _running_loop() is self.loop:
            raise RuntimeError("BlockingPool.call would block its own event loop")
        future = asyncio.run_coroutine_threadsafe(self.pool.call(rpc, request, within), self.loop)
        budget = self.pool.settings.call_timeout
        if within is not None:
            budget = min(budget, within)
        try:
            return future.result(max(0.0, budget) + LOOP_MARGIN)
        except concurrent.futures.TimeoutError:
            future.cancel()
            message = "the client's event loop did not answer in time"
            raise RpcFailed(self.pool.service, grpc.StatusCode.DEADLINE_EXCEEDED, message) from None


def _running_loop() -> asyncio.AbstractEventLoop | None:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None
