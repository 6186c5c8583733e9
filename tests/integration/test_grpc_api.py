"""The gRPC APIs called directly, as grpcurl or a service would: health, reflection, errors."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
import pytest
from fitness.activity.v1 import activity_service_pb2 as apb
from fitness.activity.v1 import activity_service_pb2_grpc as agrpc
from fitness.goal.v1 import goal_pb2 as gpb
from fitness.user.v1 import user_service_pb2 as upb
from fitness.user.v1 import user_service_pb2_grpc as ugrpc
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

from deploy.embedded_postgres import create_database
from services.activity.__main__ import ActivityProcess
from services.common.grpc_runtime import GrpcServer
from services.common.trust import ACTIVITY, GATEWAY, SAGA, USER
from tests.helpers import (
    KeyFiles,
    ServiceCerts,
    address,
    channel_as,
    start_activity_server,
    start_user_server,
)


@dataclass
class Services:
    """Stubs on real servers: as the gateway, and as the saga for the saga's steps."""

    users: ugrpc.UserServiceStub
    activity: agrpc.ActivityServiceStub
    user_channel: grpc.aio.Channel
    activity_channel: grpc.aio.Channel
    saga_users: ugrpc.UserServiceStub
    saga_activity: agrpc.ActivityServiceStub
    relay_users: ugrpc.UserServiceStub  # as the activity service's progress relay


@pytest.fixture
async def services(
    tmp_path: Path,
    jwt_keys: KeyFiles,
    service_certs: ServiceCerts,
    database_url: str,
    request: pytest.FixtureRequest,
) -> AsyncIterator[Services]:
    """Both services on one SQL engine kind: every test runs on SQLite and on PostgreSQL."""
    activity_db = f"sqlite:///{tmp_path / 'a.db'}"
    if database_url.startswith("postgresql"):
        server_url = request.getfixturevalue("postgres_server")
        activity_db = create_database(server_url, f"activity_{uuid.uuid4().hex[:12]}")
    certs = service_certs
    user_server = await start_user_server(database_url, jwt_keys, certs=certs)
    activity_server = await start_activity_server(activity_db, [address(user_server)], certs=certs)
    servers: list[GrpcServer | ActivityProcess] = [user_server, activity_server]
    async with (
        channel_as(certs, GATEWAY, USER, address(user_server)) as uc,
        channel_as(certs, GATEWAY, ACTIVITY, address(activity_server)) as ac,
        channel_as(certs, SAGA, USER, address(user_server)) as saga_uc,
        channel_as(certs, SAGA, ACTIVITY, address(activity_server)) as saga_ac,
        channel_as(certs, ACTIVITY, USER, address(user_server)) as relay_uc,
    ):
        yield Services(
            ugrpc.UserServiceStub(uc),
            agrpc.ActivityServiceStub(ac),
            uc,
            ac,
            ugrpc.UserServiceStub(saga_uc),
            agrpc.ActivityServiceStub(saga_ac),
            ugrpc.UserServiceStub(relay_uc),
        )
    for server in servers:
        await server.stop(grace=0)


async def code_of(call: object) -> grpc.StatusCode:
    """The status code a call ends with."""
    with pytest.raises(grpc.aio.AioRpcError) as failure:
        await call  # type: ignore[misc]
    return failure.value.code()


async def register(services: Services, name: str = "alice", request_id: str = "r1") -> upb.User:
    request = upb.RegisterUserRequest(
        request_id=request_id, username=name, email=f"{name}@example.com", password="long-password"
    )
    reply: upb.RegisterUserResponse = await services.users.RegisterUser(request)
    return reply.user


@pytest.mark.parametrize("service_name", ["", "fitness.user.v1.UserService"])
async def test_the_standard_health_service_reports_serving(
    services: Services, service_name: str
) -> None:
    health = health_pb2_grpc.HealthStub(services.user_channel)
    reply = await health.Check(health_pb2.HealthCheckRequest(service=service_name))
    assert reply.status == health_pb2.HealthCheckResponse.SERVING


async def test_reflection_lists_the_services_like_grpcurl_list(services: Services) -> None:
    stub = reflection_pb2_grpc.ServerReflectionStub(services.activity_channel)
    request = reflection_pb2.ServerReflectionRequest(list_services="")
    replies = [reply async for reply in stub.ServerReflectionInfo(iter([request]))]
    names = {s.name for s in replies[0].list_services_response.service}
    assert {"fitness.activity.v1.ActivityService", "grpc.health.v1.Health"} <= names


async def test_reflection_serves_the_file_descriptor_for_calls_by_name(services: Services) -> None:
    stub = reflection_pb2_grpc.ServerReflectionStub(services.user_channel)
    request = reflection_pb2.ServerReflectionRequest(
        file_containing_symbol="fitness.user.v1.UserService"
    )
    replies = [reply async for reply in stub.ServerReflectionInfo(iter([request]))]
    assert replies[0].file_descriptor_response.file_descriptor_proto


def create_step(user_id: str) -> upb.PrepareGoalChangeRequest:
    """The saga's first step creating goal g1 (a marathon) for the user, as saga s1."""
    return upb.PrepareGoalChangeRequest(
        request_id="s1:prepare",
        saga_id="s1",
        user_id=user_id,
        goal_id="g1",
        operation=upb.GOAL_OPERATION_CREATE,
        goal_type=gpb.GOAL_TYPE_DISTANCE_KM,
        target_value=42.2,
        target_date="2099-01-01",
    )


async def test_a_goal_created_by_the_saga_steps_reads_back_the_same(services: Services) -> None:
    user = await register(services)
    prepare = create_step(user.user_id)
    await services.saga_users.PrepareGoalChange(prepare)
    commit = upb.GoalChangeStepRequest(
        request_id="s1:commit", saga_id="s1", user_id=user.user_id, goal_id="g1"
    )
    goal = (await services.saga_users.CommitGoalChange(commit)).goal
    assert (goal.goal_type, goal.target_value) == (gpb.GOAL_TYPE_DISTANCE_KM, 42.2)
    fetched = await services.users.GetUserGoal(
        upb.GetUserGoalRequest(user_id=user.user_id, goal_id=goal.goal_id)
    )
    assert fetched.goal == goal


async def test_the_gateway_cannot_create_a_goal_past_the_saga(services: Services) -> None:
    user = await register(services)
    prepare = create_step(user.user_id)
    denied = await code_of(services.users.PrepareGoalChange(prepare))
    assert denied == grpc.StatusCode.PERMISSION_DENIED
    retired = services.user_channel.unary_unary(
        "/fitness.user.v1.UserService/CreateGoal",
        request_serializer=bytes,
        response_deserializer=bytes,
    )
    assert await code_of(retired(b"")) == grpc.StatusCode.UNIMPLEMENTED
    listed = await services.users.ListGoals(upb.ListGoalsRequest(user_id=user.user_id))
    assert list(listed.goals) == []


@pytest.mark.parametrize(
    ("request_fields", "code"),
    [
        (
            {"username": "x", "email": "x@example.com", "password": "long-password"},
            grpc.StatusCode.INVALID_ARGUMENT,
        ),
        (
            {"username": "alice", "email": "ALICE@example.com", "password": "long-password"},
            grpc.StatusCode.ALREADY_EXISTS,
        ),
        (
            {"username": "bob", "email": "bob@example.com", "password": ""},
            grpc.StatusCode.INVALID_ARGUMENT,
        ),
    ],
)
async def test_register_user_errors(
    services: Services, request_fields: dict[str, Any], code: grpc.StatusCode
) -> None:
    await register(services)
    request = upb.RegisterUserRequest(request_id="r2", **request_fields)
    assert await code_of(services.users.RegisterUser(request)) == code


async def test_user_rpcs_report_missing_things_as_not_found(services: Services) -> None:
    assert (
        await code_of(services.users.GetUser(upb.GetUserRequest(user_id="ghost")))
        == grpc.StatusCode.NOT_FOUND
    )
    missing_goal = upb.GetUserGoalRequest(user_id="ghost", goal_id="none")
    assert await code_of(services.users.GetUserGoal(missing_goal)) == grpc.StatusCode.NOT_FOUND
    assert (
        await code_of(services.users.ListGoals(upb.ListGoalsRequest(user_id="ghost")))
        == grpc.StatusCode.NOT_FOUND
    )
    patch = upb.UpdateProfileRequest(user_id="ghost", height_cm=170)
    assert await code_of(services.users.UpdateProfile(patch)) == grpc.StatusCode.NOT_FOUND


async def test_login_with_a_wrong_password_is_unauthenticated(services: Services) -> None:
    await register(services)
    login = upb.LoginRequest(email="alice@example.com", password="nope-nope")
    assert await code_of(services.users.Login(login)) == grpc.StatusCode.UNAUTHENTICATED


@pytest.mark.parametrize(
    ("goal_type", "target_date"),
    [
        (gpb.GOAL_TYPE_UNSPECIFIED, "2099-01-01"),
        (99, "2099-01-01"),
        (gpb.GOAL_TYPE_WORKOUTS_COUNT, "soon"),
    ],
)
async def test_a_goal_creation_step_rejects_unset_types_and_bad_dates(
    services: Services, goal_type: int, target_date: str
) -> None:
    user = await register(services)
    request = upb.PrepareGoalChangeRequest(
        request_id="s:prepare",
        saga_id="s",
        user_id=user.user_id,
        goal_id="g",
        operation=upb.GOAL_OPERATION_CREATE,
        goal_type=goal_type,  # type: ignore[arg-type]
        target_value=1,
        target_date=target_date,
    )
    code = await code_of(services.saga_users.PrepareGoalChange(request))
    assert code == grpc.StatusCode.INVALID_ARGUMENT


async def test_update_profile_rejects_out_of_range_values(services: Services) -> None:
    user = await register(services)
    request = upb.UpdateProfileRequest(user_id=user.user_id, weight_kg=-3)
    assert await code_of(services.users.UpdateProfile(request)) == grpc.StatusCode.INVALID_ARGUMENT


async def test_the_activity_service_reads_the_weight_from_the_user_service(
    services: Services,
) -> None:
    request = upb.RegisterUserRequest(
        request_id="r",
        username="heavy",
        email="heavy@example.com",
        password="long-password",
        profile=upb.Profile(weight_kg=100),
    )
    user = (await services.users.RegisterUser(request)).user
    started = await services.activity.StartWorkoutSession(
        apb.StartWorkoutSessionRequest(request_id="s", user_id=user.user_id, workout_type="hiit")
    )
    end_request = apb.EndWorkoutSessionRequest(
        request_id="e",
        session_id=started.session.session_id,
        user_id=user.user_id,
        end_time=started.session.start_time.replace("Z", "+00:00"),
    )
    ended = await services.activity.EndWorkoutSession(end_request)
    assert ended.session.duration == 0
    stats = await services.activity.GetUserStatistics(
        apb.GetUserStatisticsRequest(user_id=user.user_id)
    )
    assert stats.total_workouts == 1


async def test_activity_rpc_errors(services: Services) -> None:
    activity = services.activity
    u = await registered(services, "ursula")
    unknown_type = apb.StartWorkoutSessionRequest(
        request_id="s0", user_id=u, workout_type="napping"
    )
    assert (
        await code_of(activity.StartWorkoutSession(unknown_type))
        == grpc.StatusCode.INVALID_ARGUMENT
    )
    no_user = apb.StartWorkoutSessionRequest(request_id="s1", workout_type="yoga")
    assert await code_of(activity.StartWorkoutSession(no_user)) == grpc.StatusCode.INVALID_ARGUMENT
    unknown_user = apb.StartWorkoutSessionRequest(
        request_id="s3", user_id="ghost", workout_type="yoga"
    )
    assert await code_of(activity.StartWorkoutSession(unknown_user)) == grpc.StatusCode.NOT_FOUND
    started = await activity.StartWorkoutSession(
        apb.StartWorkoutSessionRequest(request_id="s2", user_id=u, workout_type="yoga")
    )
    session_id = started.session.session_id
    cases = [
        (apb.EndWorkoutSessionRequest(session_id="nope", user_id=u), grpc.StatusCode.NOT_FOUND),
        (
            apb.EndWorkoutSessionRequest(session_id=session_id, user_id="intruder"),
            grpc.StatusCode.PERMISSION_DENIED,
        ),
        (
            apb.EndWorkoutSessionRequest(session_id=session_id, user_id=u, end_time="noon"),
            grpc.StatusCode.INVALID_ARGUMENT,
        ),
        (
            apb.EndWorkoutSessionRequest(
                session_id=session_id, user_id=u, end_time="2000-01-01T00:00:00Z"
            ),
            grpc.StatusCode.INVALID_ARGUMENT,
        ),
    ]
    for request, code in cases:
        assert await code_of(activity.EndWorkoutSession(request)) == code
    await activity.EndWorkoutSession(
        apb.EndWorkoutSessionRequest(request_id="e1", session_id=session_id, user_id=u)
    )
    again = apb.EndWorkoutSessionRequest(request_id="e2", session_id=session_id, user_id=u)
    assert await code_of(activity.EndWorkoutSession(again)) == grpc.StatusCode.FAILED_PRECONDITION
    bad_page = apb.ListWorkoutSessionsRequest(user_id=u, page_size=1000)
    assert await code_of(activity.ListWorkoutSessions(bad_page)) == grpc.StatusCode.INVALID_ARGUMENT
    no_user_page = apb.ListWorkoutSessionsRequest()
    assert (
        await code_of(activity.ListWorkoutSessions(no_user_page))
        == grpc.StatusCode.INVALID_ARGUMENT
    )
    no_user_stats = apb.GetUserStatisticsRequest()
    assert (
        await code_of(activity.GetUserStatistics(no_user_stats)) == grpc.StatusCode.INVALID_ARGUMENT
    )


async def test_workout_types_are_listed(services: Services) -> None:
    reply = await services.activity.ListWorkoutTypes(apb.ListWorkoutTypesRequest())
    assert {t.name for t in reply.workout_types} >= {"running", "cycling", "swimming", "yoga"}


async def test_starting_fails_as_unavailable_when_the_user_service_is_gone(
    tmp_path: Path, service_certs: ServiceCerts
) -> None:
    activity_server = await start_activity_server(
        f"sqlite:///{tmp_path / 'a.db'}", ["127.0.0.1:1"], certs=service_certs
    )
    try:
        target = address(activity_server)
        async with channel_as(service_certs, GATEWAY, ACTIVITY, target) as channel:
            stub = agrpc.ActivityServiceStub(channel)
            start = apb.StartWorkoutSessionRequest(request_id="s", user_id="u", workout_type="yoga")
            assert (
                await code_of(stub.StartWorkoutSession(start, timeout=5))
                == grpc.StatusCode.UNAVAILABLE
            )
            listed = await stub.ListWorkoutSessions(apb.ListWorkoutSessionsRequest(user_id="u"))
            assert list(listed.sessions) == []
    finally:
        await activity_server.stop(grace=0)


async def test_group_workouts_are_recorded_once_per_participant(services: Services) -> None:
    start = "2020-01-01T10:00:00Z"
    members = [await registered(services, name) for name in ("gus", "gwen")]
    participants = [
        apb.GroupParticipant(user_id=u, start_time=start, end_time="2020-01-01T10:30:00Z")
        for u in [*members, "ghost"]
    ]
    request = apb.RecordGroupWorkoutRequest(
        request_id="live-1",
        group_session_id="live-1",
        workout_type="cycling",
        participants=participants,
    )
    first = await services.activity.RecordGroupWorkout(request)
    again = await services.activity.RecordGroupWorkout(request)
    # "ghost" has no account (e.g. deleted during the class): left out, not counted at 70 kg.
    assert [s.user_id for s in first.sessions] == members
    assert [s.duration for s in first.sessions] == [1800, 1800]
    assert first == again
    stats = await services.activity.GetUserStatistics(
        apb.GetUserStatisticsRequest(user_id=members[0])
    )
    assert stats.total_workouts == 1


@pytest.mark.parametrize(
    "participant",
    [
        apb.GroupParticipant(user_id="u", start_time="noon", end_time="2020-01-01T10:30:00Z"),
        apb.GroupParticipant(user_id="u", start_time="2020-01-01T10:30:00Z"),
        apb.GroupParticipant(
            user_id="u", start_time="2020-01-01T11:00:00Z", end_time="2020-01-01T10:00:00Z"
        ),
        apb.GroupParticipant(start_time="2020-01-01T10:00:00Z", end_time="2020-01-01T10:30:00Z"),
    ],
)
async def test_bad_group_workouts_are_invalid_arguments(
    services: Services, participant: object
) -> None:
    request = apb.RecordGroupWorkoutRequest(
        request_id="g",
        group_session_id="g",
        workout_type="yoga",
        participants=[participant],  # type: ignore[list-item]
    )
    assert (
        await code_of(services.activity.RecordGroupWorkout(request))
        == grpc.StatusCode.INVALID_ARGUMENT
    )


SOON = "2099-01-31"


async def registered(services: Services, name: str) -> str:
    request = upb.RegisterUserRequest(
        request_id=name, username=name, email=f"{name}@example.com", password="s3cret-pass"
    )
    return str((await services.users.RegisterUser(request)).user.user_id)


async def test_goal_change_rpcs_refuse_bad_requests(services: Services) -> None:
    user_id = await registered(services, "gail")
    ids: dict[str, Any] = {
        "request_id": "s:prepare",
        "saga_id": "s",
        "user_id": user_id,
        "goal_id": "g",
    }
    create: dict[str, Any] = {
        "operation": upb.GOAL_OPERATION_CREATE,
        "goal_type": gpb.GOAL_TYPE_WORKOUTS_COUNT,
    }
    bad = [
        upb.PrepareGoalChangeRequest(
            **{**ids, "saga_id": ""}, **create, target_value=1, target_date=SOON
        ),
        upb.PrepareGoalChangeRequest(**ids, target_value=1, target_date=SOON),
        upb.PrepareGoalChangeRequest(**ids, **create, target_value=0, target_date=SOON),
        upb.PrepareGoalChangeRequest(**ids, **create, target_value=1, target_date="soon"),
        upb.PrepareGoalChangeRequest(
            **ids, operation=upb.GOAL_OPERATION_CREATE, target_value=1, target_date=SOON
        ),
    ]
    for request in bad:
        assert (
            await code_of(services.saga_users.PrepareGoalChange(request))
            == grpc.StatusCode.INVALID_ARGUMENT
        )
    missing = upb.PrepareGoalChangeRequest(**ids, operation=upb.GOAL_OPERATION_DELETE)
    assert (
        await code_of(services.saga_users.PrepareGoalChange(missing)) == grpc.StatusCode.NOT_FOUND
    )
    stranger = upb.PrepareGoalChangeRequest(
        **{**ids, "user_id": "nobody"}, **create, target_value=1, target_date=SOON
    )
    assert (
        await code_of(services.saga_users.PrepareGoalChange(stranger)) == grpc.StatusCode.NOT_FOUND
    )
    no_saga = upb.GoalChangeStepRequest(request_id="x", user_id=user_id, goal_id="g")
    assert (
        await code_of(services.saga_users.CommitGoalChange(no_saga))
        == grpc.StatusCode.INVALID_ARGUMENT
    )
    assert (
        await code_of(services.saga_users.CancelGoalChange(no_saga))
        == grpc.StatusCode.INVALID_ARGUMENT
    )


async def test_progress_and_notification_rpcs_refuse_bad_requests(services: Services) -> None:
    user_id = await registered(services, "hal")
    now = "2030-01-01T10:00:00Z"
    bad = [
        upb.RecordWorkoutProgressRequest(user_id=user_id, end_time=now, duration=60),
        upb.RecordWorkoutProgressRequest(request_id="p", user_id=user_id, end_time="10am"),
        upb.RecordWorkoutProgressRequest(
            request_id="p", user_id=user_id, end_time=now, duration=-1
        ),
    ]
    for request in bad:
        assert (
            await code_of(services.relay_users.RecordWorkoutProgress(request))
            == grpc.StatusCode.INVALID_ARGUMENT
        )
    nobody = upb.RecordWorkoutProgressRequest(request_id="p", user_id="nobody", end_time=now)
    relay = services.relay_users
    assert await code_of(relay.RecordWorkoutProgress(nobody)) == grpc.StatusCode.NOT_FOUND
    # Only the relay counts workouts now: the gateway may not.
    assert (
        await code_of(services.users.RecordWorkoutProgress(nobody))
        == grpc.StatusCode.PERMISSION_DENIED
    )
    too_many = upb.ListNotificationsRequest(user_id=user_id, page_size=1000)
    assert (
        await code_of(services.users.ListNotifications(too_many))
        == grpc.StatusCode.INVALID_ARGUMENT
    )
    unknown = upb.ListNotificationsRequest(user_id="nobody")
    assert await code_of(services.users.ListNotifications(unknown)) == grpc.StatusCode.NOT_FOUND


async def test_plan_rpcs_refuse_bad_requests(services: Services) -> None:
    user = await register(services)
    plan: dict[str, Any] = {
        "request_id": "s:plan",
        "user_id": user.user_id,
        "goal_id": "g",
        "goal_type": gpb.GOAL_TYPE_ACTIVE_MINUTES,
        "target_value": 300,
        "target_date": SOON,
        "start_time": "2030-01-01T10:00:00Z",
        "active": True,
    }
    bad: list[dict[str, Any]] = [
        {"request_id": ""},
        {"goal_type": gpb.GOAL_TYPE_UNSPECIFIED},
        {"goal_type": 99},
        {"target_value": 0},
        {"target_date": "31/01/2099"},
        {"start_time": ""},
        {"goal_id": ""},
    ]
    for change in bad:
        request = apb.PutGoalPlanRequest(**{**plan, **change})
        assert (
            await code_of(services.saga_activity.PutGoalPlan(request))
            == grpc.StatusCode.INVALID_ARGUMENT
        )
    infeasible = apb.PutGoalPlanRequest(
        **{**plan, "target_date": "2030-01-02", "target_value": 9e6}
    )
    assert (
        await code_of(services.saga_activity.PutGoalPlan(infeasible))
        == grpc.StatusCode.FAILED_PRECONDITION
    )
    ghost = apb.PutGoalPlanRequest(**{**plan, "user_id": "nobody"})
    assert await code_of(services.saga_activity.PutGoalPlan(ghost)) == grpc.StatusCode.NOT_FOUND
    restore = apb.RestoreGoalPlanRequest(request_id="s:plan:undo", goal_id="g")
    assert (
        await code_of(services.saga_activity.RestoreGoalPlan(restore))
        == grpc.StatusCode.INVALID_ARGUMENT
    )
    nobody = apb.GetSuggestionsRequest(user_id="")
    assert (
        await code_of(services.activity.GetSuggestions(nobody)) == grpc.StatusCode.INVALID_ARGUMENT
    )
