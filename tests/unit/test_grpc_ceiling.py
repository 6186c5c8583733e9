"""The grpcio ceiling benchmark's pure helpers."""

from __future__ import annotations

from fitness.user.v1 import user_service_pb2 as pb

from bench.grpc_ceiling import ceiling_row, get_user_reply, get_user_request
from bench.load import LoadResult


def test_the_reply_is_a_get_user_response_of_the_bench_account() -> None:
    reply = pb.GetUserResponse.FromString(get_user_reply())
    assert reply.user.username == "bench"
    assert reply.user.profile.weight_kg == 70.0


def test_the_request_names_a_user() -> None:
    assert pb.GetUserRequest.FromString(get_user_request()).user_id


def test_a_row_shows_rate_percentiles_and_errors() -> None:
    result = LoadResult(requests=200, errors=1, seconds=2.0, latencies=[0.01] * 200)
    assert ceiling_row("x", result) == "| x | 100 | 10.0 | 10.0 | 1 |"
