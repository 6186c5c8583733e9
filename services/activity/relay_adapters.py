"""The relay's adapters: RecordWorkoutProgress over gRPC, alerts over Redis pub/sub."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from fitness.user.v1 import user_service_pb2 as user_pb

from services.activity.domain import ProgressEvent
from services.activity.relay import DeliveryFailed, DeliveryRefused
from services.common.notifications import channel, encode
from services.common.redis import REDIS_FAILURES, RedisClient, publish
from services.common.timeutil import format_time
from services.common.upstream import UpstreamError, UpstreamPool, UserRpc


class GrpcProgressSink:
    """Sends progress events to the user service through the one upstream client."""

    def __init__(self, users: UpstreamPool) -> None:
        self._users = users

    async def record(self, event: ProgressEvent) -> Sequence[user_pb.Notification]:
        """RecordWorkoutProgress with the event's request_id, within the pool's deadline."""
        request = user_pb.RecordWorkoutProgressRequest(
            request_id=event.event_id,
            user_id=event.user_id,
            end_time=format_time(event.end_time),
            duration=event.duration,
            calories_burned=event.calories_burned,
        )
        try:
            reply = await self._users.call(UserRpc.RecordWorkoutProgress, request)
        except UpstreamError as error:
            reason = f"user service: {error.code.name}: {error.message}"
            # Settled only when no repeat can land (the table's never_succeeds: the user
            # is gone, the event malformed); the call is idempotent, so all else retries.
            if error.rule.never_succeeds:
                raise DeliveryRefused(reason) from error
            raise DeliveryFailed(reason) from error
        return list(reply.notifications)


class RedisAlertPublisher:
    """Publishes alerts where every gateway's notification hub listens."""

    def __init__(self, redis: RedisClient, timeout: float) -> None:
        self._redis = redis
        self._timeout = timeout

    async def publish(self, note: user_pb.Notification) -> None:
        """Publish the alert on ``notifications:<user_id>`` (sharded on a cluster), in time."""
        try:
            async with asyncio.timeout(self._timeout):
                await publish(self._redis, channel(note.user_id), encode(note))
        except REDIS_FAILURES as error:  # TimeoutError is an OSError
            raise DeliveryFailed(f"redis: {error!r}") from error
