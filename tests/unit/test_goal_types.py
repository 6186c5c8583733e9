"""The Python goal types are the proto enum fitness.goal.v1.GoalType, spelled in lower case."""

from __future__ import annotations

import pytest
from fitness.activity.v1 import activity_service_pb2
from fitness.goal.v1 import goal_pb2
from fitness.saga.v1 import saga_service_pb2
from fitness.user.v1 import user_service_pb2
from google.protobuf.message import Message

from services.common.goal_types import GOAL_TYPE_NAMES, GoalType
from services.user import domain as user_domain

PREFIX = "GOAL_TYPE_"


def test_every_proto_goal_type_but_unspecified_has_one_python_member_of_the_same_name() -> None:
    proto = {
        name.removeprefix(PREFIX).lower(): number
        for name, number in goal_pb2.GoalType.items()
        if number != goal_pb2.GOAL_TYPE_UNSPECIFIED
    }
    assert {member.value: member.to_proto() for member in GoalType} == proto
    assert goal_pb2.GoalType.Name(goal_pb2.GOAL_TYPE_UNSPECIFIED) == f"{PREFIX}UNSPECIFIED"


def test_proto_values_read_back_as_their_member_and_unknown_ones_as_nothing() -> None:
    for member in GoalType:
        assert GoalType.from_proto(member.to_proto()) is member
    assert GoalType.from_proto(goal_pb2.GOAL_TYPE_UNSPECIFIED) is None
    assert GoalType.from_proto(99) is None
    assert GoalType.of_proto(goal_pb2.GOAL_TYPE_DISTANCE_KM) is GoalType.DISTANCE_KM
    with pytest.raises(ValueError, match="not a goal type: 0"):
        GoalType.of_proto(goal_pb2.GOAL_TYPE_UNSPECIFIED)


def test_the_rest_names_are_the_members_values_in_order() -> None:
    assert GOAL_TYPE_NAMES == ("workouts_count", "active_minutes", "calories_burned", "distance_km")


def test_the_user_domain_uses_the_shared_goal_types() -> None:
    assert user_domain.GoalType is GoalType


def test_every_goal_type_field_of_every_service_is_the_one_shared_enum() -> None:
    messages: list[type[Message]] = [
        user_service_pb2.Goal,
        user_service_pb2.PrepareGoalChangeRequest,
        saga_service_pb2.CreateGoalRequest,
        activity_service_pb2.PutGoalPlanRequest,
        activity_service_pb2.Suggestion,
    ]
    for message in messages:
        field = message.DESCRIPTOR.fields_by_name["goal_type"]
        assert field.enum_type is goal_pb2.GoalType.DESCRIPTOR, message.DESCRIPTOR.full_name


def test_no_service_declares_a_goal_type_enum_of_its_own() -> None:
    for module in (user_service_pb2, saga_service_pb2, activity_service_pb2):
        assert "GoalType" not in module.DESCRIPTOR.enum_types_by_name, module.DESCRIPTOR.name


def test_quantities_read_in_the_goal_types_unit() -> None:
    assert GoalType.WORKOUTS_COUNT.quantity(1) == "1 workout"
    assert GoalType.WORKOUTS_COUNT.quantity(5) == "5 workouts"
    assert GoalType.CALORIES_BURNED.quantity(300) == "300 kcal burned"
