"""One user can create only so much per window; other users are unaffected."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.helpers import KeyFiles, ServiceCerts, register_and_login
from tests.integration.platform import Platform, sqlite_platform

LIMIT = 3


@pytest.fixture
def redis_server(either_redis: str) -> str:
    """Every test here runs on one Redis and on the Redis Cluster."""
    return either_redis


@pytest.fixture
async def limited(
    tmp_path: Path, jwt_keys: KeyFiles, service_certs: ServiceCerts, redis_server: str
) -> AsyncIterator[Platform]:
    """A platform whose users may create three things a minute."""
    async with sqlite_platform(
        tmp_path,
        jwt_keys,
        redis_server,
        certs=service_certs,
        create_max_per_window=LIMIT,
    ) as running:
        yield running


async def test_past_the_limit_creations_get_429_with_retry_after_and_others_still_create(
    limited: Platform,
) -> None:
    _, ann = await register_and_login(limited.client, "ann")
    _, bob = await register_and_login(limited.client, "bob")
    workout = {"workout_type": "yoga"}
    session = {"title": "HIIT", "workout_type": "hiit"}
    made = [
        (await limited.client.post("/workouts/start", headers=ann, json=workout)).status_code,
        (await limited.client.post("/group-sessions", headers=ann, json=session)).status_code,
        (await limited.client.post("/workouts/start", headers=ann, json=workout)).status_code,
    ]

    refused = await limited.client.post("/group-sessions", headers=ann, json=session)
    other = await limited.client.post("/workouts/start", headers=bob, json=workout)

    assert made == [201, 201, 201]
    assert refused.status_code == 429, refused.text
    assert refused.json()["error"]["status"] == "RESOURCE_EXHAUSTED"
    assert 0 < int(refused.headers["Retry-After"]) <= 60
    assert other.status_code == 201, other.text


async def test_every_attempt_counts_even_one_refused_as_invalid(limited: Platform) -> None:
    _, ann = await register_and_login(limited.client, "cyd")
    bad = [
        (await limited.client.post("/workouts/start", headers=ann, json={"workout_type": 1}))
        for _ in range(LIMIT)
    ]
    good = await limited.client.post("/workouts/start", headers=ann, json={"workout_type": "yoga"})

    assert [answer.status_code for answer in bad] == [422] * LIMIT
    assert good.status_code == 429, good.text
