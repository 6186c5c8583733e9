"""The creation limit fails open when Redis is down, and says how long to wait past it."""

from __future__ import annotations

from typing import Any, cast

import pytest
from redis.exceptions import ConnectionError as RedisConnectionError

from gateway.edge.creation_limit import CreationLimit, CreationSettings
from gateway.edge.errors import ApiError


class ScriptRedis:
    """A Redis whose one registered script answers ``answer`` (or raises it)."""

    def __init__(self, answer: object) -> None:
        self.answer = answer

    def register_script(self, source: str) -> Any:
        async def run(keys: list[str], args: list[object]) -> object:
            if isinstance(self.answer, Exception):
                raise self.answer
            return self.answer

        return run


def limit(answer: object) -> CreationLimit:
    """A limit over a Redis that answers as told."""
    return CreationLimit(cast(Any, ScriptRedis(answer)), CreationSettings(3, 60.0))


async def test_with_redis_down_a_creation_is_allowed() -> None:
    await limit(RedisConnectionError("gone")).check("ann")


async def test_a_full_window_is_a_429_naming_the_seconds_left() -> None:
    with pytest.raises(ApiError) as refused:
        await limit(12_300).check("ann")

    assert refused.value.http_status == 429
    assert refused.value.headers["Retry-After"] == "13"


async def test_room_in_the_window_lets_the_creation_through() -> None:
    await limit(0).check("ann")
