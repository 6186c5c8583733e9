from fitness.goal.v1 import goal_pb2 as _goal_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class WorkoutSession(_message.Message):
    __slots__ = ("session_id", "user_id", "workout_type", "start_time", "end_time", "duration", "calories_burned")
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    WORKOUT_TYPE_FIELD_NUMBER: _ClassVar[int]
    START_TIME_FIELD_NUMBER: _ClassVar[int]
    END_TIME_FIELD_NUMBER: _ClassVar[int]
    DURATION_FIELD_NUMBER: _ClassVar[int]
    CALORIES_BURNED_FIELD_NUMBER: _ClassVar[int]
    session_id: str
    user_id: str
    workout_type: str
    start_time: str
    end_time: str
    duration: float
    calories_burned: float
    def __init__(self, session_id: _Optional[str] = ..., user_id: _Optional[str] = ..., workout_type: _Optional[str] = ..., start_time: _Optional[str] = ..., end_time: _Optional[str] = ..., duration: _Optional[float] = ..., calories_burned: _Optional[float] = ...) -> None: ...

class StartWorkoutSessionRequest(_message.Message):
    __slots__ = ("request_id", "user_id", "workout_type")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    WORKOUT_TYPE_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    user_id: str
    workout_type: str
    def __init__(self, request_id: _Optional[str] = ..., user_id: _Optional[str] = ..., workout_type: _Optional[str] = ...) -> None: ...

class StartWorkoutSessionResponse(_message.Message):
    __slots__ = ("session",)
    SESSION_FIELD_NUMBER: _ClassVar[int]
    session: WorkoutSession
    def __init__(self, session: _Optional[_Union[WorkoutSession, _Mapping]] = ...) -> None: ...

class EndWorkoutSessionRequest(_message.Message):
    __slots__ = ("request_id", "session_id", "user_id", "end_time")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    END_TIME_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    session_id: str
    user_id: str
    end_time: str
    def __init__(self, request_id: _Optional[str] = ..., session_id: _Optional[str] = ..., user_id: _Optional[str] = ..., end_time: _Optional[str] = ...) -> None: ...

class EndWorkoutSessionResponse(_message.Message):
    __slots__ = ("session",)
    SESSION_FIELD_NUMBER: _ClassVar[int]
    session: WorkoutSession
    def __init__(self, session: _Optional[_Union[WorkoutSession, _Mapping]] = ...) -> None: ...

class ListWorkoutSessionsRequest(_message.Message):
    __slots__ = ("user_id", "page_size", "page_token")
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    user_id: str
    page_size: int
    page_token: str
    def __init__(self, user_id: _Optional[str] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListWorkoutSessionsResponse(_message.Message):
    __slots__ = ("sessions", "next_page_token")
    SESSIONS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    sessions: _containers.RepeatedCompositeFieldContainer[WorkoutSession]
    next_page_token: str
    def __init__(self, sessions: _Optional[_Iterable[_Union[WorkoutSession, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class GetUserStatisticsRequest(_message.Message):
    __slots__ = ("user_id",)
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    user_id: str
    def __init__(self, user_id: _Optional[str] = ...) -> None: ...

class GetUserStatisticsResponse(_message.Message):
    __slots__ = ("total_workouts", "total_duration", "total_calories_burned", "average_session_duration")
    TOTAL_WORKOUTS_FIELD_NUMBER: _ClassVar[int]
    TOTAL_DURATION_FIELD_NUMBER: _ClassVar[int]
    TOTAL_CALORIES_BURNED_FIELD_NUMBER: _ClassVar[int]
    AVERAGE_SESSION_DURATION_FIELD_NUMBER: _ClassVar[int]
    total_workouts: int
    total_duration: float
    total_calories_burned: float
    average_session_duration: float
    def __init__(self, total_workouts: _Optional[int] = ..., total_duration: _Optional[float] = ..., total_calories_burned: _Optional[float] = ..., average_session_duration: _Optional[float] = ...) -> None: ...

class ListWorkoutTypesRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class WorkoutType(_message.Message):
    __slots__ = ("name", "met", "description")
    NAME_FIELD_NUMBER: _ClassVar[int]
    MET_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    name: str
    met: float
    description: str
    def __init__(self, name: _Optional[str] = ..., met: _Optional[float] = ..., description: _Optional[str] = ...) -> None: ...

class ListWorkoutTypesResponse(_message.Message):
    __slots__ = ("workout_types",)
    WORKOUT_TYPES_FIELD_NUMBER: _ClassVar[int]
    workout_types: _containers.RepeatedCompositeFieldContainer[WorkoutType]
    def __init__(self, workout_types: _Optional[_Iterable[_Union[WorkoutType, _Mapping]]] = ...) -> None: ...

class GroupParticipant(_message.Message):
    __slots__ = ("user_id", "start_time", "end_time")
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    START_TIME_FIELD_NUMBER: _ClassVar[int]
    END_TIME_FIELD_NUMBER: _ClassVar[int]
    user_id: str
    start_time: str
    end_time: str
    def __init__(self, user_id: _Optional[str] = ..., start_time: _Optional[str] = ..., end_time: _Optional[str] = ...) -> None: ...

class RecordGroupWorkoutRequest(_message.Message):
    __slots__ = ("request_id", "group_session_id", "workout_type", "participants")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    GROUP_SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    WORKOUT_TYPE_FIELD_NUMBER: _ClassVar[int]
    PARTICIPANTS_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    group_session_id: str
    workout_type: str
    participants: _containers.RepeatedCompositeFieldContainer[GroupParticipant]
    def __init__(self, request_id: _Optional[str] = ..., group_session_id: _Optional[str] = ..., workout_type: _Optional[str] = ..., participants: _Optional[_Iterable[_Union[GroupParticipant, _Mapping]]] = ...) -> None: ...

class RecordGroupWorkoutResponse(_message.Message):
    __slots__ = ("sessions",)
    SESSIONS_FIELD_NUMBER: _ClassVar[int]
    sessions: _containers.RepeatedCompositeFieldContainer[WorkoutSession]
    def __init__(self, sessions: _Optional[_Iterable[_Union[WorkoutSession, _Mapping]]] = ...) -> None: ...

class PutGoalPlanRequest(_message.Message):
    __slots__ = ("request_id", "user_id", "goal_id", "goal_type", "target_value", "target_date", "start_time", "active")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    GOAL_ID_FIELD_NUMBER: _ClassVar[int]
    GOAL_TYPE_FIELD_NUMBER: _ClassVar[int]
    TARGET_VALUE_FIELD_NUMBER: _ClassVar[int]
    TARGET_DATE_FIELD_NUMBER: _ClassVar[int]
    START_TIME_FIELD_NUMBER: _ClassVar[int]
    ACTIVE_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    user_id: str
    goal_id: str
    goal_type: _goal_pb2.GoalType
    target_value: float
    target_date: str
    start_time: str
    active: bool
    def __init__(self, request_id: _Optional[str] = ..., user_id: _Optional[str] = ..., goal_id: _Optional[str] = ..., goal_type: _Optional[_Union[_goal_pb2.GoalType, str]] = ..., target_value: _Optional[float] = ..., target_date: _Optional[str] = ..., start_time: _Optional[str] = ..., active: _Optional[bool] = ...) -> None: ...

class PutGoalPlanResponse(_message.Message):
    __slots__ = ("suggestion",)
    SUGGESTION_FIELD_NUMBER: _ClassVar[int]
    suggestion: Suggestion
    def __init__(self, suggestion: _Optional[_Union[Suggestion, _Mapping]] = ...) -> None: ...

class RestoreGoalPlanRequest(_message.Message):
    __slots__ = ("request_id", "goal_id", "put_request_id")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    GOAL_ID_FIELD_NUMBER: _ClassVar[int]
    PUT_REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    goal_id: str
    put_request_id: str
    def __init__(self, request_id: _Optional[str] = ..., goal_id: _Optional[str] = ..., put_request_id: _Optional[str] = ...) -> None: ...

class RestoreGoalPlanResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class GetSuggestionsRequest(_message.Message):
    __slots__ = ("user_id",)
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    user_id: str
    def __init__(self, user_id: _Optional[str] = ...) -> None: ...

class Suggestion(_message.Message):
    __slots__ = ("goal_id", "goal_type", "target_value", "target_date", "progress", "remaining", "weeks_left", "sessions_per_week", "minutes_per_session", "weekly_target")
    GOAL_ID_FIELD_NUMBER: _ClassVar[int]
    GOAL_TYPE_FIELD_NUMBER: _ClassVar[int]
    TARGET_VALUE_FIELD_NUMBER: _ClassVar[int]
    TARGET_DATE_FIELD_NUMBER: _ClassVar[int]
    PROGRESS_FIELD_NUMBER: _ClassVar[int]
    REMAINING_FIELD_NUMBER: _ClassVar[int]
    WEEKS_LEFT_FIELD_NUMBER: _ClassVar[int]
    SESSIONS_PER_WEEK_FIELD_NUMBER: _ClassVar[int]
    MINUTES_PER_SESSION_FIELD_NUMBER: _ClassVar[int]
    WEEKLY_TARGET_FIELD_NUMBER: _ClassVar[int]
    goal_id: str
    goal_type: _goal_pb2.GoalType
    target_value: float
    target_date: str
    progress: float
    remaining: float
    weeks_left: int
    sessions_per_week: int
    minutes_per_session: int
    weekly_target: float
    def __init__(self, goal_id: _Optional[str] = ..., goal_type: _Optional[_Union[_goal_pb2.GoalType, str]] = ..., target_value: _Optional[float] = ..., target_date: _Optional[str] = ..., progress: _Optional[float] = ..., remaining: _Optional[float] = ..., weeks_left: _Optional[int] = ..., sessions_per_week: _Optional[int] = ..., minutes_per_session: _Optional[int] = ..., weekly_target: _Optional[float] = ...) -> None: ...

class GetSuggestionsResponse(_message.Message):
    __slots__ = ("suggestions",)
    SUGGESTIONS_FIELD_NUMBER: _ClassVar[int]
    suggestions: _containers.RepeatedCompositeFieldContainer[Suggestion]
    def __init__(self, suggestions: _Optional[_Iterable[_Union[Suggestion, _Mapping]]] = ...) -> None: ...

class DeleteUserActivityRequest(_message.Message):
    __slots__ = ("request_id", "user_id")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    user_id: str
    def __init__(self, request_id: _Optional[str] = ..., user_id: _Optional[str] = ...) -> None: ...

class DeleteUserActivityResponse(_message.Message):
    __slots__ = ("deleted_sessions",)
    DELETED_SESSIONS_FIELD_NUMBER: _ClassVar[int]
    deleted_sessions: int
    def __init__(self, deleted_sessions: _Optional[int] = ...) -> None: ...
