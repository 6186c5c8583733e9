"""The one client for calling another component: pool, breaker, retry rules, typed RPCs.

``pool.UpstreamPool`` balances over a service's instances with a breaker per instance and
fails over safe calls; ``retry`` is the one table of what a status means; ``errors`` are
the only exceptions a call raises; ``rpcs`` are the typed methods; ``blocking`` serves
code on worker threads.
"""

from services.common.upstream.errors import NoInstanceAvailable, RpcFailed, UpstreamError
from services.common.upstream.pool import PoolSettings, UpstreamPool, connector
from services.common.upstream.rpcs import ActivityRpc, Rpc, SagaRpc, UserRpc

__all__ = [
    "ActivityRpc",
    "NoInstanceAvailable",
    "PoolSettings",
    "Rpc",
    "RpcFailed",
    "SagaRpc",
    "UpstreamError",
    "UpstreamPool",
    "UserRpc",
    "connector",
]
