"""REST route of notifications: the user's list, as the user service keeps it."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from fitness.user.v1 import user_service_pb2 as pb

from gateway.edge.auth import require_self
from gateway.edge.dependencies import AUTH_ERRORS, Caller, Pools
from gateway.routes.fields import PathId
from gateway.routes.schemas import NotificationList, NotificationResponse
from services.common.upstream import UserRpc

router = APIRouter(tags=["notifications"])


def notification_response(note: pb.Notification) -> NotificationResponse:
    """Render a notification."""
    return NotificationResponse(
        notification_id=note.notification_id,
        kind=note.kind,
        goal_id=note.goal_id or None,
        message=note.message,
        created_at=note.create_time,
    )


@router.get(
    "/users/{user_id}/notifications", response_model=NotificationList, responses=AUTH_ERRORS
)
async def list_notifications(
    user_id: PathId,
    caller: Caller,
    pools: Pools,
    page_size: Annotated[int, Query(ge=1, le=200)] = 50,
) -> NotificationList:
    """Your notifications (e.g. goal achieved), newest first."""
    require_self(user_id, caller)
    request = pb.ListNotificationsRequest(user_id=user_id, page_size=page_size)
    reply = await pools.users.call(UserRpc.ListNotifications, request)
    return NotificationList(notifications=[notification_response(n) for n in reply.notifications])
