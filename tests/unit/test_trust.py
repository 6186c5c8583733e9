"""The call matrix: which component may call which RPC (services/common/trust.py)."""

from __future__ import annotations

import pytest
from fitness.activity.v1 import activity_service_pb2
from fitness.health.v1 import health_metrics_service_pb2
from fitness.motion.v1 import motion_service_pb2
from fitness.saga.v1 import saga_service_pb2
from fitness.user.v1 import user_service_pb2
from fitness.watch_logs.v1 import watch_logs_service_pb2

from services.common import trust
from services.common.trust import ACTIVITY, COMPONENTS, GATEWAY, SAGA, USER, may_call

RPCS = {
    f"/{service.full_name}/{method.name}"
    for module in (
        user_service_pb2,
        activity_service_pb2,
        saga_service_pb2,
        watch_logs_service_pb2,
        motion_service_pb2,
        health_metrics_service_pb2,
    )
    for service in module.DESCRIPTOR.services_by_name.values()
    for method in service.methods
}


def test_the_matrix_names_only_rpcs_that_exist() -> None:
    assert set(trust.RPC_CALLERS) <= RPCS
    assert set(trust.SERVICE_CALLERS) == {trust.service_of(rpc) for rpc in RPCS}


@pytest.mark.parametrize("step", trust.SAGA_STEPS)
def test_only_the_saga_coordinator_may_run_a_saga_step(step: str) -> None:
    assert [c for c in COMPONENTS if may_call(c, step)] == [SAGA]


def test_the_activity_service_may_read_a_user_and_count_workouts_and_nothing_else() -> None:
    user_rpcs = [rpc for rpc in RPCS if trust.service_of(rpc) == trust.USER_SERVICE]
    assert sorted(rpc for rpc in user_rpcs if may_call(ACTIVITY, rpc)) == [
        "/fitness.user.v1.UserService/GetUser",
        "/fitness.user.v1.UserService/RecordWorkoutProgress",
    ]


def test_only_the_activity_services_relay_counts_workouts_toward_goals() -> None:
    rpc = "/fitness.user.v1.UserService/RecordWorkoutProgress"
    assert [c for c in COMPONENTS if may_call(c, rpc)] == [ACTIVITY]


def test_the_gateway_may_only_read_goals_in_the_user_service_and_change_them_by_saga() -> None:
    user_rpcs = sorted(rpc for rpc in RPCS if trust.service_of(rpc) == trust.USER_SERVICE)
    goal_rpcs = [rpc for rpc in user_rpcs if "Goal" in rpc and may_call(GATEWAY, rpc)]
    assert goal_rpcs == [
        "/fitness.user.v1.UserService/GetUserGoal",
        "/fitness.user.v1.UserService/ListGoals",
    ]
    assert "/fitness.user.v1.UserService/CreateGoal" not in RPCS
    assert "/fitness.saga.v1.SagaCoordinatorService/CreateGoal" in RPCS


def test_only_the_gateway_may_ask_the_saga_coordinator_for_anything() -> None:
    saga_rpcs = [rpc for rpc in RPCS if trust.service_of(rpc) == trust.SAGA_SERVICE]
    assert saga_rpcs
    for rpc in saga_rpcs:
        assert [c for c in COMPONENTS if may_call(c, rpc)] == [GATEWAY], rpc


def test_no_service_may_call_its_own_kind_or_the_user_service_call_anything() -> None:
    assert not any(may_call(USER, rpc) for rpc in RPCS)
    assert not any(may_call(ACTIVITY, rpc) for rpc in RPCS if "ActivityService" in rpc)


@pytest.mark.parametrize(
    "method", ["/grpc.health.v1.Health/Check", "/grpc.reflection.v1alpha.ServerReflection/X"]
)
def test_health_and_reflection_are_open_to_every_component(method: str) -> None:
    assert all(may_call(c, method) for c in COMPONENTS)


def test_an_unknown_service_takes_calls_from_nobody() -> None:
    assert not any(may_call(c, "/fitness.other.v1.Other/Do") for c in COMPONENTS)
    assert not may_call("", "/fitness.user.v1.UserService/GetUser")


def test_only_the_gateway_may_call_the_watch_log_service() -> None:
    watch_rpcs = [rpc for rpc in RPCS if trust.service_of(rpc) == trust.WATCH_LOG_SERVICE]
    assert watch_rpcs
    for rpc in watch_rpcs:
        assert [c for c in COMPONENTS if may_call(c, rpc)] == [GATEWAY], rpc


def test_only_the_gateway_may_call_the_motion_service() -> None:
    motion_rpcs = [rpc for rpc in RPCS if trust.service_of(rpc) == trust.MOTION_SERVICE]
    assert len(motion_rpcs) == 6
    for rpc in motion_rpcs:
        assert [c for c in COMPONENTS if may_call(c, rpc)] == [GATEWAY], rpc


def test_only_the_gateway_may_call_the_health_metrics_service() -> None:
    health_rpcs = [rpc for rpc in RPCS if trust.service_of(rpc) == trust.HEALTH_SERVICE]
    assert len(health_rpcs) == 7
    for rpc in health_rpcs:
        assert [c for c in COMPONENTS if may_call(c, rpc)] == [GATEWAY], rpc
