"""A saga engine that knows nothing of goals: steps declared as data, run from a durable log.

Every step call carries ``request_id = "<saga_id>:<step>"`` (``...:<step>:undo`` for its
compensation), so a call repeated after a crash or a timeout is deduplicated by the
participant. The log is written after each call, never before: a crash in between
repeats the call, which the request_id makes harmless.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, replace
from datetime import timedelta
from typing import Any

from saga_coordinator.domain import (
    BusinessFailure,
    SagaEvent,
    SagaRecord,
    SagaStatus,
    StepFailure,
    TransientFailure,
)
from saga_coordinator.log import SagaLog
from services.common.timeutil import Clock, utc_now

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class StepCall:
    """What a step's action or compensation is called with."""

    saga_id: str
    step: str
    request_id: str
    # The request_id the step's action used; compensations undo exactly that call.
    action_request_id: str
    data: Mapping[str, Any]


StepFunction = Callable[[StepCall], Awaitable[Mapping[str, Any] | None]]


@dataclass(frozen=True)
class Step:
    """An action and its compensation; compensation None marks a step that can't be undone."""

    name: str
    action: StepFunction
    compensation: StepFunction | None


@dataclass(frozen=True)
class SagaDefinition:
    """A saga type: its steps, applied in order and undone in reverse."""

    saga_type: str
    steps: tuple[Step, ...]

    def step_name(self, index: int) -> str:
        """The name of the step at ``index``, or '' past either end."""
        return self.steps[index].name if 0 <= index < len(self.steps) else ""


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how patiently transient failures are retried."""

    max_attempts: int = 5
    compensation_max_attempts: int = 30
    base_delay: float = 0.2
    max_delay: float = 30.0

    def delay(self, attempt: int, rng: Callable[[float, float], float]) -> float:
        """Exponential backoff with full jitter before attempt ``attempt + 1``."""
        return rng(0.0, min(self.max_delay, self.base_delay * 2 ** (attempt - 1)))


Probe = Callable[[str], Awaitable[None]]


async def no_probe(_boundary: str) -> None:
    """The default probe: step boundaries are not observed."""


class Engine:
    """Drives sagas forward (or backward) step by step, writing every move to the log."""

    def __init__(
        self,
        saga_log: SagaLog,
        definitions: Mapping[str, SagaDefinition],
        policy: RetryPolicy = RetryPolicy(),
        clock: Clock = utc_now,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        rng: Callable[[float, float], float] = random.uniform,
        probe: Probe = no_probe,
    ) -> None:
        self.log = saga_log
        self.definitions = definitions
        self.policy = policy
        self.clock = clock
        self.sleep = sleep
        self.rng = rng
        # Called at every step boundary; fault-injection tests freeze the process there.
        self.probe = probe

    async def run(self, record: SagaRecord) -> SagaRecord:
        """Run the saga until it is COMPLETED, COMPENSATED or NEEDS_ATTENTION."""
        definition = self.definitions[record.saga_type]
        while not record.status.finished:
            await self._wait_for_retry(record)
            if record.status is SagaStatus.RUNNING:
                record = await self._forward(definition, record)
            else:
                record = await self._backward(definition, record)
        log.info("saga finished", extra={"saga_id": record.saga_id, "status": record.status})
        return record

    async def _wait_for_retry(self, record: SagaRecord) -> None:
        if record.next_retry_at is not None:
            delay = (record.next_retry_at - self.clock()).total_seconds()
            if delay > 0:
                await self.sleep(delay)

    async def _forward(self, definition: SagaDefinition, record: SagaRecord) -> SagaRecord:
        if record.step_index >= len(definition.steps):
            return await self._save(record, status=SagaStatus.COMPLETED)
        step = definition.steps[record.step_index]
        call = self._call(record, step, step.name)
        boundary = f"{definition.saga_type}/{step.name}/action"
        try:
            await self.probe(f"{boundary}/before")
            output = await step.action(call)
            await self.probe(f"{boundary}/after")
        except TransientFailure as failure:
            return await self._retry_forward(record, step, failure)
        except BusinessFailure as failure:
            return await self._compensate(record, step, failure, record.step_index - 1)
        data = {**record.data, **(output or {})}
        event = self._event(record, step.name, "action", "completed")
        return await self._save(record, event, step_index=record.step_index + 1, data=data)

    async def _retry_forward(
        self, record: SagaRecord, step: Step, failure: TransientFailure
    ) -> SagaRecord:
        attempt = record.attempt + 1
        budget = self.policy.max_attempts
        if step.compensation is None:
            budget = self.policy.compensation_max_attempts  # past the point of no return
        if attempt < budget:
            return await self._schedule_retry(record, step.name, "action", failure, attempt)
        # The last attempt may have been applied before it timed out: undo it too.
        return await self._compensate(record, step, failure, record.step_index)

    async def _compensate(
        self, record: SagaRecord, step: Step, failure: StepFailure, from_index: int
    ) -> SagaRecord:
        event = self._event(record, step.name, "action", "failed", str(failure))
        return await self._save(
            record,
            event,
            status=SagaStatus.COMPENSATING,
            step_index=from_index,
            last_error=str(failure),
            failure_code=failure.code,
        )

    async def _backward(self, definition: SagaDefinition, record: SagaRecord) -> SagaRecord:
        if record.step_index < 0:
            return await self._save(record, status=SagaStatus.COMPENSATED)
        step = definition.steps[record.step_index]
        if step.compensation is None:
            error = f"step {step.name} cannot be undone; refusing to compensate past it"
            event = self._event(record, step.name, "compensation", "gave_up", error)
            return await self._save(
                record, event, status=SagaStatus.NEEDS_ATTENTION, last_error=error
            )
        call = self._call(record, step, f"{step.name}:undo")
        boundary = f"{definition.saga_type}/{step.name}/compensation"
        try:
            await self.probe(f"{boundary}/before")
            await step.compensation(call)
            await self.probe(f"{boundary}/after")
        except StepFailure as failure:
            return await self._retry_backward(record, step, failure)
        event = self._event(record, step.name, "compensation", "completed")
        return await self._save(record, event, step_index=record.step_index - 1)

    async def _retry_backward(
        self, record: SagaRecord, step: Step, failure: StepFailure
    ) -> SagaRecord:
        attempt = record.attempt + 1
        transient = isinstance(failure, TransientFailure)
        if transient and attempt < self.policy.compensation_max_attempts:
            return await self._schedule_retry(record, step.name, "compensation", failure, attempt)
        event = self._event(record, step.name, "compensation", "gave_up", str(failure))
        return await self._save(
            record, event, status=SagaStatus.NEEDS_ATTENTION, last_error=str(failure)
        )

    async def _schedule_retry(
        self, record: SagaRecord, step: str, phase: str, failure: StepFailure, attempt: int
    ) -> SagaRecord:
        delay = self.policy.delay(attempt, self.rng)
        event = self._event(record, step, phase, "retry_scheduled", str(failure))
        return await self._save(
            record,
            event,
            attempt=attempt,
            next_retry_at=self.clock() + timedelta(seconds=delay),
            last_error=str(failure),
        )

    def _call(self, record: SagaRecord, step: Step, suffix: str) -> StepCall:
        return StepCall(
            saga_id=record.saga_id,
            step=step.name,
            request_id=f"{record.saga_id}:{suffix}",
            action_request_id=f"{record.saga_id}:{step.name}",
            data=record.data,
        )

    def _event(
        self, record: SagaRecord, step: str, phase: str, outcome: str, error: str = ""
    ) -> SagaEvent:
        attempt = record.attempt + 1
        return SagaEvent(record.saga_id, step, phase, outcome, attempt, self.clock(), error)

    async def _save(
        self, record: SagaRecord, event: SagaEvent | None = None, **changes: Any
    ) -> SagaRecord:
        moved = "step_index" in changes or "status" in changes
        resets: dict[str, Any] = {"attempt": 0, "next_retry_at": None} if moved else {}
        updated = replace(record, **{**resets, **changes, "updated_at": self.clock()})
        await self.log.save(updated, event)
        return updated
