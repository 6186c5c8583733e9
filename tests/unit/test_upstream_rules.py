"""The upstream client's rules without a network: the failure table, error mapping, picking."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any, cast

import grpc
import pytest
from fitness.activity.v1 import activity_service_pb2 as activity_pb
from fitness.user.v1 import user_service_pb2 as user_pb

from saga_coordinator.domain import BusinessFailure, TransientFailure
from saga_coordinator.participants import classified
from services.common.dependency import DEPENDENCY_TRAILER
from services.common.upstream import (
    NoInstanceAvailable,
    PoolSettings,
    RpcFailed,
    UpstreamError,
    UpstreamPool,
    UserRpc,
)
from services.common.upstream.blocking import BlockingPool
from services.common.upstream.errors import map_rpc_errors
from services.common.upstream.pool import judge_health
from services.common.upstream.retry import RULES, counts_as_failure, may_fail_over, rule_for
from services.common.upstream.rpcs import USER_SERVICE, ActivityRpc, rpc
from tests.helpers import FakeClock, failing, rpc_error

ALL_CODES = [code for code in grpc.StatusCode if code is not grpc.StatusCode.OK]


def codes_where(flag: str) -> set[grpc.StatusCode]:
    """The status codes whose rule sets ``flag``."""
    return {code for code in ALL_CODES if getattr(rule_for(code), flag)}


def test_what_a_saga_retries_later_is_unknown_unavailable_deadline_and_load_shedding() -> None:
    assert codes_where("transient") == {
        grpc.StatusCode.UNKNOWN,
        grpc.StatusCode.UNAVAILABLE,
        grpc.StatusCode.DEADLINE_EXCEEDED,
        grpc.StatusCode.RESOURCE_EXHAUSTED,
    }


def test_only_an_unreachable_or_stuck_instance_counts_towards_its_breaker() -> None:
    assert codes_where("instance_failure") == {
        grpc.StatusCode.UNAVAILABLE,
        grpc.StatusCode.DEADLINE_EXCEEDED,
    }
    assert counts_as_failure(rpc_error(grpc.StatusCode.UNAVAILABLE))
    assert not counts_as_failure(rpc_error(grpc.StatusCode.NOT_FOUND))
    assert counts_as_failure(ConnectionResetError())
    assert not counts_as_failure(ValueError("a bug, not an outage"))


def test_an_instance_that_says_its_dependency_is_down_keeps_its_breaker_closed() -> None:
    trailer = grpc.aio.Metadata(DEPENDENCY_TRAILER)
    answered = grpc.aio.AioRpcError(
        grpc.StatusCode.UNAVAILABLE, grpc.aio.Metadata(), trailer, details="database down"
    )
    assert not counts_as_failure(answered)
    assert may_fail_over(user_pb.GetUserRequest(user_id="u"), answered.code())


def test_only_unavailable_fails_over_at_once() -> None:
    assert codes_where("failover") == {grpc.StatusCode.UNAVAILABLE}


def test_a_refusal_is_certain_to_have_had_no_effect_and_is_never_transient() -> None:
    refused = codes_where("refused")
    assert refused == {
        grpc.StatusCode.INVALID_ARGUMENT,
        grpc.StatusCode.OUT_OF_RANGE,
        grpc.StatusCode.NOT_FOUND,
        grpc.StatusCode.ALREADY_EXISTS,
        grpc.StatusCode.PERMISSION_DENIED,
        grpc.StatusCode.UNAUTHENTICATED,
        grpc.StatusCode.FAILED_PRECONDITION,
        grpc.StatusCode.ABORTED,
        grpc.StatusCode.UNIMPLEMENTED,
    }
    assert not refused & codes_where("transient")


def test_unlisted_codes_are_permanent_and_may_have_had_an_effect() -> None:
    for code in (grpc.StatusCode.INTERNAL, grpc.StatusCode.DATA_LOSS, grpc.StatusCode.CANCELLED):
        assert code not in RULES
        rule = rule_for(code)
        assert (rule.transient, rule.refused, rule.failover, rule.instance_failure) == (
            False,
            False,
            False,
            False,
        )


def test_brief_conflicts_and_load_shedding_carry_a_retry_hint() -> None:
    hinted = {code: rule_for(code).retry_after for code in ALL_CODES if rule_for(code).retry_after}
    assert hinted == {grpc.StatusCode.ABORTED: 1.0, grpc.StatusCode.RESOURCE_EXHAUSTED: 1.0}


def test_reads_fail_over_after_an_unavailable_instance() -> None:
    assert may_fail_over(user_pb.GetUserRequest(user_id="u"), grpc.StatusCode.UNAVAILABLE)


def test_writes_fail_over_only_with_a_request_id() -> None:
    with_id = activity_pb.StartWorkoutSessionRequest(
        request_id="r1", user_id="u", workout_type="yoga"
    )
    without_id = activity_pb.StartWorkoutSessionRequest(user_id="u", workout_type="yoga")
    assert may_fail_over(with_id, grpc.StatusCode.UNAVAILABLE)
    assert not may_fail_over(without_id, grpc.StatusCode.UNAVAILABLE)


@pytest.mark.parametrize(
    "code",
    [
        grpc.StatusCode.NOT_FOUND,
        grpc.StatusCode.INVALID_ARGUMENT,
        grpc.StatusCode.DEADLINE_EXCEEDED,
    ],
)
def test_answers_and_spent_deadlines_do_not_fail_over(code: grpc.StatusCode) -> None:
    assert not may_fail_over(user_pb.GetUserRequest(user_id="u"), code)


def test_a_grpc_error_becomes_the_clients_error_with_its_status_and_hints() -> None:
    cause = rpc_error(grpc.StatusCode.ABORTED)
    with pytest.raises(RpcFailed) as mapped, map_rpc_errors("fitness.user.v1.UserService"):
        raise cause
    error = mapped.value
    assert (error.service, error.code, error.message) == (
        "fitness.user.v1.UserService",
        grpc.StatusCode.ABORTED,
        "ABORTED",
    )
    assert (error.retry_after, error.may_have_had_effect, error.transient) == (1.0, False, False)
    assert error.__cause__ is cause


def test_a_lost_answer_may_have_had_an_effect_and_is_worth_another_try() -> None:
    with pytest.raises(RpcFailed) as mapped, map_rpc_errors("svc"):
        raise rpc_error(grpc.StatusCode.DEADLINE_EXCEEDED)
    assert mapped.value.may_have_had_effect
    assert mapped.value.transient
    assert mapped.value.retry_after is None


def test_errors_that_are_not_grpcs_pass_through_the_mapping() -> None:
    with pytest.raises(KeyError), map_rpc_errors("svc"):
        raise KeyError("a bug")


def test_no_instance_had_an_effect_only_if_the_call_was_sent() -> None:
    never_sent = NoInstanceAvailable("svc", 3.0)
    sent = NoInstanceAvailable("svc", 3.0, attempted=True)
    assert (never_sent.code, never_sent.retry_after) == (grpc.StatusCode.UNAVAILABLE, 3.0)
    assert not never_sent.may_have_had_effect
    assert sent.may_have_had_effect
    assert never_sent.transient


class FailingPool:
    """A pool whose every call fails with ``error``."""

    def __init__(self, error: UpstreamError) -> None:
        self.error = error

    async def call(self, rpc: Any, request: Any, within: float | None = None) -> Any:
        raise self.error


@pytest.mark.parametrize(
    ("error", "failure", "code"),
    [
        (NoInstanceAvailable("svc", 1.0, attempted=True), TransientFailure, "UNAVAILABLE"),
        (RpcFailed("svc", grpc.StatusCode.UNKNOWN, "boom"), TransientFailure, "UNKNOWN"),
        (
            RpcFailed("svc", grpc.StatusCode.RESOURCE_EXHAUSTED, "busy"),
            TransientFailure,
            "RESOURCE_EXHAUSTED",
        ),
        (RpcFailed("svc", grpc.StatusCode.ABORTED, "busy goal"), BusinessFailure, "ABORTED"),
        (
            RpcFailed("svc", grpc.StatusCode.FAILED_PRECONDITION, "infeasible"),
            BusinessFailure,
            "FAILED_PRECONDITION",
        ),
        (RpcFailed("svc", grpc.StatusCode.INTERNAL, "bug"), BusinessFailure, "INTERNAL"),
    ],
)
async def test_a_saga_step_retries_what_the_table_calls_transient_and_compensates_the_rest(
    error: UpstreamError, failure: type[Exception], code: str
) -> None:
    pool = cast(UpstreamPool, FailingPool(error))
    with pytest.raises(failure) as raised:
        await classified(pool, UserRpc.GetUser, user_pb.GetUserRequest(user_id="u"))
    assert str(raised.value).startswith(code)


def test_an_rpc_handle_must_name_the_protos_message_classes() -> None:
    assert UserRpc.GetUser.path == "/fitness.user.v1.UserService/GetUser"
    with pytest.raises(TypeError):
        rpc(USER_SERVICE, "GetUser", user_pb.GetUserRequest, user_pb.ListGoalsResponse)


@pytest.fixture
async def pool() -> AsyncIterator[UpstreamPool]:
    """Three instances that are never dialled: picking and refusing need no connection."""
    pool = UpstreamPool(
        USER_SERVICE.full_name,
        ["127.0.0.1:1", "127.0.0.1:2", "127.0.0.1:3"],
        PoolSettings(fail_max=1, reset_timeout=10.0),
        FakeClock(),
        connect=grpc.aio.insecure_channel,
    )
    yield pool
    await pool.close()


async def test_the_least_busy_instance_is_picked_and_ties_rotate(pool: UpstreamPool) -> None:
    pool.instances[0].outstanding = 2
    picks = [pool._pick(set()).address for _ in range(4)]
    assert sorted(set(picks)) == ["127.0.0.1:2", "127.0.0.1:3"]
    assert picks[0] != picks[1]
    pool.instances[1].healthy = False
    assert pool._pick(set()).address == "127.0.0.1:3"


async def open_every_breaker(pool: UpstreamPool) -> None:
    """Trip each instance's breaker (fail_max is 1) without a network."""
    for instance in pool.instances:
        with pytest.raises(grpc.aio.AioRpcError):
            await instance.breaker.call(failing)


async def test_with_every_breaker_open_a_call_is_refused_unsent(pool: UpstreamPool) -> None:
    await open_every_breaker(pool)
    with pytest.raises(NoInstanceAvailable) as refused:
        await pool.call(UserRpc.GetUser, user_pb.GetUserRequest(user_id="u"))
    assert not refused.value.may_have_had_effect
    assert refused.value.retry_after == 10.0
    assert all(instance.calls == {} for instance in pool.instances)


async def test_a_spent_caller_deadline_fails_without_blaming_an_instance(
    pool: UpstreamPool,
) -> None:
    with pytest.raises(RpcFailed) as spent:
        await pool.call(UserRpc.GetUser, user_pb.GetUserRequest(user_id="u"), within=0.0)
    assert spent.value.code is grpc.StatusCode.DEADLINE_EXCEEDED
    assert not spent.value.may_have_had_effect
    assert [i.breaker.fail_counter for i in pool.instances] == [0, 0, 0]


async def test_a_pool_refuses_another_services_method(pool: UpstreamPool) -> None:
    request = activity_pb.ListWorkoutTypesRequest()
    with pytest.raises(ValueError, match="ActivityService"):
        await pool.call(ActivityRpc.ListWorkoutTypes, request)


async def test_blocking_code_gets_the_pools_answer_on_a_worker_thread(pool: UpstreamPool) -> None:
    await open_every_breaker(pool)
    blocking = BlockingPool(pool, asyncio.get_running_loop())
    request = user_pb.GetUserRequest(user_id="u")
    with pytest.raises(NoInstanceAvailable):
        await asyncio.to_thread(blocking.call, UserRpc.GetUser, request)
    with pytest.raises(RuntimeError, match="block its own event loop"):
        blocking.call(UserRpc.GetUser, request)


async def test_a_caller_that_retries_anyway_waits_for_a_breaker_trial_within_its_deadline() -> None:
    clock = FakeClock()
    settings = PoolSettings(fail_max=1, reset_timeout=2.0, await_trial=True)
    waiting = UpstreamPool(
        USER_SERVICE.full_name, ["127.0.0.1:1"], settings, clock, connect=grpc.aio.insecure_channel
    )
    try:
        await open_every_breaker(waiting)
        now = time.monotonic()
        assert waiting._trial_wait(attempted=False, deadline=now + 3.0) == 2.0
        assert waiting._trial_wait(attempted=False, deadline=now + 1.0) is None  # too late
        assert waiting._trial_wait(attempted=True, deadline=now + 3.0) is None  # it was tried
    finally:
        await waiting.close()


async def test_by_default_a_pool_refuses_at_once_when_every_breaker_is_open(
    pool: UpstreamPool,
) -> None:
    await open_every_breaker(pool)
    assert pool._trial_wait(attempted=False, deadline=time.monotonic() + 60.0) is None


def test_one_slow_health_check_keeps_a_healthy_instance_and_a_second_takes_it_out() -> None:
    healthy, slow = judge_health(True, 0, None)
    assert (healthy, slow) == (True, 1)
    assert judge_health(healthy, slow, None) == (False, 2)


def test_a_refused_or_draining_check_takes_an_instance_out_at_once() -> None:
    assert judge_health(True, 0, False) == (False, 0)


def test_a_serving_answer_brings_an_instance_back_and_forgets_slow_checks() -> None:
    assert judge_health(False, 3, True) == (True, 0)
    assert judge_health(True, 1, True) == (True, 0)


def test_a_slow_check_does_not_bring_a_down_instance_back() -> None:
    assert judge_health(False, 0, None) == (False, 1)
