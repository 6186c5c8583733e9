from fitness.goal.v1 import goal_pb2 as _goal_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class SagaStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    SAGA_STATUS_UNSPECIFIED: _ClassVar[SagaStatus]
    SAGA_STATUS_RUNNING: _ClassVar[SagaStatus]
    SAGA_STATUS_COMPENSATING: _ClassVar[SagaStatus]
    SAGA_STATUS_COMPLETED: _ClassVar[SagaStatus]
    SAGA_STATUS_COMPENSATED: _ClassVar[SagaStatus]
    SAGA_STATUS_NEEDS_ATTENTION: _ClassVar[SagaStatus]
    SAGA_STATUS_NOT_ACCEPTED: _ClassVar[SagaStatus]
SAGA_STATUS_UNSPECIFIED: SagaStatus
SAGA_STATUS_RUNNING: SagaStatus
SAGA_STATUS_COMPENSATING: SagaStatus
SAGA_STATUS_COMPLETED: SagaStatus
SAGA_STATUS_COMPENSATED: SagaStatus
SAGA_STATUS_NEEDS_ATTENTION: SagaStatus
SAGA_STATUS_NOT_ACCEPTED: SagaStatus

class SagaEvent(_message.Message):
    __slots__ = ("step", "phase", "outcome", "attempt", "error", "time")
    STEP_FIELD_NUMBER: _ClassVar[int]
    PHASE_FIELD_NUMBER: _ClassVar[int]
    OUTCOME_FIELD_NUMBER: _ClassVar[int]
    ATTEMPT_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    TIME_FIELD_NUMBER: _ClassVar[int]
    step: str
    phase: str
    outcome: str
    attempt: int
    error: str
    time: str
    def __init__(self, step: _Optional[str] = ..., phase: _Optional[str] = ..., outcome: _Optional[str] = ..., attempt: _Optional[int] = ..., error: _Optional[str] = ..., time: _Optional[str] = ...) -> None: ...

class Saga(_message.Message):
    __slots__ = ("saga_id", "saga_type", "status", "current_step", "attempt", "next_retry_time", "last_error", "failure_code", "user_id", "goal_id", "create_time", "update_time", "events")
    SAGA_ID_FIELD_NUMBER: _ClassVar[int]
    SAGA_TYPE_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    CURRENT_STEP_FIELD_NUMBER: _ClassVar[int]
    ATTEMPT_FIELD_NUMBER: _ClassVar[int]
    NEXT_RETRY_TIME_FIELD_NUMBER: _ClassVar[int]
    LAST_ERROR_FIELD_NUMBER: _ClassVar[int]
    FAILURE_CODE_FIELD_NUMBER: _ClassVar[int]
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    GOAL_ID_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    UPDATE_TIME_FIELD_NUMBER: _ClassVar[int]
    EVENTS_FIELD_NUMBER: _ClassVar[int]
    saga_id: str
    saga_type: str
    status: SagaStatus
    current_step: str
    attempt: int
    next_retry_time: str
    last_error: str
    failure_code: str
    user_id: str
    goal_id: str
    create_time: str
    update_time: str
    events: _containers.RepeatedCompositeFieldContainer[SagaEvent]
    def __init__(self, saga_id: _Optional[str] = ..., saga_type: _Optional[str] = ..., status: _Optional[_Union[SagaStatus, str]] = ..., current_step: _Optional[str] = ..., attempt: _Optional[int] = ..., next_retry_time: _Optional[str] = ..., last_error: _Optional[str] = ..., failure_code: _Optional[str] = ..., user_id: _Optional[str] = ..., goal_id: _Optional[str] = ..., create_time: _Optional[str] = ..., update_time: _Optional[str] = ..., events: _Optional[_Iterable[_Union[SagaEvent, _Mapping]]] = ...) -> None: ...

class CreateGoalRequest(_message.Message):
    __slots__ = ("request_id", "user_id", "goal_type", "target_value", "target_date")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    GOAL_TYPE_FIELD_NUMBER: _ClassVar[int]
    TARGET_VALUE_FIELD_NUMBER: _ClassVar[int]
    TARGET_DATE_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    user_id: str
    goal_type: _goal_pb2.GoalType
    target_value: float
    target_date: str
    def __init__(self, request_id: _Optional[str] = ..., user_id: _Optional[str] = ..., goal_type: _Optional[_Union[_goal_pb2.GoalType, str]] = ..., target_value: _Optional[float] = ..., target_date: _Optional[str] = ...) -> None: ...

class UpdateGoalRequest(_message.Message):
    __slots__ = ("request_id", "user_id", "goal_id", "target_value", "target_date")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    GOAL_ID_FIELD_NUMBER: _ClassVar[int]
    TARGET_VALUE_FIELD_NUMBER: _ClassVar[int]
    TARGET_DATE_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    user_id: str
    goal_id: str
    target_value: float
    target_date: str
    def __init__(self, request_id: _Optional[str] = ..., user_id: _Optional[str] = ..., goal_id: _Optional[str] = ..., target_value: _Optional[float] = ..., target_date: _Optional[str] = ...) -> None: ...

class DeleteGoalRequest(_message.Message):
    __slots__ = ("request_id", "user_id", "goal_id")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    GOAL_ID_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    user_id: str
    goal_id: str
    def __init__(self, request_id: _Optional[str] = ..., user_id: _Optional[str] = ..., goal_id: _Optional[str] = ...) -> None: ...

class DeleteUserRequest(_message.Message):
    __slots__ = ("request_id", "user_id")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    user_id: str
    def __init__(self, request_id: _Optional[str] = ..., user_id: _Optional[str] = ...) -> None: ...

class FenceSagaRequest(_message.Message):
    __slots__ = ("saga_id", "user_id")
    SAGA_ID_FIELD_NUMBER: _ClassVar[int]
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    saga_id: str
    user_id: str
    def __init__(self, saga_id: _Optional[str] = ..., user_id: _Optional[str] = ...) -> None: ...

class GetSagaRequest(_message.Message):
    __slots__ = ("saga_id",)
    SAGA_ID_FIELD_NUMBER: _ClassVar[int]
    saga_id: str
    def __init__(self, saga_id: _Optional[str] = ...) -> None: ...

class ListSagasRequest(_message.Message):
    __slots__ = ("status", "page_size")
    STATUS_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    status: SagaStatus
    page_size: int
    def __init__(self, status: _Optional[_Union[SagaStatus, str]] = ..., page_size: _Optional[int] = ...) -> None: ...

class ListSagasResponse(_message.Message):
    __slots__ = ("sagas",)
    SAGAS_FIELD_NUMBER: _ClassVar[int]
    sagas: _containers.RepeatedCompositeFieldContainer[Saga]
    def __init__(self, sagas: _Optional[_Iterable[_Union[Saga, _Mapping]]] = ...) -> None: ...
