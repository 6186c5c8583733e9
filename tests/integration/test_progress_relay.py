"""Goal progress leaves the activity service through its outbox: durable across outages
of the user service and across a relay that dies in the middle of a delivery."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fitness.activity.v1 import activity_service_pb2 as apb
from fitness.activity.v1 import activity_service_pb2_grpc as agrpc
from redis.asyncio import Redis
from redis.asyncio.client import PubSub

from deploy.local import free_port
from services.activity.__main__ import MIGRATIONS as ACTIVITY_MIGRATIONS
from services.activity.domain import ProgressEvent, WorkoutSession
from services.activity.outbox_sql import SqlProgressOutbox
from services.activity.relay import ProgressRelay, RelayPolicy
from services.activity.relay_adapters import GrpcProgressSink, RedisAlertPublisher
from services.activity.sql_repository import SqlWorkoutRepository
from services.activity.users import GrpcUserDirectory
from services.common.db import make_engine, migrate
from services.common.notifications import channel
from services.common.timeutil import format_time, utc_now
from services.common.trust import ACTIVITY, GATEWAY
from tests.helpers import (
    KeyFiles,
    ServiceCerts,
    address,
    channel_as,
    register_and_login,
    start_user_server,
)
from tests.integration.platform import Platform, sqlite_platform

SOON = (datetime.now(UTC).date() + timedelta(days=13)).isoformat()
WAIT = 30.0  # an upper bound for what should take well under a second, never asserted


@pytest.fixture
async def fixed_ports(
    tmp_path: Path, jwt_keys: KeyFiles, service_certs: ServiceCerts, redis_server: str
) -> AsyncIterator[Platform]:
    """The platform with two user-service instances on fixed ports, so they can return."""
    async with sqlite_platform(
        tmp_path,
        jwt_keys,
        redis_server,
        user_ports=[free_port(), free_port()],
        certs=service_certs,
    ) as running:
        yield running


@pytest.fixture
async def alerts(redis_server: str) -> AsyncIterator[Redis]:
    """A Redis client to watch the notification channels with."""
    client = Redis.from_url(redis_server)
    yield client
    await client.aclose()


async def one_goal(platform: Platform, headers: dict[str, str], user_id: str) -> str:
    """A goal of one workout, which the next ended workout reaches."""
    body = {"goal_type": "workouts_count", "target_value": 1, "target_date": SOON}
    created = await platform.client.post(f"/users/{user_id}/goals", headers=headers, json=body)
    assert created.status_code == 201, created.text
    return str(created.json()["goal_id"])


async def watch(redis: Redis, user_id: str) -> PubSub:
    """Subscribe to the user's notification channel, confirmed by Redis."""
    subscription = redis.pubsub()
    await subscription.subscribe(channel(user_id))
    confirmed = await subscription.get_message(timeout=WAIT)
    assert confirmed is not None
    assert confirmed["type"] == "subscribe"
    return subscription


async def next_message(subscription: PubSub) -> dict[str, Any]:
    """The next message published on the channel."""
    async with asyncio.timeout(WAIT):
        while True:
            message = await subscription.get_message(ignore_subscribe_messages=True, timeout=1)
            if message is not None:
                return dict(json.loads(message["data"]))


async def only_alert(redis: Redis, subscription: PubSub, user_id: str) -> dict[str, Any]:
    """The one alert published so far: a marker published now must come right after it."""
    alert = await next_message(subscription)
    await redis.publish(channel(user_id), json.dumps({"type": "marker"}))
    assert await next_message(subscription) == {"type": "marker"}
    return alert


async def until_delivered(outbox: SqlProgressOutbox) -> None:
    """Wait until the outbox has nothing left to deliver."""
    async with asyncio.timeout(WAIT):
        while await asyncio.to_thread(outbox.pending_progress):  # noqa: ASYNC110 - a poll
            await asyncio.sleep(0.05)


async def until_attempted(outbox: SqlProgressOutbox) -> ProgressEvent:
    """Wait until the relay has tried (and failed) to deliver the one pending event."""
    async with asyncio.timeout(WAIT):
        while True:
            pending = await asyncio.to_thread(outbox.pending_progress)
            if pending and pending[0].attempts > 0:
                return pending[0]
            await asyncio.sleep(0.05)


async def test_a_workout_ended_while_every_user_service_is_down_counts_and_alerts_once_it_returns(
    fixed_ports: Platform, alerts: Redis, jwt_keys: KeyFiles, tmp_path: Path
) -> None:
    platform = fixed_ports
    user_id, headers = await register_and_login(platform.client, "una")
    goal_id = await one_goal(platform, headers, user_id)
    started = await platform.client.post(
        "/workouts/start", headers=headers, json={"workout_type": "yoga"}
    )
    session_id = started.json()["session_id"]
    subscription = await watch(alerts, user_id)
    ports = [server.port for server in platform.user_servers]
    for server in platform.user_servers:
        await server.stop(grace=0)

    ended = await platform.client.post(f"/workouts/{session_id}/end", headers=headers, json={})

    assert ended.status_code == 200, ended.text
    outbox = SqlProgressOutbox(make_engine(f"sqlite:///{tmp_path / 'activity.db'}"))
    waiting = await until_attempted(outbox)
    assert waiting.event_id == f"progress:{session_id}"
    platform.user_servers[0] = await start_user_server(
        platform.user_database_url, jwt_keys, ports[0], certs=platform.certs
    )
    alert = await only_alert(alerts, subscription, user_id)
    await until_delivered(outbox)
    assert (alert["type"], alert["goal_id"]) == ("goal_achieved", goal_id)
    goal = (await platform.client.get(f"/users/{user_id}/goals/{goal_id}", headers=headers)).json()
    assert (goal["status"], goal["current_progress"]) == ("achieved", 1)
    listed = await platform.client.get(f"/users/{user_id}/notifications", headers=headers)
    assert listed.status_code == 200, listed.text
    assert listed.json()["notifications"] == [{k: v for k, v in alert.items() if k != "type"}]
    await subscription.aclose()  # type: ignore[no-untyped-call]


class Frozen:
    """A publisher that never returns: the relay's process stops right after the RPC."""

    def __init__(self) -> None:
        self.reached = asyncio.Event()

    async def publish(self, note: object) -> None:
        self.reached.set()
        await asyncio.Event().wait()


async def test_a_relay_killed_mid_delivery_is_finished_by_the_next_one_exactly_once(
    platform: Platform, alerts: Redis, service_certs: ServiceCerts, sqlite_url: str
) -> None:
    user_id, headers = await register_and_login(platform.client, "vera")
    goal_id = await one_goal(platform, headers, user_id)
    engine = make_engine(sqlite_url)
    migrate(engine, ACTIVITY_MIGRATIONS)
    workouts, outbox = SqlWorkoutRepository(engine), SqlProgressOutbox(engine)
    start = utc_now()  # after the goal was set: goals count workouts ended after them
    workouts.add_session(WorkoutSession("s-1", user_id, "yoga", start), "start-1")
    workouts.complete_session("s-1", start + timedelta(minutes=20), 1200, 50, "end-1")
    subscription = await watch(alerts, user_id)
    users = GrpcUserDirectory(
        [address(s) for s in platform.user_servers], 2.0, service_certs.of(ACTIVITY)
    )
    sink, policy, now = GrpcProgressSink(users.pool), RelayPolicy(), utc_now()
    frozen = Frozen()
    first = ProgressRelay(outbox, sink, frozen, "activity-1", policy, clock=lambda: now)

    dying = asyncio.create_task(first.deliver_due())
    await asyncio.wait_for(frozen.reached.wait(), WAIT)
    dying.cancel()  # killed after the user service counted it, before it was published

    counted = await platform.client.get(f"/users/{user_id}/goals/{goal_id}", headers=headers)
    assert counted.json()["current_progress"] == 1
    later = now + policy.lease + timedelta(seconds=1)
    published = RedisAlertPublisher(alerts, 1.0)
    second = ProgressRelay(outbox, sink, published, "activity-2", policy, clock=lambda: later)
    assert await second.deliver_due() == 1
    alert = await only_alert(alerts, subscription, user_id)
    assert (alert["type"], alert["goal_id"]) == ("goal_achieved", goal_id)
    assert outbox.pending_progress() == []
    goal = (await platform.client.get(f"/users/{user_id}/goals/{goal_id}", headers=headers)).json()
    assert (goal["status"], goal["current_progress"]) == ("achieved", 1)
    listed = (await platform.client.get(f"/users/{user_id}/notifications", headers=headers)).json()
    assert [n["notification_id"] for n in listed["notifications"]] == [alert["notification_id"]]
    await subscription.aclose()  # type: ignore[no-untyped-call]
    await users.close()
    engine.dispose()


async def test_a_live_group_workout_advances_every_participants_goals(
    platform: Platform, alerts: Redis, service_certs: ServiceCerts
) -> None:
    people = [await register_and_login(platform.client, name) for name in ("wes", "xia")]
    goals = [await one_goal(platform, headers, user_id) for user_id, headers in people]
    subscriptions = [await watch(alerts, user_id) for user_id, _ in people]
    start = utc_now()  # after the goals were set
    times = {
        "start_time": format_time(start),
        "end_time": format_time(start + timedelta(seconds=1)),
    }
    request = apb.RecordGroupWorkoutRequest(
        request_id="group-1:record",
        group_session_id="group-1",
        workout_type="hiit",
        participants=[apb.GroupParticipant(user_id=user_id, **times) for user_id, _ in people],
    )
    target = address(platform.activity_servers[0])
    async with channel_as(service_certs, GATEWAY, ACTIVITY, target) as channel:
        stub = agrpc.ActivityServiceStub(channel)  # type: ignore[no-untyped-call]
        recorded = await stub.RecordGroupWorkout(request)
    assert len(recorded.sessions) == 2
    for (user_id, headers), goal_id, subscription in zip(people, goals, subscriptions, strict=True):
        alert = await only_alert(alerts, subscription, user_id)
        assert (alert["type"], alert["goal_id"]) == ("goal_achieved", goal_id)
        url = f"/users/{user_id}/goals/{goal_id}"
        goal = (await platform.client.get(url, headers=headers)).json()
        assert (goal["status"], goal["current_progress"]) == ("achieved", 1)
        await subscription.aclose()  # type: ignore[no-untyped-call]
