"""Port to the user service, and its gRPC adapter (the service-to-service call)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import grpc
from fitness.user.v1 import user_service_pb2 as user_pb
from fitness.user.v1 import user_service_pb2_grpc as user_grpc

from services.activity.domain import UnknownUser, UserServiceUnavailable
from services.common.grpc_runtime import balanced_channel, outbound_metadata, remaining_timeout
from services.common.tls import TlsFiles
from services.common.trust import USER

USER_SERVICE = user_pb.DESCRIPTOR.services_by_name["UserService"].full_name


class UserDirectory(Protocol):
    """Port: facts about users owned by the user service."""

    def weight_kg(self, user_id: str) -> float | None:
        """The user's body weight, or None if he has not entered one.

        Raises UnknownUser when the user service does not know him.
        """
        ...


class GrpcUserDirectory:
    """Asks the user service, balancing over its instances and honouring the caller's deadline."""

    def __init__(self, addresses: Sequence[str], timeout: float, tls: TlsFiles) -> None:
        self._channel = balanced_channel(addresses, [USER_SERVICE], tls, USER)
        self._stub = user_grpc.UserServiceStub(self._channel)
        self._timeout = timeout

    def weight_kg(self, user_id: str) -> float | None:
        """Read the weight with GetUser; an unknown user is UnknownUser, not 70 kg."""
        request = user_pb.GetUserRequest(user_id=user_id)
        try:
            reply = self._stub.GetUser(
                request, timeout=remaining_timeout(self._timeout), metadata=outbound_metadata()
            )
        except grpc.RpcError as error:
            if error.code() == grpc.StatusCode.NOT_FOUND:
                raise UnknownUser(f"user {user_id} not found") from error
            raise UserServiceUnavailable(f"user service: {error.code().name}") from error
        profile = reply.user.profile
        return profile.weight_kg if profile.HasField("weight_kg") else None

    def close(self) -> None:
        """Close the channel."""
        self._channel.close()
