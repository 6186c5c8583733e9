"""Fakes for the saga engine: an in-memory log, scripted steps and a clock that sleeps."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from saga_coordinator.domain import SagaEvent, SagaRecord, SagaStatus
from saga_coordinator.engine import SagaDefinition, Step, StepCall


class InMemorySagaLog:
    """SagaLog in dictionaries."""

    def __init__(self) -> None:
        self.records: dict[str, SagaRecord] = {}
        self.history: list[SagaEvent] = []

    async def create(self, record: SagaRecord) -> tuple[SagaRecord, bool]:
        if record.saga_id in self.records:
            return self.records[record.saga_id], False
        self.records[record.saga_id] = record
        return record, True

    async def save(self, record: SagaRecord, event: SagaEvent | None) -> None:
        self.records[record.saga_id] = record
        if event:
            self.history.append(event)

    async def get(self, saga_id: str) -> SagaRecord | None:
        return self.records.get(saga_id)

    async def events(self, saga_id: str) -> list[SagaEvent]:
        return [e for e in self.history if e.saga_id == saga_id]

    async def unfinished(self) -> list[SagaRecord]:
        return [r for r in self.records.values() if not r.status.finished]

    async def recent(self, status: SagaStatus | None, limit: int) -> list[SagaRecord]:
        found = [r for r in self.records.values() if status is None or r.status is status]
        return sorted(found, key=lambda r: r.updated_at, reverse=True)[:limit]


class FakeTime:
    """A clock whose sleep advances it instantly and remembers how long it slept."""

    def __init__(self) -> None:
        self.now = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
        self.slept: list[float] = []

    def __call__(self) -> datetime:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.slept.append(round(seconds, 6))
        self.now += timedelta(seconds=seconds)


@dataclass
class Script:
    """Steps that record every call and fail as scripted, attempt by attempt."""

    calls: list[tuple[str, str, str]] = field(default_factory=list)
    # (step, phase) -> one outcome per attempt: None succeeds, an exception is raised.
    outcomes: dict[tuple[str, str], list[Exception | None]] = field(default_factory=dict)
    outputs: dict[str, Mapping[str, Any]] = field(default_factory=dict)
    seen_data: dict[str, Mapping[str, Any]] = field(default_factory=dict)

    def function(self, step: str, phase: str) -> Any:
        async def call(request: StepCall) -> Mapping[str, Any] | None:
            self.calls.append((step, phase, request.request_id))
            self.seen_data[f"{step}/{phase}"] = dict(request.data)
            planned = self.outcomes.get((step, phase), [])
            outcome = planned.pop(0) if planned else None
            if outcome is not None:
                raise outcome
            return self.outputs.get(step) if phase == "action" else None

        return call

    def step(self, name: str, compensable: bool = True) -> Step:
        undo = self.function(name, "compensation") if compensable else None
        return Step(name, self.function(name, "action"), undo)

    def saga(self, *steps: Step) -> dict[str, SagaDefinition]:
        return {"test": SagaDefinition("test", steps)}


def new_record(time: FakeTime, saga_id: str = "s1", **changes: Any) -> SagaRecord:
    """A saga of type 'test' about to run its first step."""
    record = SagaRecord(saga_id, "test", SagaStatus.RUNNING, 0, {"x": 1}, time(), time())
    return SagaRecord(**{**record.__dict__, **changes})
