"""Thin translation between the fitness.activity.v1 gRPC API and the activity use cases."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

import grpc
from fitness.activity.v1 import activity_service_pb2 as pb
from fitness.activity.v1 import activity_service_pb2_grpc as pb_grpc

from services.activity import domain, service
from services.activity.domain import WorkoutSession
from services.activity.service import ActivityDeps, ParticipantTime
from services.activity.suggestions import GoalPlan, InfeasibleGoal, Suggestion
from services.common.db import DatabaseUnavailable
from services.common.goal_types import GoalType
from services.common.grpc_runtime import Context, Dispatcher, StatusTable, present_or_abort
from services.common.timeutil import format_time, parse_date, parse_time

STATUSES: StatusTable = {
    domain.InvalidInput: grpc.StatusCode.INVALID_ARGUMENT,
    domain.SessionNotFound: grpc.StatusCode.NOT_FOUND,
    domain.NotSessionOwner: grpc.StatusCode.PERMISSION_DENIED,
    domain.SessionAlreadyEnded: grpc.StatusCode.FAILED_PRECONDITION,
    domain.UserServiceUnavailable: grpc.StatusCode.UNAVAILABLE,
    DatabaseUnavailable: grpc.StatusCode.UNAVAILABLE,
    domain.UnknownUser: grpc.StatusCode.NOT_FOUND,
    InfeasibleGoal: grpc.StatusCode.FAILED_PRECONDITION,
}


class ActivityServicer(pb_grpc.ActivityServiceServicer):
    """Serves ActivityService by calling the use cases through the dispatcher."""

    def __init__(
        self,
        deps: ActivityDeps,
        dispatcher: Dispatcher,
        progress_queued: Callable[[], None] = lambda: None,
    ) -> None:
        self.deps = deps
        self.dispatcher = dispatcher
        # Told after a session ended, so the relay delivers its progress without waiting.
        self.progress_queued = progress_queued

    async def StartWorkoutSession(  # noqa: N802 - gRPC method names are PascalCase
        self, request: pb.StartWorkoutSessionRequest, context: Context
    ) -> pb.StartWorkoutSessionResponse:
        """Start a session."""
        session = await self.dispatcher.run(
            context,
            service.start_workout,
            self.deps,
            request.user_id,
            request.workout_type,
            request.request_id,
        )
        return pb.StartWorkoutSessionResponse(session=session_to_proto(session))

    async def EndWorkoutSession(  # noqa: N802
        self, request: pb.EndWorkoutSessionRequest, context: Context
    ) -> pb.EndWorkoutSessionResponse:
        """End a session."""
        end_time = await _time_or_abort(request.end_time, context)
        session = await self.dispatcher.run(
            context,
            service.end_workout,
            self.deps,
            request.session_id,
            request.user_id,
            end_time,
            request.request_id,
        )
        self.progress_queued()
        return pb.EndWorkoutSessionResponse(session=session_to_proto(session))

    async def ListWorkoutSessions(  # noqa: N802
        self, request: pb.ListWorkoutSessionsRequest, context: Context
    ) -> pb.ListWorkoutSessionsResponse:
        """List a page of sessions."""
        page = await self.dispatcher.read(
            context,
            service.list_workouts,
            self.deps,
            request.user_id,
            request.page_size,
            request.page_token,
        )
        return pb.ListWorkoutSessionsResponse(
            sessions=[session_to_proto(s) for s in page.sessions],
            next_page_token=page.next_page_token,
        )

    async def GetUserStatistics(  # noqa: N802
        self, request: pb.GetUserStatisticsRequest, context: Context
    ) -> pb.GetUserStatisticsResponse:
        """Return the user's totals."""
        stats = await self.dispatcher.read(
            context, service.get_statistics, self.deps, request.user_id
        )
        return pb.GetUserStatisticsResponse(
            total_workouts=stats.total_workouts,
            total_duration=stats.total_duration,
            total_calories_burned=stats.total_calories_burned,
            average_session_duration=stats.average_session_duration,
        )

    async def ListWorkoutTypes(  # noqa: N802
        self, request: pb.ListWorkoutTypesRequest, context: Context
    ) -> pb.ListWorkoutTypesResponse:
        """List the known workout types."""
        return pb.ListWorkoutTypesResponse(
            workout_types=[
                pb.WorkoutType(name=t.name, met=t.met, description=t.description)
                for t in service.list_workout_types()
            ]
        )

    async def RecordGroupWorkout(  # noqa: N802
        self, request: pb.RecordGroupWorkoutRequest, context: Context
    ) -> pb.RecordGroupWorkoutResponse:
        """Record a finished group session."""
        participants = [
            ParticipantTime(
                p.user_id,
                await _required_time_or_abort(p.start_time, context),
                await _required_time_or_abort(p.end_time, context),
            )
            for p in request.participants
        ]
        sessions = await self.dispatcher.run(
            context,
            service.record_group_workout,
            self.deps,
            request.group_session_id,
            request.workout_type,
            participants,
            request.request_id,
        )
        self.progress_queued()
        return pb.RecordGroupWorkoutResponse(sessions=[session_to_proto(s) for s in sessions])

    async def PutGoalPlan(  # noqa: N802
        self, request: pb.PutGoalPlanRequest, context: Context
    ) -> pb.PutGoalPlanResponse:
        """Store or retire a goal's plan."""
        plan = await _plan_or_abort(request, context)
        found = await self.dispatcher.run(context, service.put_goal_plan, self.deps, plan)
        if found is None:
            return pb.PutGoalPlanResponse()
        return pb.PutGoalPlanResponse(suggestion=suggestion_to_proto(found))

    async def RestoreGoalPlan(  # noqa: N802
        self, request: pb.RestoreGoalPlanRequest, context: Context
    ) -> pb.RestoreGoalPlanResponse:
        """Undo one PutGoalPlan call."""
        await self.dispatcher.run(
            context, service.restore_goal_plan, self.deps, request.goal_id, request.put_request_id
        )
        return pb.RestoreGoalPlanResponse()

    async def GetSuggestions(  # noqa: N802
        self, request: pb.GetSuggestionsRequest, context: Context
    ) -> pb.GetSuggestionsResponse:
        """Return the user's weekly plan."""
        found = await self.dispatcher.run(
            context, service.get_suggestions, self.deps, request.user_id
        )
        return pb.GetSuggestionsResponse(suggestions=[suggestion_to_proto(s) for s in found])

    async def DeleteUserActivity(  # noqa: N802
        self, request: pb.DeleteUserActivityRequest, context: Context
    ) -> pb.DeleteUserActivityResponse:
        """Delete a user's sessions, plans and statistics (account deletion saga step)."""
        deleted = await self.dispatcher.run(
            context,
            service.delete_user_activity,
            self.deps,
            request.user_id,
            request.request_id,
        )
        return pb.DeleteUserActivityResponse(deleted_sessions=deleted)


async def _plan_or_abort(request: pb.PutGoalPlanRequest, context: Context) -> GoalPlan:
    try:
        target_date = parse_date(request.target_date)
    except ValueError:
        await context.abort(grpc.StatusCode.INVALID_ARGUMENT, "target_date must be YYYY-MM-DD")
        raise
    return GoalPlan(
        goal_id=request.goal_id,
        user_id=request.user_id,
        goal_type=await _goal_type_or_abort(request.goal_type, context),
        target_value=request.target_value,
        target_date=target_date,
        start_time=await _required_time_or_abort(request.start_time, context),
        active=request.active,
        request_id=request.request_id,
    )


def suggestion_to_proto(found: Suggestion) -> pb.Suggestion:
    """Render one goal's weekly suggestion."""
    return pb.Suggestion(
        goal_id=found.plan.goal_id,
        goal_type=found.plan.goal_type.to_proto(),
        target_value=found.plan.target_value,
        target_date=found.plan.target_date.isoformat(),
        progress=round(found.progress, 1),
        remaining=round(found.remaining, 1),
        weeks_left=found.weeks_left,
        sessions_per_week=found.sessions_per_week,
        minutes_per_session=found.minutes_per_session,
        weekly_target=found.weekly_target,
    )


async def _goal_type_or_abort(value: int, context: Context) -> GoalType:
    return await present_or_abort(context, GoalType.from_proto(value), "goal_type must be set")


async def _required_time_or_abort(text: str, context: Context) -> datetime:
    moment = await _time_or_abort(text, context)
    return await present_or_abort(context, moment, "participant times are required")


async def _time_or_abort(text: str, context: Context) -> datetime | None:
    if not text:
        return None
    try:
        return parse_time(text)
    except ValueError as error:
        await context.abort(grpc.StatusCode.INVALID_ARGUMENT, f"end_time: {error}")
        raise


def session_to_proto(session: WorkoutSession) -> pb.WorkoutSession:
    """Render a session."""
    return pb.WorkoutSession(
        session_id=session.session_id,
        user_id=session.user_id,
        workout_type=session.workout_type,
        start_time=format_time(session.start_time),
        end_time=format_time(session.end_time),
        duration=session.duration,
        calories_burned=session.calories_burned,
    )
