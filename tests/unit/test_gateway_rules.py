"""Gateway rules that need no network: status mapping and tokens.

Retry safety and balancing are the upstream client's: tests/unit/test_upstream_rules.py.
"""

from __future__ import annotations

import time
from typing import Any, cast

import grpc
import pytest
from fitness.user.v1 import user_service_pb2 as user_pb

from gateway.edge.auth import TokenVerifier
from gateway.edge.errors import GRPC_TO_HTTP, ApiError, from_rpc_error
from gateway.routes.goals import goal_response
from services.common.goal_types import GoalType
from services.common.upstream import RpcFailed
from services.user.tokens import TokenIssuer, generate_keypair
from tests.helpers import FakeClock


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
    assert from_rpc_error(RpcFailed("svc", code, code.name)).http_status == status


def test_unexpected_upstream_codes_are_502_without_leaking_details() -> None:
    error = from_rpc_error(RpcFailed("svc", grpc.StatusCode.INTERNAL, "INTERNAL: boom"))
    assert error.http_status == 502
    assert "INTERNAL" not in error.message


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


def test_a_goal_type_the_gateway_does_not_know_is_an_upstream_failure_not_a_500() -> None:
    newer = cast(Any, 99)  # a value a newer proto may add
    goal = user_pb.Goal(goal_id="g", goal_type=newer, status=user_pb.GOAL_STATUS_ACTIVE)
    with pytest.raises(ApiError) as refused:
        goal_response(goal)
    assert (refused.value.http_status, refused.value.status) == (502, "UPSTREAM_ERROR")


def test_a_goal_type_the_gateway_knows_is_rendered_by_its_name() -> None:
    distance = GoalType.DISTANCE_KM.to_proto()
    goal = user_pb.Goal(goal_id="g", goal_type=distance, status=user_pb.GOAL_STATUS_ACTIVE)
    assert goal_response(goal).goal_type == "distance_km"
