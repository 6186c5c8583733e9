"""An instance that alone says its database is down is passed over; all saying so, none is."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import Any, cast

import grpc
from fitness.user.v1 import user_service_pb2 as user_pb

from services.common.dependency import DEPENDENCY_TRAILER
from services.common.upstream import PoolSettings, UpstreamPool, UserRpc
from services.common.upstream.errors import UpstreamError
from services.common.upstream.rpcs import USER_SERVICE
from tests.helpers import FakeClock

SETTINGS = PoolSettings(call_timeout=2.0, fail_max=3, reset_timeout=10.0)


class FakeChannel:
    """A channel whose every call answers at once: a user, or 'my database is down'."""

    def __init__(self, database_down: Callable[[], bool]) -> None:
        self.database_down = database_down
        self.calls = 0

    def unary_unary(self, _path: str, **_codecs: Any) -> Callable[..., Any]:
        async def call(request: user_pb.GetUserRequest, **_options: Any) -> user_pb.User:
            self.calls += 1
            if self.database_down():
                trailer = grpc.aio.Metadata(DEPENDENCY_TRAILER)
                code = grpc.StatusCode.UNAVAILABLE
                raise grpc.aio.AioRpcError(code, grpc.aio.Metadata(), trailer, "db down")
            return user_pb.User(user_id=request.user_id)

        return call

    async def close(self) -> None:
        pass


def pool_of(channels: dict[str, FakeChannel], clock: FakeClock) -> UpstreamPool:
    connect = cast(Callable[[str], grpc.aio.Channel], channels.__getitem__)
    return UpstreamPool(USER_SERVICE.full_name, list(channels), SETTINGS, clock, connect=connect)


async def read(pool: UpstreamPool, times: int) -> None:
    for n in range(times):
        await pool.call(UserRpc.GetUser, user_pb.GetUserRequest(user_id=f"u{n}"))


async def test_an_instance_alone_with_a_dead_database_is_passed_over_then_tried_again() -> None:
    clock = FakeClock()
    partitioned, fine = FakeChannel(lambda: True), FakeChannel(lambda: False)
    pool = pool_of({"a:1": partitioned, "b:1": fine}, clock)
    await read(pool, 20)  # every call lands: those sent to a:1 fail over to b:1
    assert partitioned.calls == SETTINGS.fail_max  # then it was passed over
    assert [i.breaker.state for i in pool.instances] == ["closed", "closed"]
    clock.advance(SETTINGS.reset_timeout)
    await read(pool, 4)
    assert partitioned.calls == SETTINGS.fail_max + 1  # one more try after the timeout


async def test_during_a_database_failover_no_instance_is_passed_over() -> None:
    clock, database_down = FakeClock(), [True]
    channels = {"a:1": FakeChannel(lambda: database_down[0])}
    channels["b:1"] = FakeChannel(lambda: database_down[0])
    pool = pool_of(channels, clock)
    for _ in range(2 * SETTINGS.fail_max):
        with contextlib.suppress(UpstreamError):  # UNAVAILABLE while the database fails over
            await read(pool, 1)
    database_down[0] = False
    before = {address: channel.calls for address, channel in channels.items()}
    await read(pool, 4)  # the new primary is up: every call lands, on both instances
    assert all(channels[address].calls > calls for address, calls in before.items())
    assert [i.breaker.state for i in pool.instances] == ["closed", "closed"]
