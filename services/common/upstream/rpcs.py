"""Typed handles on every RPC the platform's clients make, checked against the protos.

The generated ``*_pb2_grpc`` stubs carry no annotations, so a call through them is ``Any``
to mypy. An ``Rpc[Request, Response]`` pairs a method's path with its message classes:
``await pool.call(UserRpc.GetUser, request)`` is typed (a wrong request type does not
type-check) and the pairing is checked against the proto's descriptor when it is built.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Generic, TypeVar

from fitness.activity.v1 import activity_service_pb2 as activity_pb
from fitness.health.v1 import health_metrics_service_pb2 as health_pb
from fitness.motion.v1 import motion_service_pb2 as motion_pb
from fitness.saga.v1 import saga_service_pb2 as saga_pb
from fitness.user.v1 import user_service_pb2 as user_pb
from fitness.watch_logs.v1 import watch_logs_service_pb2 as watch_pb
from google.protobuf.descriptor import FileDescriptor, ServiceDescriptor
from google.protobuf.message import Message

Req = TypeVar("Req", bound=Message)
Resp = TypeVar("Resp", bound=Message)


@dataclass(frozen=True)
class Rpc(Generic[Req, Resp]):
    """One unary method of a service: its full service name, name and message classes."""

    service: str
    name: str
    request: type[Req]
    response: type[Resp]

    @property
    def path(self) -> str:
        """The method's path on the wire, e.g. /fitness.user.v1.UserService/GetUser."""
        return f"/{self.service}/{self.name}"


def the_service(file: FileDescriptor) -> ServiceDescriptor:
    """The one service a proto file declares."""
    [service] = file.services_by_name.values()
    return service


def rpc(
    service: ServiceDescriptor, name: str, request: type[Req], response: type[Resp]
) -> Rpc[Req, Resp]:
    """The handle on ``service``'s method ``name``; TypeError if the classes do not match it."""
    method = service.methods_by_name[name]
    declared = (method.input_type.full_name, method.output_type.full_name)
    given = (request.DESCRIPTOR.full_name, response.DESCRIPTOR.full_name)
    if declared != given:
        raise TypeError(f"{service.full_name}/{name} takes {declared}, not {given}")
    return Rpc(service.full_name, name, request, response)


USER_SERVICE = the_service(user_pb.DESCRIPTOR)
ACTIVITY_SERVICE = the_service(activity_pb.DESCRIPTOR)
SAGA_SERVICE = the_service(saga_pb.DESCRIPTOR)
WATCH_LOG_SERVICE = the_service(watch_pb.DESCRIPTOR)
MOTION_SERVICE = the_service(motion_pb.DESCRIPTOR)
HEALTH_SERVICE = the_service(health_pb.DESCRIPTOR)


class UserRpc:
    """The user service's methods."""

    RegisterUser = rpc(
        USER_SERVICE, "RegisterUser", user_pb.RegisterUserRequest, user_pb.RegisterUserResponse
    )
    Login = rpc(USER_SERVICE, "Login", user_pb.LoginRequest, user_pb.LoginResponse)
    RefreshToken = rpc(
        USER_SERVICE, "RefreshToken", user_pb.RefreshTokenRequest, user_pb.LoginResponse
    )
    Logout = rpc(USER_SERVICE, "Logout", user_pb.LogoutRequest, user_pb.LogoutResponse)
    GetUser = rpc(USER_SERVICE, "GetUser", user_pb.GetUserRequest, user_pb.GetUserResponse)
    UpdateProfile = rpc(
        USER_SERVICE, "UpdateProfile", user_pb.UpdateProfileRequest, user_pb.UpdateProfileResponse
    )
    GetUserGoal = rpc(
        USER_SERVICE, "GetUserGoal", user_pb.GetUserGoalRequest, user_pb.GetUserGoalResponse
    )
    ListGoals = rpc(USER_SERVICE, "ListGoals", user_pb.ListGoalsRequest, user_pb.ListGoalsResponse)
    PrepareGoalChange = rpc(
        USER_SERVICE,
        "PrepareGoalChange",
        user_pb.PrepareGoalChangeRequest,
        user_pb.GoalChangeResponse,
    )
    CommitGoalChange = rpc(
        USER_SERVICE, "CommitGoalChange", user_pb.GoalChangeStepRequest, user_pb.GoalChangeResponse
    )
    CancelGoalChange = rpc(
        USER_SERVICE, "CancelGoalChange", user_pb.GoalChangeStepRequest, user_pb.GoalChangeResponse
    )
    RecordWorkoutProgress = rpc(
        USER_SERVICE,
        "RecordWorkoutProgress",
        user_pb.RecordWorkoutProgressRequest,
        user_pb.RecordWorkoutProgressResponse,
    )
    ListNotifications = rpc(
        USER_SERVICE,
        "ListNotifications",
        user_pb.ListNotificationsRequest,
        user_pb.ListNotificationsResponse,
    )
    BeginUserDeletion = rpc(
        USER_SERVICE,
        "BeginUserDeletion",
        user_pb.UserDeletionStepRequest,
        user_pb.UserDeletionStepResponse,
    )
    CancelUserDeletion = rpc(
        USER_SERVICE,
        "CancelUserDeletion",
        user_pb.UserDeletionStepRequest,
        user_pb.UserDeletionStepResponse,
    )
    EraseUser = rpc(
        USER_SERVICE, "EraseUser", user_pb.UserDeletionStepRequest, user_pb.UserDeletionStepResponse
    )


class ActivityRpc:
    """The activity service's methods."""

    StartWorkoutSession = rpc(
        ACTIVITY_SERVICE,
        "StartWorkoutSession",
        activity_pb.StartWorkoutSessionRequest,
        activity_pb.StartWorkoutSessionResponse,
    )
    EndWorkoutSession = rpc(
        ACTIVITY_SERVICE,
        "EndWorkoutSession",
        activity_pb.EndWorkoutSessionRequest,
        activity_pb.EndWorkoutSessionResponse,
    )
    ListWorkoutSessions = rpc(
        ACTIVITY_SERVICE,
        "ListWorkoutSessions",
        activity_pb.ListWorkoutSessionsRequest,
        activity_pb.ListWorkoutSessionsResponse,
    )
    GetUserStatistics = rpc(
        ACTIVITY_SERVICE,
        "GetUserStatistics",
        activity_pb.GetUserStatisticsRequest,
        activity_pb.GetUserStatisticsResponse,
    )
    ListWorkoutTypes = rpc(
        ACTIVITY_SERVICE,
        "ListWorkoutTypes",
        activity_pb.ListWorkoutTypesRequest,
        activity_pb.ListWorkoutTypesResponse,
    )
    RecordGroupWorkout = rpc(
        ACTIVITY_SERVICE,
        "RecordGroupWorkout",
        activity_pb.RecordGroupWorkoutRequest,
        activity_pb.RecordGroupWorkoutResponse,
    )
    PutGoalPlan = rpc(
        ACTIVITY_SERVICE,
        "PutGoalPlan",
        activity_pb.PutGoalPlanRequest,
        activity_pb.PutGoalPlanResponse,
    )
    RestoreGoalPlan = rpc(
        ACTIVITY_SERVICE,
        "RestoreGoalPlan",
        activity_pb.RestoreGoalPlanRequest,
        activity_pb.RestoreGoalPlanResponse,
    )
    GetSuggestions = rpc(
        ACTIVITY_SERVICE,
        "GetSuggestions",
        activity_pb.GetSuggestionsRequest,
        activity_pb.GetSuggestionsResponse,
    )
    DeleteUserActivity = rpc(
        ACTIVITY_SERVICE,
        "DeleteUserActivity",
        activity_pb.DeleteUserActivityRequest,
        activity_pb.DeleteUserActivityResponse,
    )


class SagaRpc:
    """The saga coordinator's methods."""

    CreateGoal = rpc(SAGA_SERVICE, "CreateGoal", saga_pb.CreateGoalRequest, saga_pb.Saga)
    UpdateGoal = rpc(SAGA_SERVICE, "UpdateGoal", saga_pb.UpdateGoalRequest, saga_pb.Saga)
    DeleteGoal = rpc(SAGA_SERVICE, "DeleteGoal", saga_pb.DeleteGoalRequest, saga_pb.Saga)
    DeleteUser = rpc(SAGA_SERVICE, "DeleteUser", saga_pb.DeleteUserRequest, saga_pb.Saga)
    FenceSaga = rpc(SAGA_SERVICE, "FenceSaga", saga_pb.FenceSagaRequest, saga_pb.Saga)
    GetSaga = rpc(SAGA_SERVICE, "GetSaga", saga_pb.GetSagaRequest, saga_pb.Saga)
    ListSagas = rpc(SAGA_SERVICE, "ListSagas", saga_pb.ListSagasRequest, saga_pb.ListSagasResponse)


class WatchLogRpc:
    """The watch-log service's methods."""

    IngestLogs = rpc(
        WATCH_LOG_SERVICE, "IngestLogs", watch_pb.IngestLogsRequest, watch_pb.IngestLogsResponse
    )
    ListLogs = rpc(
        WATCH_LOG_SERVICE, "ListLogs", watch_pb.ListLogsRequest, watch_pb.ListLogsResponse
    )
    AggregateLogs = rpc(
        WATCH_LOG_SERVICE,
        "AggregateLogs",
        watch_pb.AggregateLogsRequest,
        watch_pb.AggregateLogsResponse,
    )
    GetDailySummaries = rpc(
        WATCH_LOG_SERVICE,
        "GetDailySummaries",
        watch_pb.GetDailySummariesRequest,
        watch_pb.GetDailySummariesResponse,
    )
    GetPipelineStatus = rpc(
        WATCH_LOG_SERVICE,
        "GetPipelineStatus",
        watch_pb.GetPipelineStatusRequest,
        watch_pb.GetPipelineStatusResponse,
    )


class MotionRpc:
    """The motion service's methods."""

    IngestSensorData = rpc(
        MOTION_SERVICE,
        "IngestSensorData",
        motion_pb.IngestSensorDataRequest,
        motion_pb.IngestSensorDataResponse,
    )
    ListDevices = rpc(
        MOTION_SERVICE, "ListDevices", motion_pb.ListDevicesRequest, motion_pb.ListDevicesResponse
    )
    GetCurrentActivity = rpc(
        MOTION_SERVICE,
        "GetCurrentActivity",
        motion_pb.GetCurrentActivityRequest,
        motion_pb.GetCurrentActivityResponse,
    )
    GetActivityTimeline = rpc(
        MOTION_SERVICE,
        "GetActivityTimeline",
        motion_pb.GetActivityTimelineRequest,
        motion_pb.GetActivityTimelineResponse,
    )
    GetActivityDistribution = rpc(
        MOTION_SERVICE,
        "GetActivityDistribution",
        motion_pb.GetActivityDistributionRequest,
        motion_pb.GetActivityDistributionResponse,
    )
    ListActivityRecords = rpc(
        MOTION_SERVICE,
        "ListActivityRecords",
        motion_pb.ListActivityRecordsRequest,
        motion_pb.ListActivityRecordsResponse,
    )


class HealthRpc:
    """The health-metrics service's methods."""

    WritePoints = rpc(
        HEALTH_SERVICE, "WritePoints", health_pb.WritePointsRequest, health_pb.WritePointsResponse
    )
    DeletePoints = rpc(
        HEALTH_SERVICE,
        "DeletePoints",
        health_pb.DeletePointsRequest,
        health_pb.DeletePointsResponse,
    )
    ReadSeries = rpc(
        HEALTH_SERVICE, "ReadSeries", health_pb.ReadSeriesRequest, health_pb.ReadSeriesResponse
    )
    WriteSleep = rpc(
        HEALTH_SERVICE, "WriteSleep", health_pb.WriteSleepRequest, health_pb.WriteSleepResponse
    )
    ReadSleep = rpc(
        HEALTH_SERVICE, "ReadSleep", health_pb.ReadSleepRequest, health_pb.ReadSleepResponse
    )
    GetDailySummary = rpc(
        HEALTH_SERVICE,
        "GetDailySummary",
        health_pb.GetDailySummaryRequest,
        health_pb.GetDailySummaryResponse,
    )
    LinkSimulatedDevice = rpc(
        HEALTH_SERVICE,
        "LinkSimulatedDevice",
        health_pb.LinkSimulatedDeviceRequest,
        health_pb.LinkSimulatedDeviceResponse,
    )
