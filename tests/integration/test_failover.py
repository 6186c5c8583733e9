"""Failure is a feature: instances die and return while clients keep calling the gateway.

Every caller uses the one upstream client (services.common.upstream): the gateway, the saga
coordinator's participants and the activity service's user lookups all skip an instance
whose breaker opened.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from fitness.saga.v1 import saga_service_pb2 as saga_pb
from prometheus_client import generate_latest

from deploy.local import free_port
from services.common.cache import PROFILE, user_entity
from services.common.grpc_runtime import GrpcServer
from services.common.trust import GATEWAY, SAGA
from services.common.upstream import PoolSettings, SagaRpc, UpstreamPool, connector
from services.common.upstream.pool import Instance
from services.common.upstream.rpcs import SAGA_SERVICE
from tests.helpers import (
    KeyFiles,
    ServiceCerts,
    address,
    register_admin,
    register_and_login,
    start_saga_coordinator,
    start_user_server,
)
from tests.integration.platform import Platform, sqlite_platform

RESET_TIMEOUT = 10.0
FAIL_MAX = 3


@pytest.fixture
async def two_user_instances(
    tmp_path: Path, jwt_keys: KeyFiles, service_certs: ServiceCerts, redis_server: str
) -> AsyncIterator[Platform]:
    """Two user-service instances on fixed ports, so a stopped one can come back."""
    async with sqlite_platform(
        tmp_path,
        jwt_keys,
        redis_server,
        user_ports=[free_port(), free_port()],
        certs=service_certs,
        breaker_fail_max=FAIL_MAX,
        breaker_reset_timeout=RESET_TIMEOUT,
        # The reads here must reach the instances, not the gateway's shared cache.
        cache_enabled=False,
    ) as running:
        yield running


def breaker_states(platform: Platform) -> list[str]:
    """Breaker state of each user-service instance."""
    return [i.breaker.state for i in platform.upstreams.users.instances]


async def restart(platform: Platform, index: int, tmp_path: Path, keys: KeyFiles) -> GrpcServer:
    """Start a user-service instance again on the port it had."""
    port = platform.user_servers[index].port
    database = f"sqlite:///{tmp_path / 'user.db'}"
    server = await start_user_server(database, keys, port, certs=platform.certs)
    platform.user_servers[index] = server
    return server


async def wait_until_healthy(platform: Platform, index: int) -> None:
    """Run health checks until the channel has reconnected to the returned instance."""
    pool = platform.upstreams.users
    for _ in range(100):
        await pool.check_health()
        if pool.instances[index].healthy:
            return
        await asyncio.sleep(0.05)
    raise AssertionError("instance did not come back")


async def test_killing_one_instance_loses_no_reads(two_user_instances: Platform) -> None:
    platform = two_user_instances
    user_id, headers = await register_and_login(platform.client, "reader")
    reads = [platform.client.get(f"/users/{user_id}", headers=headers) for _ in range(10)]
    before = await asyncio.gather(*reads)
    await platform.user_servers[0].stop(grace=0)
    after = await asyncio.gather(
        *[platform.client.get(f"/users/{user_id}", headers=headers) for _ in range(30)]
    )
    assert [r.status_code for r in before + after] == [200] * 40
    assert breaker_states(platform) == ["open", "closed"]


async def test_writes_fail_over_too_because_the_request_id_makes_retries_safe(
    two_user_instances: Platform,
) -> None:
    platform = two_user_instances
    user_id, headers = await register_and_login(platform.client, "writer")
    await platform.user_servers[0].stop(grace=0)
    body = {"goal_type": "workouts_count", "target_value": 3, "target_date": "2099-01-01"}
    created = [
        await platform.client.post(f"/users/{user_id}/goals", headers=headers, json=body)
        for _ in range(6)
    ]
    assert [r.status_code for r in created] == [201] * 6
    goals = (await platform.client.get(f"/users/{user_id}/goals", headers=headers)).json()["goals"]
    assert len(goals) == 6


async def test_with_every_instance_down_the_gateway_answers_503_then_recovers(
    two_user_instances: Platform, tmp_path: Path, jwt_keys: KeyFiles
) -> None:
    platform = two_user_instances
    user_id, headers = await register_and_login(platform.client, "patient")
    _, admin = await register_admin(platform.client, f"sqlite:///{tmp_path / 'user.db'}", "ops")
    for server in platform.user_servers:
        await server.stop(grace=0)

    failures = [
        await platform.client.get(f"/users/{user_id}", headers=headers) for _ in range(FAIL_MAX)
    ]
    assert {r.status_code for r in failures} == {503}
    assert all(int(r.headers["retry-after"]) >= 1 for r in failures)
    assert failures[0].json()["error"]["status"] == "UNAVAILABLE"
    assert breaker_states(platform) == ["open", "open"]

    refused = await platform.client.get(f"/users/{user_id}", headers=headers)
    assert refused.status_code == 503
    assert refused.headers["retry-after"] == str(int(RESET_TIMEOUT))
    health = (await platform.client.get("/health", headers=admin)).json()
    assert health["status"] == "degraded"
    not_ready = await platform.client.get("/health/ready")
    assert not_ready.status_code == 503
    assert not_ready.json()["error"]["status"] == "UNAVAILABLE"

    await restart(platform, 0, tmp_path, jwt_keys)
    await wait_until_healthy(platform, 0)
    still_open = await platform.client.get(f"/users/{user_id}", headers=headers)
    assert still_open.status_code == 503  # the breaker waits out its timeout

    platform.clock.advance(RESET_TIMEOUT)
    recovered = await platform.client.get(f"/users/{user_id}", headers=headers)
    assert recovered.status_code == 200
    assert breaker_states(platform)[0] == "closed"
    assert (await platform.client.get("/health", headers=admin)).json()["upstreams"][
        "fitness.user.v1.UserService"
    ][0]["breaker"] == "closed"
    assert (await platform.client.get("/health/ready")).json() == {"status": "ok"}


async def test_breaker_states_are_exported_as_metrics(two_user_instances: Platform) -> None:
    platform = two_user_instances
    user_id, headers = await register_and_login(platform.client, "metered")
    await platform.user_servers[0].stop(grace=0)
    for _ in range(8):
        await platform.client.get(f"/users/{user_id}", headers=headers)
    text = generate_latest(platform.app.state.metrics.registry).decode()
    dead = platform.upstreams.users.instances[0].address
    assert (
        "gateway_upstream_breaker_state"
        f'{{instance="{dead}",service="fitness.user.v1.UserService"}} 2.0' in text
    )
    assert 'gateway_http_requests_total{method="GET",route="/users/{user_id}",status="200"}' in text


def calls_to(instance: Instance) -> int:
    """How many calls an instance was sent, whatever their outcome."""
    return sum(instance.calls.values())


async def test_the_activity_service_stops_asking_a_user_instance_whose_breaker_opened(
    two_user_instances: Platform,
) -> None:
    platform = two_user_instances
    user_id, headers = await register_and_login(platform.client, "lifter")
    await platform.user_servers[0].stop(grace=0)
    lookups = platform.activity_servers[0].users.pool
    dead = lookups.instances[0]

    async def start_workout() -> int:
        # The lookup must reach the user service, not the profile in the shared cache.
        await platform.app.state.redis.commands.delete(PROFILE.key(user_entity(user_id)))
        body = {"workout_type": "yoga"}
        response = await platform.client.post("/workouts/start", headers=headers, json=body)
        return response.status_code

    # Each start looks the user's weight up; a lookup sent to the dead instance fails over.
    opening = [await start_workout() for _ in range(2 * lookups.settings.fail_max)]
    assert opening == [201] * len(opening)
    assert [i.breaker.state for i in lookups.instances] == ["open", "closed"]

    asked = calls_to(dead)
    later = [await start_workout() for _ in range(6)]
    assert later == [201] * 6
    assert calls_to(dead) == asked  # skipped, not tried and failed over
    assert dead.calls.get("OK", 0) == 0
    assert user_id


async def test_the_saga_coordinator_stops_asking_a_user_instance_whose_breaker_opened(
    two_user_instances: Platform, tmp_path: Path
) -> None:
    platform = two_user_instances
    users = [(await register_and_login(platform.client, f"leaver{n}"))[0] for n in range(8)]
    # A coordinator of its own whose breakers stay open for the whole test.
    sagas = await start_saga_coordinator(
        f"sqlite:///{tmp_path / 'own-saga.db'}",
        [address(server) for server in platform.user_servers],
        [address(server) for server in platform.activity_servers],
        certs=platform.certs,
        breaker_reset_timeout=600.0,
    )
    gateway = UpstreamPool(
        SAGA_SERVICE.full_name,
        [sagas.server.bound_address],
        PoolSettings(call_timeout=10.0),
        connect=connector(platform.certs.of(GATEWAY), SAGA),
    )
    try:
        await platform.user_servers[0].stop(grace=0)
        participants = sagas.pools[0]
        dead = participants.instances[0]

        async def delete(user_id: str) -> int:
            request = saga_pb.DeleteUserRequest(request_id=f"leave-{user_id}", user_id=user_id)
            return (await gateway.call(SagaRpc.DeleteUser, request)).status

        # Two user-service steps per deletion; a step sent to the dead instance fails over.
        opening = [await delete(user_id) for user_id in users[:6]]
        assert opening == [saga_pb.SAGA_STATUS_COMPLETED] * 6
        assert [i.breaker.state for i in participants.instances] == ["open", "closed"]

        asked = calls_to(dead)
        later = [await delete(user_id) for user_id in users[6:]]
        assert later == [saga_pb.SAGA_STATUS_COMPLETED] * 2
        assert calls_to(dead) == asked
    finally:
        await gateway.close()
        await sagas.stop(grace=0)
