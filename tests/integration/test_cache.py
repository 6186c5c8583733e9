"""The shared cache on a real Redis behind the in-process platform: reads after writes are
fresh, keys expire, and a dead cache answers from the source of truth."""

from __future__ import annotations

import os
import signal
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fitness.activity.v1 import activity_service_pb2 as activity_pb
from redis.asyncio import Redis

from deploy import embedded_redis, redis_cluster
from deploy.local import free_port
from services.common.cache import (
    ALL_WORKOUT_TYPES,
    PROFILE,
    STATISTICS,
    TOMBSTONE,
    WORKOUT_TYPES,
    Kind,
    user_entity,
)
from services.common.timeutil import format_time
from services.common.upstream import ActivityRpc
from tests.helpers import KeyFiles, ServiceCerts, register_and_login
from tests.integration.platform import Platform, sqlite_platform

RUNNING_MET = 9.8


@pytest.fixture
async def redis(redis_server: str) -> AsyncIterator[Redis]:
    """A client of the platform's Redis, to look at the keys."""
    client = Redis.from_url(redis_server, decode_responses=True)
    yield client
    await client.aclose()


def reads(platform: Platform, kind: str, outcome: str) -> float:
    """The gateway's count of cache reads of ``kind`` that ended with ``outcome``."""
    labels = {"kind": kind, "outcome": outcome}
    return platform.app.state.metrics.registry.get_sample_value("cache_reads_total", labels) or 0


async def an_hour_of_running(platform: Platform, user_id: str) -> float:
    """Record a one-hour group run for the user and return its calories (MET x kg x 1 h)."""
    start = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)
    participant = activity_pb.GroupParticipant(
        user_id=user_id,
        start_time=format_time(start),
        end_time=format_time(start + timedelta(hours=1)),
    )
    request = activity_pb.RecordGroupWorkoutRequest(
        request_id=uuid.uuid4().hex,
        group_session_id=uuid.uuid4().hex,
        workout_type="running",
        participants=[participant],
    )
    reply = await platform.upstreams.activity.call(ActivityRpc.RecordGroupWorkout, request)
    return reply.sessions[0].calories_burned


async def test_a_profile_update_is_visible_on_the_next_get(
    platform: Platform, redis: Redis
) -> None:
    user_id, headers = await register_and_login(platform.client, "cachepatch", weight_kg=60)
    path = f"/users/{user_id}"
    for _ in range(2):
        assert (await platform.client.get(path, headers=headers)).json()["weight_kg"] == 60
    assert (reads(platform, "profile", "miss"), reads(platform, "profile", "hit")) == (1, 1)
    patched = await platform.client.patch(path, headers=headers, json={"weight_kg": 75})
    assert patched.status_code == 200
    assert await redis.get(PROFILE.key(user_entity(user_id))) == TOMBSTONE
    assert (await platform.client.get(path, headers=headers)).json()["weight_kg"] == 75


async def test_cached_keys_carry_ttls(platform: Platform, redis: Redis) -> None:
    user_id, headers = await register_and_login(platform.client, "cachettl")
    for path in (f"/users/{user_id}", f"/users/{user_id}/statistics", "/workout-types"):
        assert (await platform.client.get(path, headers=headers)).status_code == 200
    entity = user_entity(user_id)
    keys: list[tuple[Kind[Any], str]] = [
        (PROFILE, PROFILE.key(entity)),
        (STATISTICS, STATISTICS.key(entity)),
        (WORKOUT_TYPES, WORKOUT_TYPES.key(ALL_WORKOUT_TYPES)),
    ]
    for kind, key in keys:
        assert 0 < await redis.pttl(key) <= kind.ttl * 1.1 * 1000, key


async def test_an_ended_workout_shows_in_the_next_statistics(
    platform: Platform, redis: Redis
) -> None:
    user_id, headers = await register_and_login(platform.client, "cachestats")
    path = f"/users/{user_id}/statistics"
    assert (await platform.client.get(path, headers=headers)).json()["total_workouts"] == 0
    start = await platform.client.post(
        "/workouts/start", headers=headers, json={"workout_type": "running"}
    )
    session = start.json()["session_id"]
    ended = await platform.client.post(f"/workouts/{session}/end", headers=headers, json={})
    assert ended.status_code == 200
    assert (await platform.client.get(path, headers=headers)).json()["total_workouts"] == 1
    key = STATISTICS.key(user_entity(user_id))
    await redis.delete(key)  # as if the end's tombstone had expired: the next read fills
    assert (await platform.client.get(path, headers=headers)).json()["total_workouts"] == 1
    assert await redis.get(key) not in (None, TOMBSTONE)
    await an_hour_of_running(platform, user_id)  # the group path invalidates too
    assert (await platform.client.get(path, headers=headers)).json()["total_workouts"] == 2


async def test_a_retried_end_of_a_workout_invalidates_the_statistics_again(
    platform: Platform, redis: Redis
) -> None:
    user_id, headers = await register_and_login(platform.client, "cacheretry")
    path, key = f"/users/{user_id}/statistics", STATISTICS.key(user_entity(user_id))
    activity = platform.upstreams.activity
    start = activity_pb.StartWorkoutSessionRequest(
        request_id=uuid.uuid4().hex, user_id=user_id, workout_type="running"
    )
    session = (await activity.call(ActivityRpc.StartWorkoutSession, start)).session
    assert (await platform.client.get(path, headers=headers)).json()["total_workouts"] == 0
    stale = await redis.get(key)
    assert stale not in (None, TOMBSTONE)
    end = activity_pb.EndWorkoutSessionRequest(
        request_id=uuid.uuid4().hex, session_id=session.session_id, user_id=user_id
    )
    await activity.call(ActivityRpc.EndWorkoutSession, end)
    # As if the first attempt's invalidation had been lost: the old answer is back.
    await redis.set(key, stale, px=60_000)
    await activity.call(ActivityRpc.EndWorkoutSession, end)  # the client's retry
    assert await redis.get(key) == TOMBSTONE
    assert (await platform.client.get(path, headers=headers)).json()["total_workouts"] == 1


async def test_the_activity_service_weighs_with_the_profile_just_written(
    platform: Platform, redis: Redis
) -> None:
    user_id, headers = await register_and_login(platform.client, "cacheweight", weight_kg=60)
    assert await an_hour_of_running(platform, user_id) == pytest.approx(RUNNING_MET * 60)
    assert await redis.get(PROFILE.key(user_entity(user_id))) not in (None, TOMBSTONE)
    patched = await platform.client.patch(
        f"/users/{user_id}", headers=headers, json={"weight_kg": 90}
    )
    assert patched.status_code == 200
    assert await an_hour_of_running(platform, user_id) == pytest.approx(RUNNING_MET * 90)


async def test_a_deleted_account_is_not_served_from_the_cache(
    platform: Platform, redis: Redis
) -> None:
    user_id, headers = await register_and_login(platform.client, "cachegone")
    path, statistics = f"/users/{user_id}", f"/users/{user_id}/statistics"
    await an_hour_of_running(platform, user_id)
    key = STATISTICS.key(user_entity(user_id))
    await redis.delete(key)  # as if the workout's tombstone had expired: the next read fills
    assert (await platform.client.get(path, headers=headers)).status_code == 200
    assert (await platform.client.get(statistics, headers=headers)).json()["total_workouts"] == 1
    assert await redis.get(key) not in (None, TOMBSTONE)
    deleted = await platform.client.delete(path, headers=headers)
    assert deleted.status_code == 204, deleted.text
    assert (await platform.client.get(path, headers=headers)).status_code == 404
    assert (await platform.client.get(statistics, headers=headers)).json()["total_workouts"] == 0


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[embedded_redis.EmbeddedRedis]:
    """A Redis only this test uses, so it can stop it."""
    server = embedded_redis.start(tmp_path / "redis", free_port())
    yield server
    server.stop()


def break_redis(server: embedded_redis.EmbeddedRedis, how: str) -> None:
    """Kill the server (connections refused), or stop it (replies never come)."""
    if how == "killed":
        server.kill()
    else:
        os.kill(server.process.pid, signal.SIGSTOP)


@pytest.mark.parametrize("how", ["killed", "hung"])
async def test_with_the_cache_down_every_cached_read_answers_from_the_source(
    tmp_path: Path,
    jwt_keys: KeyFiles,
    service_certs: ServiceCerts,
    own_redis: embedded_redis.EmbeddedRedis,
    how: str,
) -> None:
    async with sqlite_platform(tmp_path, jwt_keys, own_redis.url, certs=service_certs) as platform:
        user_id, headers = await register_and_login(platform.client, "cachedown", weight_kg=60)
        paths = [f"/users/{user_id}", f"/users/{user_id}/statistics", "/workout-types"]
        before = [(await platform.client.get(p, headers=headers)).json() for p in paths]
        break_redis(own_redis, how)
        try:
            after = [(await platform.client.get(p, headers=headers)).json() for p in paths]
            assert after == before
            assert reads(platform, "profile", "error") + reads(platform, "profile", "bypass") == 1
            patch = {"weight_kg": 80}
            patched = await platform.client.patch(paths[0], headers=headers, json=patch)
            assert patched.status_code == 200  # the lost invalidation is no error
            assert (await platform.client.get(paths[0], headers=headers)).json()["weight_kg"] == 80
            assert await an_hour_of_running(platform, user_id) == pytest.approx(RUNNING_MET * 80)
            stats = await platform.client.get(paths[1], headers=headers)
            assert stats.json()["total_workouts"] == 1
        finally:
            if how == "hung":
                os.kill(own_redis.process.pid, signal.SIGCONT)  # the shutdown uses Redis


async def test_on_a_redis_cluster_reads_hit_writes_invalidate_and_keys_expire(
    tmp_path: Path,
    jwt_keys: KeyFiles,
    service_certs: ServiceCerts,
    redis_cluster_server: redis_cluster.RedisCluster,
) -> None:
    url = redis_cluster_server.url
    async with sqlite_platform(tmp_path, jwt_keys, url, certs=service_certs) as platform:
        commands = platform.app.state.redis.commands  # a RedisCluster client
        user_id, headers = await register_and_login(platform.client, "cachecluster", weight_kg=60)
        path, key = f"/users/{user_id}", PROFILE.key(user_entity(user_id))
        for _ in range(2):
            assert (await platform.client.get(path, headers=headers)).json()["weight_kg"] == 60
        assert (reads(platform, "profile", "miss"), reads(platform, "profile", "hit")) == (1, 1)
        assert 0 < await commands.pttl(key) <= PROFILE.ttl * 1.1 * 1000
        patched = await platform.client.patch(path, headers=headers, json={"weight_kg": 75})
        assert patched.status_code == 200
        assert await commands.get(key) == TOMBSTONE
        assert (await platform.client.get(path, headers=headers)).json()["weight_kg"] == 75
        assert await an_hour_of_running(platform, user_id) == pytest.approx(RUNNING_MET * 75)
