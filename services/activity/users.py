"""Port to the user service, and its gRPC adapter (the service-to-service call)."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Protocol

import grpc
from fitness.user.v1 import user_service_pb2 as user_pb

from services.activity.domain import UnknownUser, UserServiceUnavailable
from services.common.cache import PROFILE, BlockingCache, NoCache, ReadCache, user_entity
from services.common.grpc_runtime import remaining_timeout
from services.common.tls import TlsFiles
from services.common.trust import USER
from services.common.upstream import PoolSettings, UpstreamError, UpstreamPool, UserRpc, connector
from services.common.upstream.rpcs import USER_SERVICE


class UserDirectory(Protocol):
    """Port: facts about users owned by the user service."""

    def weight_kg(self, user_id: str) -> float | None:
        """The user's body weight, or None if he has not entered one.

        Raises UnknownUser when the user service does not know him.
        """
        ...


class GrpcUserDirectory:
    """Asks the user service through the one upstream client: balancing, a breaker per
    instance, failover, and the caller's deadline; read through the shared cache.

    Built on the server's event loop (the pool's channels and the cache's client belong to
    it); ``weight_kg`` is called from the use cases' worker threads. The cached value is
    GetUser's user, the same entry the gateway's ``GET /users/{id}`` reads; the user
    service invalidates it when the profile changes or the account goes.
    """

    def __init__(
        self,
        addresses: Sequence[str],
        timeout: float,
        tls: TlsFiles,
        cache: ReadCache | None = None,
    ) -> None:
        settings = PoolSettings(call_timeout=timeout)
        self.pool = UpstreamPool(
            USER_SERVICE.full_name, addresses, settings, connect=connector(tls, USER)
        )
        loop = asyncio.get_running_loop()
        self._users = BlockingCache(cache or NoCache(), loop, invalidate_timeout=timeout)
        self._timeout = timeout

    def weight_kg(self, user_id: str) -> float | None:
        """Read the weight with GetUser; an unknown user is UnknownUser, not 70 kg."""
        budget = remaining_timeout(self._timeout)
        request = user_pb.GetUserRequest(user_id=user_id)

        async def load() -> user_pb.User:
            return (await self.pool.call(UserRpc.GetUser, request, budget)).user

        try:
            user = self._users.read(PROFILE, user_entity(user_id), load, budget)
        except UpstreamError as error:
            if error.code == grpc.StatusCode.NOT_FOUND:
                raise UnknownUser(f"user {user_id} not found") from error
            raise UserServiceUnavailable(f"user service: {error.code.name}") from error
        except TimeoutError as error:  # the event loop did not answer in time
            raise UserServiceUnavailable("user service: DEADLINE_EXCEEDED") from error
        profile = user.profile
        return profile.weight_kg if profile.HasField("weight_kg") else None

    async def close(self) -> None:
        """Close the pool's channels."""
        await self.pool.close()
