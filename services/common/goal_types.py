"""The goal types: the one Python spelling of the proto enum ``fitness.goal.v1.GoalType``.

The user service's domain, the saga coordinator, the activity service's plans and the
gateway's REST schemas all take their goal types from here; tests/unit/test_goal_types.py
keeps the members in step with the proto enum.
"""

from __future__ import annotations

from enum import StrEnum

from fitness.goal.v1 import goal_pb2


class GoalType(StrEnum):
    """What a goal measures; values are the REST and storage spelling."""

    WORKOUTS_COUNT = "workouts_count"
    ACTIVE_MINUTES = "active_minutes"
    CALORIES_BURNED = "calories_burned"
    DISTANCE_KM = "distance_km"

    def quantity(self, value: float) -> str:
        """How a quantity of this goal type reads, e.g. '1 workout', '5 workouts', '300 kcal'."""
        one, many = _UNITS[self]
        return f"{value:g} {one if value == 1 else many}"

    def to_proto(self) -> goal_pb2.GoalType:
        """The proto enum value, e.g. GOAL_TYPE_WORKOUTS_COUNT."""
        return _TO_PROTO[self]

    @classmethod
    def from_proto(cls, value: int) -> GoalType | None:
        """The member for a proto enum value; None for UNSPECIFIED or a number we do not know."""
        return _FROM_PROTO.get(value)

    @classmethod
    def of_proto(cls, value: int) -> GoalType:
        """The member for a value a peer's reply always sets; ValueError for any other."""
        found = cls.from_proto(value)
        if found is None:
            raise ValueError(f"not a goal type: {value}")
        return found


_UNITS = {
    GoalType.WORKOUTS_COUNT: ("workout", "workouts"),
    GoalType.ACTIVE_MINUTES: ("active minute", "active minutes"),
    GoalType.CALORIES_BURNED: ("kcal burned", "kcal burned"),
    GoalType.DISTANCE_KM: ("km", "km"),
}
# Spelled out rather than computed from the names so that mypy sees the enum's type;
# tests/unit/test_goal_types.py checks it against the proto descriptor.
_TO_PROTO = {
    GoalType.WORKOUTS_COUNT: goal_pb2.GOAL_TYPE_WORKOUTS_COUNT,
    GoalType.ACTIVE_MINUTES: goal_pb2.GOAL_TYPE_ACTIVE_MINUTES,
    GoalType.CALORIES_BURNED: goal_pb2.GOAL_TYPE_CALORIES_BURNED,
    GoalType.DISTANCE_KM: goal_pb2.GOAL_TYPE_DISTANCE_KM,
}
_FROM_PROTO: dict[int, GoalType] = {number: member for member, number in _TO_PROTO.items()}
# The REST names in declaration order, for messages and schemas.
GOAL_TYPE_NAMES: tuple[str, ...] = tuple(member.value for member in GoalType)
