"""Idempotency-Key: retries return the first response; misuse is refused clearly."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from tests.helpers import assert_error, flush, register_and_login
from tests.integration.platform import Platform

GOAL = {"goal_type": "workouts_count", "target_value": 12, "target_date": "2099-06-30"}


@pytest.fixture
def redis_server(either_redis: str) -> str:
    """Every test here runs on one Redis and on the Redis Cluster."""
    return either_redis


async def create_goal(
    platform: Platform,
    user_id: str,
    headers: dict[str, str],
    key: str,
    body: dict[str, object] | None = None,
) -> httpx.Response:
    """POST a goal with an Idempotency-Key."""
    return await platform.client.post(
        f"/users/{user_id}/goals", headers={**headers, "Idempotency-Key": key}, json=body or GOAL
    )


async def goal_count(platform: Platform, user_id: str, headers: dict[str, str]) -> int:
    listed = await platform.client.get(f"/users/{user_id}/goals", headers=headers)
    return len(listed.json()["goals"])


async def test_a_retry_gets_the_first_response_byte_for_byte(platform: Platform) -> None:
    user_id, headers = await register_and_login(platform.client, "ida")
    first = await create_goal(platform, user_id, headers, "key-1")
    again = await create_goal(platform, user_id, headers, "key-1")
    assert (first.status_code, again.status_code) == (201, 201)
    assert again.content == first.content
    assert again.headers["idempotent-replayed"] == "true"
    assert await goal_count(platform, user_id, headers) == 1


async def test_the_same_key_with_a_different_body_is_422(platform: Platform) -> None:
    user_id, headers = await register_and_login(platform.client, "ivo")
    await create_goal(platform, user_id, headers, "key-1")
    other = await create_goal(platform, user_id, headers, "key-1", {**GOAL, "target_value": 99})
    assert_error(other, 422)
    assert await goal_count(platform, user_id, headers) == 1


async def test_a_concurrent_duplicate_is_409_aborted_with_retry_after(platform: Platform) -> None:
    user_id, headers = await register_and_login(platform.client, "iza")
    responses = await asyncio.gather(
        *(create_goal(platform, user_id, headers, "same-time") for _ in range(2))
    )
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [201, 409]
    conflict = next(r for r in responses if r.status_code == 409)
    assert conflict.headers["retry-after"] == "1"
    assert conflict.json()["error"]["status"] == "ABORTED"
    assert await goal_count(platform, user_id, headers) == 1


async def test_the_key_reaches_the_services_so_a_lost_answer_creates_nothing_twice(
    platform: Platform, redis_server: str
) -> None:
    user_id, headers = await register_and_login(platform.client, "ines")
    first = await create_goal(platform, user_id, headers, "crash-key")
    # The gateway died before it could keep the answer: nothing is remembered.
    flush(redis_server)
    retried = await create_goal(platform, user_id, headers, "crash-key")
    assert retried.status_code == 201
    assert "idempotent-replayed" not in retried.headers
    assert retried.json()["goal_id"] == first.json()["goal_id"]
    assert await goal_count(platform, user_id, headers) == 1


async def test_keys_belong_to_their_user(platform: Platform) -> None:
    ann_id, ann = await register_and_login(platform.client, "iann")
    bob_id, bob = await register_and_login(platform.client, "ibob")
    mine = await create_goal(platform, ann_id, ann, "shared-key")
    theirs = await create_goal(platform, bob_id, bob, "shared-key")
    assert theirs.status_code == 201
    assert theirs.json()["goal_id"] != mine.json()["goal_id"]


async def test_workout_start_and_end_are_idempotent_too(platform: Platform) -> None:
    _, headers = await register_and_login(platform.client, "iwo")
    start = {**headers, "Idempotency-Key": "start-1"}
    first = await platform.client.post(
        "/workouts/start", headers=start, json={"workout_type": "yoga"}
    )
    again = await platform.client.post(
        "/workouts/start", headers=start, json={"workout_type": "yoga"}
    )
    assert again.content == first.content
    end = {**headers, "Idempotency-Key": "end-1"}
    url = f"/workouts/{first.json()['session_id']}/end"
    ended = await platform.client.post(url, headers=end)
    assert (await platform.client.post(url, headers=end)).content == ended.content


def _raw(headers: dict[str, str]) -> list[tuple[bytes, bytes]]:
    return [(name.encode(), value.encode()) for name, value in headers.items()]


@pytest.mark.parametrize("key", [b"has space", b"x" * 256, "ünïcode".encode("latin-1")])
async def test_malformed_keys_are_400(platform: Platform, key: bytes) -> None:
    user_id, headers = await register_and_login(platform.client, "ikey")
    response = await platform.client.post(
        f"/users/{user_id}/goals", headers=[*_raw(headers), (b"Idempotency-Key", key)], json=GOAL
    )
    assert_error(response, 400)


async def test_without_a_key_every_request_counts(platform: Platform) -> None:
    user_id, headers = await register_and_login(platform.client, "inone")
    for _ in range(2):
        await platform.client.post(f"/users/{user_id}/goals", headers=headers, json=GOAL)
    assert await goal_count(platform, user_id, headers) == 2


async def test_a_key_without_a_valid_token_is_still_401(platform: Platform) -> None:
    response = await platform.client.post(
        "/workouts/start", headers={"Idempotency-Key": "k"}, json={"workout_type": "yoga"}
    )
    assert_error(response, 401)
