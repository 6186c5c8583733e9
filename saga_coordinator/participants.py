"""The sagas' participants over gRPC: the user and activity services."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fitness.activity.v1 import activity_service_pb2 as activity_pb
from fitness.goal.v1 import goal_pb2
from fitness.user.v1 import user_service_pb2 as user_pb

from saga_coordinator.domain import BusinessFailure, TransientFailure
from saga_coordinator.engine import StepCall
from services.common.goal_types import GoalType
from services.common.upstream import ActivityRpc, UpstreamError, UpstreamPool, UserRpc
from services.common.upstream.rpcs import Req, Resp, Rpc

OPERATIONS = {
    "create": user_pb.GOAL_OPERATION_CREATE,
    "update": user_pb.GOAL_OPERATION_UPDATE,
    "delete": user_pb.GOAL_OPERATION_DELETE,
}


async def classified(pool: UpstreamPool, rpc: Rpc[Req, Resp], request: Req) -> Resp:
    """Call a participant (with the pool's deadline); map its error to a step failure.

    Worth another try later is what the client's one failure table calls transient
    (services.common.upstream.retry); every other status is the participant saying no.
    """
    try:
        return await pool.call(rpc, request)
    except UpstreamError as error:
        failure = TransientFailure if error.transient else BusinessFailure
        raise failure(error.code.name, error.message) from error


class GrpcGoalParticipants:
    """GoalParticipants and AccountParticipants on the user and activity services' gRPC APIs.

    Every call has a deadline: the pools' call_timeout (the step timeout).
    """

    def __init__(self, users: UpstreamPool, activity: UpstreamPool) -> None:
        self.users = users
        self.activity = activity

    async def prepare_goal_change(self, call: StepCall) -> Mapping[str, Any]:
        """Create the pending goal or claim the goal; return what the plan step needs."""
        data = call.data
        request = user_pb.PrepareGoalChangeRequest(
            request_id=call.request_id,
            saga_id=call.saga_id,
            user_id=data["user_id"],
            goal_id=data["goal_id"],
            operation=OPERATIONS[data["operation"]],
            goal_type=_goal_type(data),
            target_value=data.get("target_value", 0.0),
            target_date=data.get("target_date", ""),
        )
        reply = await classified(self.users, UserRpc.PrepareGoalChange, request)
        if not reply.HasField("goal"):
            raise BusinessFailure("NOT_FOUND", f"goal {data['goal_id']} not found")
        return _goal_facts(reply.goal, data["operation"])

    async def cancel_goal_change(self, call: StepCall) -> None:
        """Forget the prepared change."""
        request = self._step_request(call)
        await classified(self.users, UserRpc.CancelGoalChange, request)

    async def commit_goal_change(self, call: StepCall) -> None:
        """Apply the prepared change."""
        request = self._step_request(call)
        await classified(self.users, UserRpc.CommitGoalChange, request)

    def _step_request(self, call: StepCall) -> user_pb.GoalChangeStepRequest:
        return user_pb.GoalChangeStepRequest(
            request_id=call.request_id,
            saga_id=call.saga_id,
            user_id=call.data["user_id"],
            goal_id=call.data["goal_id"],
        )

    async def put_goal_plan(self, call: StepCall) -> None:
        """Store (or retire, for a deletion) the goal's plan."""
        data = call.data
        request = activity_pb.PutGoalPlanRequest(
            request_id=call.request_id,
            user_id=data["user_id"],
            goal_id=data["goal_id"],
            goal_type=_goal_type(data),
            target_value=data["target_value"],
            target_date=data["target_date"],
            start_time=data["start_time"],
            active=data["operation"] != "delete",
        )
        await classified(self.activity, ActivityRpc.PutGoalPlan, request)

    async def restore_goal_plan(self, call: StepCall) -> None:
        """Undo the plan step's put."""
        request = activity_pb.RestoreGoalPlanRequest(
            request_id=call.request_id,
            goal_id=call.data["goal_id"],
            put_request_id=call.action_request_id,
        )
        await classified(self.activity, ActivityRpc.RestoreGoalPlan, request)

    async def begin_user_deletion(self, call: StepCall) -> None:
        """Mark the user as being deleted."""
        await classified(self.users, UserRpc.BeginUserDeletion, self._deletion_step(call))

    async def cancel_user_deletion(self, call: StepCall) -> None:
        """Clear the deletion mark."""
        await classified(self.users, UserRpc.CancelUserDeletion, self._deletion_step(call))

    async def erase_user(self, call: StepCall) -> None:
        """Erase the account and its data."""
        await classified(self.users, UserRpc.EraseUser, self._deletion_step(call))

    def _deletion_step(self, call: StepCall) -> user_pb.UserDeletionStepRequest:
        return user_pb.UserDeletionStepRequest(
            request_id=call.request_id, saga_id=call.saga_id, user_id=call.data["user_id"]
        )

    async def delete_user_activity(self, call: StepCall) -> None:
        """Delete the user's sessions, plans and statistics."""
        request = activity_pb.DeleteUserActivityRequest(
            request_id=call.request_id, user_id=call.data["user_id"]
        )
        await classified(self.activity, ActivityRpc.DeleteUserActivity, request)


def _goal_type(data: Mapping[str, Any]) -> goal_pb2.GoalType:
    """The saga data's goal type (its REST name) as the proto enum; unspecified when absent."""
    name = data.get("goal_type")
    return GoalType(name).to_proto() if name else goal_pb2.GOAL_TYPE_UNSPECIFIED


def _goal_facts(goal: user_pb.Goal, operation: str) -> dict[str, Any]:
    """What the plan step needs from the stored goal; an update keeps its new target."""
    stored = GoalType.from_proto(goal.goal_type)
    facts: dict[str, Any] = {
        "goal_type": stored.value if stored else "",
        "start_time": goal.create_time,
    }
    if operation == "delete":
        facts.update(target_value=goal.target_value, target_date=goal.target_date)
    return facts
