"""Failure is a feature: instances die and return while clients keep calling the gateway."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from prometheus_client import generate_latest

from deploy.local import free_port
from services.common.grpc_runtime import GrpcServer
from tests.helpers import (
    KeyFiles,
    ServiceCerts,
    register_admin,
    register_and_login,
    start_user_server,
)
from tests.integration.platform import Platform, running_platform

RESET_TIMEOUT = 10.0
FAIL_MAX = 3


@pytest.fixture
async def two_user_instances(
    tmp_path: Path, jwt_keys: KeyFiles, service_certs: ServiceCerts, redis_server: str
) -> AsyncIterator[Platform]:
    """Two user-service instances on fixed ports, so a stopped one can come back."""
    async with running_platform(
        f"sqlite:///{tmp_path / 'user.db'}",
        f"sqlite:///{tmp_path / 'activity.db'}",
        f"sqlite:///{tmp_path / 'saga.db'}",
        jwt_keys,
        redis_server,
        user_ports=[free_port(), free_port()],
        certs=service_certs,
        breaker_fail_max=FAIL_MAX,
        breaker_reset_timeout=RESET_TIMEOUT,
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
