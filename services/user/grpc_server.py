"""Thin translation between the fitness.user.v1 gRPC API and the user use cases."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

import grpc
from fitness.user.v1 import user_service_pb2 as pb
from fitness.user.v1 import user_service_pb2_grpc as pb_grpc

from services.common.db import DatabaseUnavailable
from services.common.grpc_runtime import Context, Dispatcher, StatusTable, present_or_abort
from services.common.timeutil import parse_date, parse_time
from services.user import account_deletion, domain, goal_changes, service
from services.user.domain import Goal, GoalOperation, GoalType
from services.user.goal_changes import GoalChange
from services.user.proto_mapping import (
    OPERATION_PREFIX,
    change_to_proto,
    goal_to_proto,
    notification_to_proto,
    profile_changes_from_proto,
    profile_from_proto,
    session_to_proto,
    user_to_proto,
)
from services.user.service import UserDeps

STATUSES: StatusTable = {
    domain.InvalidInput: grpc.StatusCode.INVALID_ARGUMENT,
    domain.EmailAlreadyRegistered: grpc.StatusCode.ALREADY_EXISTS,
    domain.UsernameTaken: grpc.StatusCode.ALREADY_EXISTS,
    domain.InvalidCredentials: grpc.StatusCode.UNAUTHENTICATED,
    domain.InvalidRefreshToken: grpc.StatusCode.UNAUTHENTICATED,
    domain.UserNotFound: grpc.StatusCode.NOT_FOUND,
    domain.GoalNotFound: grpc.StatusCode.NOT_FOUND,
    domain.Overloaded: grpc.StatusCode.RESOURCE_EXHAUSTED,
    domain.GoalBusy: grpc.StatusCode.ABORTED,
    # A failover in progress: retried (with the same request_id), never guessed at.
    DatabaseUnavailable: grpc.StatusCode.UNAVAILABLE,
}


class UserServicer(pb_grpc.UserServiceServicer):
    """Serves UserService by calling the use cases through the dispatcher."""

    def __init__(self, deps: UserDeps, dispatcher: Dispatcher) -> None:
        self.deps = deps
        self.dispatcher = dispatcher

    async def RegisterUser(  # noqa: N802 - gRPC method names are PascalCase
        self, request: pb.RegisterUserRequest, context: Context
    ) -> pb.RegisterUserResponse:
        """Create an account."""
        profile = profile_from_proto(request.profile)
        user = await self.dispatcher.run(
            context,
            service.register_user,
            self.deps,
            request.username,
            request.email,
            request.password,
            profile,
            request.request_id,
        )
        return pb.RegisterUserResponse(user=user_to_proto(user))

    async def Login(  # noqa: N802
        self, request: pb.LoginRequest, context: Context
    ) -> pb.LoginResponse:
        """Issue an access and a refresh token for valid credentials."""
        session = await self.dispatcher.run(
            context, service.login, self.deps, request.email, request.password
        )
        return session_to_proto(session)

    async def RefreshToken(  # noqa: N802
        self, request: pb.RefreshTokenRequest, context: Context
    ) -> pb.LoginResponse:
        """Rotate a refresh token."""
        session = await self.dispatcher.run(
            context, service.refresh_session, self.deps, request.refresh_token
        )
        return session_to_proto(session)

    async def Logout(  # noqa: N802
        self, request: pb.LogoutRequest, context: Context
    ) -> pb.LogoutResponse:
        """Revoke the refresh token's family."""
        await self.dispatcher.run(context, service.logout, self.deps, request.refresh_token)
        return pb.LogoutResponse()

    async def GetUser(  # noqa: N802
        self, request: pb.GetUserRequest, context: Context
    ) -> pb.GetUserResponse:
        """Return one user."""
        user = await self.dispatcher.read(context, service.get_user, self.deps, request.user_id)
        return pb.GetUserResponse(user=user_to_proto(user))

    async def UpdateProfile(  # noqa: N802
        self, request: pb.UpdateProfileRequest, context: Context
    ) -> pb.UpdateProfileResponse:
        """Change the profile fields present in the request."""
        changes = profile_changes_from_proto(request)
        user = await self.dispatcher.run(
            context, service.update_profile, self.deps, request.user_id, changes
        )
        return pb.UpdateProfileResponse(user=user_to_proto(user))

    async def GetUserGoal(  # noqa: N802
        self, request: pb.GetUserGoalRequest, context: Context
    ) -> pb.GetUserGoalResponse:
        """Return one goal."""
        goal = await self.dispatcher.read(
            context, service.get_goal, self.deps, request.user_id, request.goal_id
        )
        return pb.GetUserGoalResponse(goal=goal_to_proto(goal))

    async def ListGoals(  # noqa: N802
        self, request: pb.ListGoalsRequest, context: Context
    ) -> pb.ListGoalsResponse:
        """List a user's goals."""
        found = await self.dispatcher.read(context, service.list_goals, self.deps, request.user_id)
        return pb.ListGoalsResponse(goals=[goal_to_proto(goal) for goal in found])

    async def PrepareGoalChange(  # noqa: N802
        self, request: pb.PrepareGoalChangeRequest, context: Context
    ) -> pb.GoalChangeResponse:
        """Create a pending goal or claim an existing one for a saga."""
        change = await _goal_change_or_abort(request, context)
        goal = await self.dispatcher.run(
            context, goal_changes.prepare_goal_change, self.deps, change, request.request_id
        )
        return change_to_proto(goal)

    async def CommitGoalChange(  # noqa: N802
        self, request: pb.GoalChangeStepRequest, context: Context
    ) -> pb.GoalChangeResponse:
        """Apply the change a saga prepared."""
        return await self._finish(goal_changes.commit_goal_change, request, context)

    async def CancelGoalChange(  # noqa: N802
        self, request: pb.GoalChangeStepRequest, context: Context
    ) -> pb.GoalChangeResponse:
        """Forget the change a saga prepared."""
        return await self._finish(goal_changes.cancel_goal_change, request, context)

    async def _finish(
        self,
        use_case: Callable[..., Goal | None],
        request: pb.GoalChangeStepRequest,
        context: Context,
    ) -> pb.GoalChangeResponse:
        await _require_step_ids(request, context)
        goal = await self.dispatcher.run(
            context,
            use_case,
            self.deps,
            request.saga_id,
            request.user_id,
            request.goal_id,
            request.request_id,
        )
        return change_to_proto(goal)

    async def RecordWorkoutProgress(  # noqa: N802
        self, request: pb.RecordWorkoutProgressRequest, context: Context
    ) -> pb.RecordWorkoutProgressResponse:
        """Advance the user's goals by one ended workout."""
        workout = await _workout_or_abort(request, context)
        progress = await self.dispatcher.run(
            context,
            goal_changes.record_workout_progress,
            self.deps,
            request.user_id,
            workout,
            request.request_id,
        )
        return pb.RecordWorkoutProgressResponse(
            achieved_goals=[goal_to_proto(goal) for goal in progress.achieved],
            notifications=[notification_to_proto(note) for note in progress.notifications],
        )

    async def ListNotifications(  # noqa: N802
        self, request: pb.ListNotificationsRequest, context: Context
    ) -> pb.ListNotificationsResponse:
        """List a user's notifications."""
        found = await self.dispatcher.read(
            context, goal_changes.list_notifications, self.deps, request.user_id, request.page_size
        )
        return pb.ListNotificationsResponse(notifications=[notification_to_proto(n) for n in found])

    async def BeginUserDeletion(  # noqa: N802
        self, request: pb.UserDeletionStepRequest, context: Context
    ) -> pb.UserDeletionStepResponse:
        """Mark a user as being deleted (account deletion saga step)."""
        return await self._deletion_step(account_deletion.begin_user_deletion, request, context)

    async def CancelUserDeletion(  # noqa: N802
        self, request: pb.UserDeletionStepRequest, context: Context
    ) -> pb.UserDeletionStepResponse:
        """Clear the deletion mark (the saga's compensation)."""
        return await self._deletion_step(account_deletion.cancel_user_deletion, request, context)

    async def EraseUser(  # noqa: N802
        self, request: pb.UserDeletionStepRequest, context: Context
    ) -> pb.UserDeletionStepResponse:
        """Erase the account and its data (account deletion saga step)."""
        return await self._deletion_step(account_deletion.erase_user, request, context)

    async def _deletion_step(
        self,
        use_case: Callable[..., None],
        request: pb.UserDeletionStepRequest,
        context: Context,
    ) -> pb.UserDeletionStepResponse:
        await self.dispatcher.run(
            context, use_case, self.deps, request.saga_id, request.user_id, request.request_id
        )
        return pb.UserDeletionStepResponse()


async def _goal_change_or_abort(
    request: pb.PrepareGoalChangeRequest, context: Context
) -> GoalChange:
    await _require_step_ids(request, context)
    name = (
        pb.GoalOperation.Name(request.operation)
        if request.operation in pb.GoalOperation.values()
        else ""
    )
    if request.operation == pb.GOAL_OPERATION_UNSPECIFIED or not name:
        await context.abort(grpc.StatusCode.INVALID_ARGUMENT, "operation must be set")
    operation = GoalOperation(name.removeprefix(OPERATION_PREFIX).lower())
    creating = operation is GoalOperation.CREATE
    changing_target = operation is not GoalOperation.DELETE
    return GoalChange(
        saga_id=request.saga_id,
        user_id=request.user_id,
        goal_id=request.goal_id,
        operation=operation,
        goal_type=await _goal_type_or_abort(request.goal_type, context) if creating else None,
        target_value=request.target_value,
        target_date=await _date_or_abort(request.target_date, context) if changing_target else None,
    )


async def _require_step_ids(
    request: pb.PrepareGoalChangeRequest | pb.GoalChangeStepRequest, context: Context
) -> None:
    missing = [
        f for f in ("request_id", "saga_id", "user_id", "goal_id") if not getattr(request, f)
    ]
    if missing:
        await context.abort(grpc.StatusCode.INVALID_ARGUMENT, f"required: {', '.join(missing)}")


async def _workout_or_abort(
    request: pb.RecordWorkoutProgressRequest, context: Context
) -> domain.WorkoutDone:
    try:
        end_time = parse_time(request.end_time)
    except ValueError:
        await context.abort(grpc.StatusCode.INVALID_ARGUMENT, "end_time must be RFC 3339")
        raise
    if not (request.duration >= 0 and request.calories_burned >= 0):
        await context.abort(grpc.StatusCode.INVALID_ARGUMENT, "duration and calories must be >= 0")
    return domain.WorkoutDone(end_time, request.duration, request.calories_burned)


async def _goal_type_or_abort(value: int, context: Context) -> GoalType:
    return await present_or_abort(context, GoalType.from_proto(value), "goal_type must be set")


async def _date_or_abort(text: str, context: Context) -> date:
    try:
        return parse_date(text)
    except ValueError:
        await context.abort(grpc.StatusCode.INVALID_ARGUMENT, "target_date must be YYYY-MM-DD")
        raise
