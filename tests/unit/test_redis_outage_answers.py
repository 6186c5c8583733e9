"""Every way a Redis call fails during an outage or failover answers 503, never 500."""

from __future__ import annotations

import pytest
import redis.exceptions
from fastapi import FastAPI
from fastapi.testclient import TestClient

from gateway.edge.errors import install_error_handlers

FAILURES = [
    redis.exceptions.ConnectionError("refused"),
    redis.exceptions.TimeoutError("timed out"),
    redis.exceptions.ReadOnlyError("a replica"),
    redis.exceptions.TryAgainError("TRYAGAIN"),
    redis.exceptions.ClusterDownError("CLUSTERDOWN"),
    redis.exceptions.ClusterError("TTL exhausted."),
    redis.exceptions.SlotNotCoveredError("slot 42 is not covered"),
    redis.exceptions.RedisClusterException("Redis Cluster cannot be connected."),
]


@pytest.mark.parametrize("failure", FAILURES, ids=lambda failure: type(failure).__name__)
def test_a_redis_failure_is_answered_503_with_retry_after(failure: Exception) -> None:
    app = FastAPI()
    install_error_handlers(app)

    @app.get("/uses-redis")
    async def uses_redis() -> None:
        raise failure

    answer = TestClient(app, raise_server_exceptions=False).get("/uses-redis")
    assert answer.status_code == 503
    assert answer.json()["error"]["status"] == "UNAVAILABLE"
    assert answer.headers["retry-after"].isdigit()
