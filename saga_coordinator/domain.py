"""Sagas as the coordinator records them: statuses, records, history, failures."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any


class SagaStatus(StrEnum):
    """Where a saga stands; all but the first two are final."""

    RUNNING = "running"
    COMPENSATING = "compensating"
    COMPLETED = "completed"
    COMPENSATED = "compensated"
    NEEDS_ATTENTION = "needs_attention"
    # A fence: no saga had this id when asked, and none will (nothing was applied).
    NOT_ACCEPTED = "not_accepted"

    @property
    def finished(self) -> bool:
        """Whether the engine will do nothing more with the saga."""
        return self not in (SagaStatus.RUNNING, SagaStatus.COMPENSATING)


class StepFailure(Exception):
    """A participant call failed; ``code`` is the gRPC status name, e.g. 'ABORTED'."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


class TransientFailure(StepFailure):
    """Worth retrying: the participant was unreachable, overloaded or too slow."""


class BusinessFailure(StepFailure):
    """The participant refused the step; retrying cannot help."""


class InvalidRequest(Exception):
    """A request to the coordinator breaks a documented rule."""


class SagaNotFound(Exception):
    """No saga has this id."""


class SagaConflict(Exception):
    """The saga id is taken by a saga of another type or for other data."""


@dataclass(frozen=True)
class SagaRecord:
    """The durable state of one saga: everything needed to resume it after a crash.

    While RUNNING, ``step_index`` is the next step to apply; while COMPENSATING, the
    next step to undo (counting down to -1).
    """

    saga_id: str
    saga_type: str
    status: SagaStatus
    step_index: int
    data: dict[str, Any]
    created_at: datetime
    updated_at: datetime
    attempt: int = 0
    next_retry_at: datetime | None = None
    last_error: str = ""
    failure_code: str = ""


@dataclass(frozen=True)
class SagaEvent:
    """One entry of a saga's history."""

    saga_id: str
    step: str
    phase: str
    outcome: str
    attempt: int
    at: datetime
    error: str = ""


@dataclass(frozen=True)
class SagaView:
    """A saga with the name of its current step, for callers outside the engine."""

    record: SagaRecord
    current_step: str
    events: list[SagaEvent] = field(default_factory=list)
