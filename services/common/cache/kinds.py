"""What the services cache, defined once: readers and writers agree on keys and shapes here.

Values are the protobuf messages the source RPC answers, as JSON (``json_format``), never
pickled: a reader can only ever build a message of the expected type.
"""

from __future__ import annotations

from typing import TypeVar

from fitness.activity.v1 import activity_service_pb2 as activity_pb
from fitness.user.v1 import user_service_pb2 as user_pb
from google.protobuf import json_format
from google.protobuf.message import Message

from services.common.cache.core import Kind

M = TypeVar("M", bound=Message)


def message_kind(name: str, version: int, ttl: float, message: type[M]) -> Kind[M]:
    """A kind whose values are ``message``s, encoded as JSON objects."""

    def decode(data: object) -> M:
        if not isinstance(data, dict):
            raise TypeError(f"a {name} entry must be a JSON object")
        # Unknown fields are a newer writer's additions (a rolling upgrade): ignored.
        return json_format.ParseDict(data, message(), ignore_unknown_fields=True)

    def encode(value: M) -> object:
        return json_format.MessageToDict(value, preserving_proto_field_name=True)

    return Kind(name, version, ttl, encode, decode)


# GetUser's user: the gateway's GET /users/{id} and the activity service's weight lookup.
# Written by the user service (profile changes, deletion).
PROFILE = message_kind("profile", 1, 60.0, user_pb.User)
# GetUserStatistics' answer, read by the gateway; written by the activity service.
STATISTICS = message_kind("statistics", 1, 60.0, activity_pb.GetUserStatisticsResponse)
# ListWorkoutTypes' answer: fixed in the activity service's code, so only a deploy changes
# it; the TTL bounds how long a new type takes to appear.
WORKOUT_TYPES = message_kind("workout-types", 1, 300.0, activity_pb.ListWorkoutTypesResponse)
ALL_WORKOUT_TYPES = "workout-types"


def user_entity(user_id: str) -> str:
    """The entity (hash tag) of everything cached about one user."""
    return f"user:{user_id}"
