"""How the gateway answers a user service that sheds load."""

from __future__ import annotations

import grpc

from gateway.edge.errors import from_status


def test_a_full_hash_queue_is_a_429_with_retry_after() -> None:
    error = from_status(grpc.StatusCode.RESOURCE_EXHAUSTED, "too many logins in progress")
    assert error.http_status == 429
    assert error.status == "RESOURCE_EXHAUSTED"
    assert error.headers == {"Retry-After": "1"}
