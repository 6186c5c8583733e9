from fitness.goal.v1 import goal_pb2 as _goal_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class GoalOperation(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    GOAL_OPERATION_UNSPECIFIED: _ClassVar[GoalOperation]
    GOAL_OPERATION_CREATE: _ClassVar[GoalOperation]
    GOAL_OPERATION_UPDATE: _ClassVar[GoalOperation]
    GOAL_OPERATION_DELETE: _ClassVar[GoalOperation]

class GoalStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    GOAL_STATUS_UNSPECIFIED: _ClassVar[GoalStatus]
    GOAL_STATUS_ACTIVE: _ClassVar[GoalStatus]
    GOAL_STATUS_ACHIEVED: _ClassVar[GoalStatus]
GOAL_OPERATION_UNSPECIFIED: GoalOperation
GOAL_OPERATION_CREATE: GoalOperation
GOAL_OPERATION_UPDATE: GoalOperation
GOAL_OPERATION_DELETE: GoalOperation
GOAL_STATUS_UNSPECIFIED: GoalStatus
GOAL_STATUS_ACTIVE: GoalStatus
GOAL_STATUS_ACHIEVED: GoalStatus

class Profile(_message.Message):
    __slots__ = ("display_name", "weight_kg", "height_cm", "birth_year")
    DISPLAY_NAME_FIELD_NUMBER: _ClassVar[int]
    WEIGHT_KG_FIELD_NUMBER: _ClassVar[int]
    HEIGHT_CM_FIELD_NUMBER: _ClassVar[int]
    BIRTH_YEAR_FIELD_NUMBER: _ClassVar[int]
    display_name: str
    weight_kg: float
    height_cm: float
    birth_year: int
    def __init__(self, display_name: _Optional[str] = ..., weight_kg: _Optional[float] = ..., height_cm: _Optional[float] = ..., birth_year: _Optional[int] = ...) -> None: ...

class User(_message.Message):
    __slots__ = ("user_id", "username", "email", "profile", "create_time")
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    USERNAME_FIELD_NUMBER: _ClassVar[int]
    EMAIL_FIELD_NUMBER: _ClassVar[int]
    PROFILE_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    user_id: str
    username: str
    email: str
    profile: Profile
    create_time: str
    def __init__(self, user_id: _Optional[str] = ..., username: _Optional[str] = ..., email: _Optional[str] = ..., profile: _Optional[_Union[Profile, _Mapping]] = ..., create_time: _Optional[str] = ...) -> None: ...

class Goal(_message.Message):
    __slots__ = ("goal_id", "user_id", "goal_type", "target_value", "target_date", "current_progress", "status", "create_time", "pending_operation", "pending_saga_id", "achieve_time")
    GOAL_ID_FIELD_NUMBER: _ClassVar[int]
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    GOAL_TYPE_FIELD_NUMBER: _ClassVar[int]
    TARGET_VALUE_FIELD_NUMBER: _ClassVar[int]
    TARGET_DATE_FIELD_NUMBER: _ClassVar[int]
    CURRENT_PROGRESS_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    PENDING_OPERATION_FIELD_NUMBER: _ClassVar[int]
    PENDING_SAGA_ID_FIELD_NUMBER: _ClassVar[int]
    ACHIEVE_TIME_FIELD_NUMBER: _ClassVar[int]
    goal_id: str
    user_id: str
    goal_type: _goal_pb2.GoalType
    target_value: float
    target_date: str
    current_progress: float
    status: GoalStatus
    create_time: str
    pending_operation: GoalOperation
    pending_saga_id: str
    achieve_time: str
    def __init__(self, goal_id: _Optional[str] = ..., user_id: _Optional[str] = ..., goal_type: _Optional[_Union[_goal_pb2.GoalType, str]] = ..., target_value: _Optional[float] = ..., target_date: _Optional[str] = ..., current_progress: _Optional[float] = ..., status: _Optional[_Union[GoalStatus, str]] = ..., create_time: _Optional[str] = ..., pending_operation: _Optional[_Union[GoalOperation, str]] = ..., pending_saga_id: _Optional[str] = ..., achieve_time: _Optional[str] = ...) -> None: ...

class RegisterUserRequest(_message.Message):
    __slots__ = ("request_id", "username", "email", "password", "profile")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    USERNAME_FIELD_NUMBER: _ClassVar[int]
    EMAIL_FIELD_NUMBER: _ClassVar[int]
    PASSWORD_FIELD_NUMBER: _ClassVar[int]
    PROFILE_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    username: str
    email: str
    password: str
    profile: Profile
    def __init__(self, request_id: _Optional[str] = ..., username: _Optional[str] = ..., email: _Optional[str] = ..., password: _Optional[str] = ..., profile: _Optional[_Union[Profile, _Mapping]] = ...) -> None: ...

class RegisterUserResponse(_message.Message):
    __slots__ = ("user",)
    USER_FIELD_NUMBER: _ClassVar[int]
    user: User
    def __init__(self, user: _Optional[_Union[User, _Mapping]] = ...) -> None: ...

class LoginRequest(_message.Message):
    __slots__ = ("email", "password")
    EMAIL_FIELD_NUMBER: _ClassVar[int]
    PASSWORD_FIELD_NUMBER: _ClassVar[int]
    email: str
    password: str
    def __init__(self, email: _Optional[str] = ..., password: _Optional[str] = ...) -> None: ...

class LoginResponse(_message.Message):
    __slots__ = ("token", "user_id", "expires_in", "refresh_token", "refresh_expires_in")
    TOKEN_FIELD_NUMBER: _ClassVar[int]
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    EXPIRES_IN_FIELD_NUMBER: _ClassVar[int]
    REFRESH_TOKEN_FIELD_NUMBER: _ClassVar[int]
    REFRESH_EXPIRES_IN_FIELD_NUMBER: _ClassVar[int]
    token: str
    user_id: str
    expires_in: int
    refresh_token: str
    refresh_expires_in: int
    def __init__(self, token: _Optional[str] = ..., user_id: _Optional[str] = ..., expires_in: _Optional[int] = ..., refresh_token: _Optional[str] = ..., refresh_expires_in: _Optional[int] = ...) -> None: ...

class RefreshTokenRequest(_message.Message):
    __slots__ = ("refresh_token",)
    REFRESH_TOKEN_FIELD_NUMBER: _ClassVar[int]
    refresh_token: str
    def __init__(self, refresh_token: _Optional[str] = ...) -> None: ...

class LogoutRequest(_message.Message):
    __slots__ = ("refresh_token",)
    REFRESH_TOKEN_FIELD_NUMBER: _ClassVar[int]
    refresh_token: str
    def __init__(self, refresh_token: _Optional[str] = ...) -> None: ...

class LogoutResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class GetUserRequest(_message.Message):
    __slots__ = ("user_id",)
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    user_id: str
    def __init__(self, user_id: _Optional[str] = ...) -> None: ...

class GetUserResponse(_message.Message):
    __slots__ = ("user",)
    USER_FIELD_NUMBER: _ClassVar[int]
    user: User
    def __init__(self, user: _Optional[_Union[User, _Mapping]] = ...) -> None: ...

class UpdateProfileRequest(_message.Message):
    __slots__ = ("request_id", "user_id", "display_name", "weight_kg", "height_cm", "birth_year")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    DISPLAY_NAME_FIELD_NUMBER: _ClassVar[int]
    WEIGHT_KG_FIELD_NUMBER: _ClassVar[int]
    HEIGHT_CM_FIELD_NUMBER: _ClassVar[int]
    BIRTH_YEAR_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    user_id: str
    display_name: str
    weight_kg: float
    height_cm: float
    birth_year: int
    def __init__(self, request_id: _Optional[str] = ..., user_id: _Optional[str] = ..., display_name: _Optional[str] = ..., weight_kg: _Optional[float] = ..., height_cm: _Optional[float] = ..., birth_year: _Optional[int] = ...) -> None: ...

class UpdateProfileResponse(_message.Message):
    __slots__ = ("user",)
    USER_FIELD_NUMBER: _ClassVar[int]
    user: User
    def __init__(self, user: _Optional[_Union[User, _Mapping]] = ...) -> None: ...

class GetUserGoalRequest(_message.Message):
    __slots__ = ("user_id", "goal_id")
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    GOAL_ID_FIELD_NUMBER: _ClassVar[int]
    user_id: str
    goal_id: str
    def __init__(self, user_id: _Optional[str] = ..., goal_id: _Optional[str] = ...) -> None: ...

class GetUserGoalResponse(_message.Message):
    __slots__ = ("goal",)
    GOAL_FIELD_NUMBER: _ClassVar[int]
    goal: Goal
    def __init__(self, goal: _Optional[_Union[Goal, _Mapping]] = ...) -> None: ...

class ListGoalsRequest(_message.Message):
    __slots__ = ("user_id",)
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    user_id: str
    def __init__(self, user_id: _Optional[str] = ...) -> None: ...

class ListGoalsResponse(_message.Message):
    __slots__ = ("goals",)
    GOALS_FIELD_NUMBER: _ClassVar[int]
    goals: _containers.RepeatedCompositeFieldContainer[Goal]
    def __init__(self, goals: _Optional[_Iterable[_Union[Goal, _Mapping]]] = ...) -> None: ...

class PrepareGoalChangeRequest(_message.Message):
    __slots__ = ("request_id", "saga_id", "user_id", "goal_id", "operation", "goal_type", "target_value", "target_date")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    SAGA_ID_FIELD_NUMBER: _ClassVar[int]
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    GOAL_ID_FIELD_NUMBER: _ClassVar[int]
    OPERATION_FIELD_NUMBER: _ClassVar[int]
    GOAL_TYPE_FIELD_NUMBER: _ClassVar[int]
    TARGET_VALUE_FIELD_NUMBER: _ClassVar[int]
    TARGET_DATE_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    saga_id: str
    user_id: str
    goal_id: str
    operation: GoalOperation
    goal_type: _goal_pb2.GoalType
    target_value: float
    target_date: str
    def __init__(self, request_id: _Optional[str] = ..., saga_id: _Optional[str] = ..., user_id: _Optional[str] = ..., goal_id: _Optional[str] = ..., operation: _Optional[_Union[GoalOperation, str]] = ..., goal_type: _Optional[_Union[_goal_pb2.GoalType, str]] = ..., target_value: _Optional[float] = ..., target_date: _Optional[str] = ...) -> None: ...

class GoalChangeStepRequest(_message.Message):
    __slots__ = ("request_id", "saga_id", "user_id", "goal_id")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    SAGA_ID_FIELD_NUMBER: _ClassVar[int]
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    GOAL_ID_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    saga_id: str
    user_id: str
    goal_id: str
    def __init__(self, request_id: _Optional[str] = ..., saga_id: _Optional[str] = ..., user_id: _Optional[str] = ..., goal_id: _Optional[str] = ...) -> None: ...

class GoalChangeResponse(_message.Message):
    __slots__ = ("goal",)
    GOAL_FIELD_NUMBER: _ClassVar[int]
    goal: Goal
    def __init__(self, goal: _Optional[_Union[Goal, _Mapping]] = ...) -> None: ...

class RecordWorkoutProgressRequest(_message.Message):
    __slots__ = ("request_id", "user_id", "end_time", "duration", "calories_burned")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    END_TIME_FIELD_NUMBER: _ClassVar[int]
    DURATION_FIELD_NUMBER: _ClassVar[int]
    CALORIES_BURNED_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    user_id: str
    end_time: str
    duration: float
    calories_burned: float
    def __init__(self, request_id: _Optional[str] = ..., user_id: _Optional[str] = ..., end_time: _Optional[str] = ..., duration: _Optional[float] = ..., calories_burned: _Optional[float] = ...) -> None: ...

class RecordWorkoutProgressResponse(_message.Message):
    __slots__ = ("achieved_goals", "notifications")
    ACHIEVED_GOALS_FIELD_NUMBER: _ClassVar[int]
    NOTIFICATIONS_FIELD_NUMBER: _ClassVar[int]
    achieved_goals: _containers.RepeatedCompositeFieldContainer[Goal]
    notifications: _containers.RepeatedCompositeFieldContainer[Notification]
    def __init__(self, achieved_goals: _Optional[_Iterable[_Union[Goal, _Mapping]]] = ..., notifications: _Optional[_Iterable[_Union[Notification, _Mapping]]] = ...) -> None: ...

class Notification(_message.Message):
    __slots__ = ("notification_id", "user_id", "kind", "goal_id", "message", "create_time")
    NOTIFICATION_ID_FIELD_NUMBER: _ClassVar[int]
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    GOAL_ID_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    notification_id: str
    user_id: str
    kind: str
    goal_id: str
    message: str
    create_time: str
    def __init__(self, notification_id: _Optional[str] = ..., user_id: _Optional[str] = ..., kind: _Optional[str] = ..., goal_id: _Optional[str] = ..., message: _Optional[str] = ..., create_time: _Optional[str] = ...) -> None: ...

class ListNotificationsRequest(_message.Message):
    __slots__ = ("user_id", "page_size")
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    user_id: str
    page_size: int
    def __init__(self, user_id: _Optional[str] = ..., page_size: _Optional[int] = ...) -> None: ...

class ListNotificationsResponse(_message.Message):
    __slots__ = ("notifications",)
    NOTIFICATIONS_FIELD_NUMBER: _ClassVar[int]
    notifications: _containers.RepeatedCompositeFieldContainer[Notification]
    def __init__(self, notifications: _Optional[_Iterable[_Union[Notification, _Mapping]]] = ...) -> None: ...

class UserDeletionStepRequest(_message.Message):
    __slots__ = ("request_id", "saga_id", "user_id")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    SAGA_ID_FIELD_NUMBER: _ClassVar[int]
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    saga_id: str
    user_id: str
    def __init__(self, request_id: _Optional[str] = ..., saga_id: _Optional[str] = ..., user_id: _Optional[str] = ...) -> None: ...

class UserDeletionStepResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...
