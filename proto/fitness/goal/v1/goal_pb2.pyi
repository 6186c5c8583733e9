from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from typing import ClassVar as _ClassVar

DESCRIPTOR: _descriptor.FileDescriptor

class GoalType(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    GOAL_TYPE_UNSPECIFIED: _ClassVar[GoalType]
    GOAL_TYPE_WORKOUTS_COUNT: _ClassVar[GoalType]
    GOAL_TYPE_ACTIVE_MINUTES: _ClassVar[GoalType]
    GOAL_TYPE_CALORIES_BURNED: _ClassVar[GoalType]
    GOAL_TYPE_DISTANCE_KM: _ClassVar[GoalType]
GOAL_TYPE_UNSPECIFIED: GoalType
GOAL_TYPE_WORKOUTS_COUNT: GoalType
GOAL_TYPE_ACTIVE_MINUTES: GoalType
GOAL_TYPE_CALORIES_BURNED: GoalType
GOAL_TYPE_DISTANCE_KM: GoalType
