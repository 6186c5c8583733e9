"""Gateway rules that need no network: status mapping, retry safety, balancing."""

from __future__ import annotations

import time

import grpc
import pytest
from fitness.activity.v1 import activity_service_pb2 as activity_pb
from fitness.user.v1 import user_service_pb2 as user_pb

from gateway.edge.auth import TokenVerifier
from gateway.edge.errors import GRPC_TO_HTTP, ApiError, from_rpc_error
from gateway.upstream import PoolSettings, UpstreamPool, _may_retry
from services.user.tokens import TokenIssuer, generate_keypair
from tests.helpers import FakeClock
from tests.unit.test_breaker import rpc_error


@pytest.mark.parametrize(
    ("code", "status"),
    [
        (grpc.StatusCode.INVALID_ARGUMENT, 400),
        (grpc.StatusCode.UNAUTHENTICATED, 401),
        (grpc.StatusCode.PERMISSION_DENIED, 403),
        (grpc.StatusCode.NOT_FOUND, 404),
        (grpc.StatusCode.ALREADY_EXISTS, 409),
        (grpc.StatusCode.FAILED_PRECONDITION, 409),
        (grpc.StatusCode.RESOURCE_EXHAUSTED, 429),
        (grpc.StatusCode.UNAVAILABLE, 503),
        (grpc.StatusCode.DEADLINE_EXCEEDED, 504),
    ],
)
def test_grpc_codes_map_to_http_statuses(code: grpc.StatusCode, status: int) -> None:
    assert GRPC_TO_HTTP[code] == status
    assert from_rpc_error(rpc_error(code)).http_status == status


def test_unexpected_upstream_codes_are_502_without_leaking_details() -> None:
    error = from_rpc_error(rpc_error(grpc.StatusCode.INTERNAL))
    assert error.http_status == 502
    assert "INTERNAL" not in error.message


def test_reads_are_retried_after_an_unavailable_instance() -> None:
    assert _may_retry(user_pb.GetUserRequest(user_id="u"), rpc_error(grpc.StatusCode.UNAVAILABLE))


def test_writes_are_retried_only_with_a_request_id() -> None:
    unavailable = rpc_error(grpc.StatusCode.UNAVAILABLE)
    with_id = activity_pb.StartWorkoutSessionRequest(
        request_id="r1", user_id="u", workout_type="yoga"
    )
    without_id = activity_pb.StartWorkoutSessionRequest(user_id="u", workout_type="yoga")
    assert _may_retry(with_id, unavailable)
    assert not _may_retry(without_id, unavailable)


@pytest.mark.parametrize(
    "code",
    [
        grpc.StatusCode.NOT_FOUND,
        grpc.StatusCode.INVALID_ARGUMENT,
        grpc.StatusCode.DEADLINE_EXCEEDED,
    ],
)
def test_answers_and_spent_deadlines_are_not_retried(code: grpc.StatusCode) -> None:
    assert not _may_retry(user_pb.GetUserRequest(user_id="u"), rpc_error(code))


async def test_the_least_busy_instance_is_picked_and_ties_rotate() -> None:
    pool = UpstreamPool(
        "svc",
        ["127.0.0.1:1", "127.0.0.1:2", "127.0.0.1:3"],
        lambda channel: None,
        PoolSettings(),
        connect=grpc.aio.insecure_channel,  # never dialled: picking needs no connection
    )
    try:
        pool.instances[0].outstanding = 2
        picks = [pool._pick(set()).address for _ in range(4)]
        assert sorted(set(picks)) == ["127.0.0.1:2", "127.0.0.1:3"]
        assert picks[0] != picks[1]
        pool.instances[1].healthy = False
        assert pool._pick(set()).address == "127.0.0.1:3"
    finally:
        await pool.close()


def test_a_cached_token_is_still_refused_once_it_expires() -> None:
    private, public = generate_keypair()
    issued = TokenIssuer(private, "iss", "aud", ttl_seconds=60).issue("u1")
    clock = FakeClock(now=time.time())
    verifier = TokenVerifier(public, "iss", "aud", leeway=0, clock=clock)
    assert verifier.user_id(issued.token) == "u1"
    assert verifier.user_id(issued.token) == "u1"
    clock.advance(61)
    with pytest.raises(ApiError) as refused:
        verifier.user_id(issued.token)
    assert refused.value.http_status == 401
