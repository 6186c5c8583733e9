"""The saga engine with recorded fake steps: order, retries, compensation, give-up paths."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

import pytest

from saga_coordinator.domain import (
    BusinessFailure,
    SagaConflict,
    SagaStatus,
    TransientFailure,
)
from saga_coordinator.engine import Engine, RetryPolicy, Step
from saga_coordinator.log import SagaLog
from saga_coordinator.service import Coordinator
from tests.unit.saga_fakes import FakeTime, InMemorySagaLog, Script, new_record


def unavailable() -> TransientFailure:
    return TransientFailure("UNAVAILABLE", "connection refused")


def refused() -> BusinessFailure:
    return BusinessFailure("FAILED_PRECONDITION", "no")


@dataclass
class Harness:
    """An engine over fake steps, with the fake time it runs on."""

    engine: Engine
    time: FakeTime

    @property
    def log(self) -> SagaLog:
        return self.engine.log


def engine_for(script: Script, *steps: Step, policy: RetryPolicy | None = None) -> Harness:
    time = FakeTime()
    engine = Engine(
        InMemorySagaLog(),
        script.saga(*steps),
        policy or RetryPolicy(max_attempts=3, compensation_max_attempts=4),
        clock=time,
        sleep=time.sleep,
        rng=lambda low, high: high,  # the longest jitter, so delays are predictable
    )
    return Harness(engine, time)


async def run(harness: Harness, **changes: Any) -> tuple[SagaStatus, int]:
    record = new_record(harness.time, **changes)
    await harness.log.create(record)
    finished = await harness.engine.run(record)
    return finished.status, finished.step_index


async def test_a_saga_whose_steps_succeed_applies_each_once_in_order_and_completes() -> None:
    script = Script()
    harness = engine_for(script, script.step("a"), script.step("b"), script.step("c"))
    status, _ = await run(harness)
    assert status is SagaStatus.COMPLETED
    assert script.calls == [
        ("a", "action", "s1:a"),
        ("b", "action", "s1:b"),
        ("c", "action", "s1:c"),
    ]


async def test_a_business_failure_undoes_the_completed_steps_last_first() -> None:
    script = Script(outcomes={("c", "action"): [refused()]})
    harness = engine_for(script, script.step("a"), script.step("b"), script.step("c"))
    status, _ = await run(harness)
    record = await harness.log.get("s1")
    assert status is SagaStatus.COMPENSATED
    assert script.calls[3:] == [
        ("b", "compensation", "s1:b:undo"),
        ("a", "compensation", "s1:a:undo"),
    ]
    assert record is not None
    assert record.failure_code == "FAILED_PRECONDITION"
    assert harness.time.slept == []


async def test_transient_failures_are_retried_with_growing_backoff_then_succeed() -> None:
    script = Script(outcomes={("b", "action"): [unavailable(), unavailable()]})
    harness = engine_for(script, script.step("a"), script.step("b"))
    status, _ = await run(harness)
    assert status is SagaStatus.COMPLETED
    assert [c for c in script.calls if c[0] == "b"] == [("b", "action", "s1:b")] * 3
    assert harness.time.slept == [0.2, 0.4]


async def test_backoff_is_capped_and_jittered_below_the_cap() -> None:
    policy = RetryPolicy(base_delay=1.0, max_delay=5.0)
    assert policy.delay(10, lambda low, high: high) == 5.0
    assert policy.delay(3, lambda low, high: low) == 0.0
    assert policy.delay(3, lambda low, high: (low + high) / 2) == 2.0


async def test_exhausted_retries_compensate_including_the_step_that_may_have_applied() -> None:
    script = Script(outcomes={("b", "action"): [unavailable()] * 3})
    harness = engine_for(script, script.step("a"), script.step("b"), script.step("c"))
    status, _ = await run(harness)
    assert status is SagaStatus.COMPENSATED
    undone = [c[0] for c in script.calls if c[1] == "compensation"]
    assert undone == ["b", "a"]
    assert ("c", "action", "s1:c") not in script.calls


async def test_compensations_are_retried_until_they_succeed() -> None:
    script = Script(
        outcomes={
            ("b", "action"): [refused()],
            ("a", "compensation"): [unavailable(), unavailable(), unavailable()],
        }
    )
    harness = engine_for(script, script.step("a"), script.step("b"))
    status, _ = await run(harness)
    assert status is SagaStatus.COMPENSATED
    assert [c[1] for c in script.calls].count("compensation") == 4


async def test_a_compensation_that_keeps_failing_ends_in_needs_attention() -> None:
    script = Script(
        outcomes={("b", "action"): [refused()], ("a", "compensation"): [unavailable()] * 10}
    )
    harness = engine_for(script, script.step("a"), script.step("b"))
    status, index = await run(harness)
    record = await harness.log.get("s1")
    assert status is SagaStatus.NEEDS_ATTENTION
    assert index == 0  # stuck at undoing a
    assert record is not None
    assert "UNAVAILABLE" in record.last_error


async def test_a_refused_compensation_ends_in_needs_attention_at_once() -> None:
    script = Script(outcomes={("b", "action"): [refused()], ("a", "compensation"): [refused()]})
    harness = engine_for(script, script.step("a"), script.step("b"))
    status, _ = await run(harness)
    assert status is SagaStatus.NEEDS_ATTENTION
    assert [c[1] for c in script.calls].count("compensation") == 1


async def test_the_engine_refuses_to_compensate_past_a_step_that_cannot_be_undone() -> None:
    script = Script(outcomes={("c", "action"): [refused()]})
    steps = (script.step("a"), script.step("pivot", compensable=False), script.step("c"))
    harness = engine_for(script, *steps)
    status, index = await run(harness)
    record = await harness.log.get("s1")
    assert status is SagaStatus.NEEDS_ATTENTION
    assert index == 1
    assert not [c for c in script.calls if c[1] == "compensation"]
    assert record is not None
    assert "pivot cannot be undone" in record.last_error


async def test_a_step_past_the_point_of_no_return_gets_the_longer_retry_budget() -> None:
    script = Script(outcomes={("pivot", "action"): [unavailable()] * 3})
    harness = engine_for(script, script.step("a"), script.step("pivot", compensable=False))
    status, _ = await run(harness)
    assert status is SagaStatus.COMPLETED
    assert len([c for c in script.calls if c[0] == "pivot"]) == 4


async def test_step_outputs_are_kept_in_the_saga_data_for_later_steps() -> None:
    script = Script(outputs={"a": {"goal_id": "g1"}})
    harness = engine_for(script, script.step("a"), script.step("b"))
    await run(harness)
    record = await harness.log.get("s1")
    assert script.seen_data["b/action"] == {"x": 1, "goal_id": "g1"}
    assert record is not None
    assert record.data["goal_id"] == "g1"


async def test_a_saga_resumed_from_its_log_runs_only_the_steps_left() -> None:
    script = Script()
    harness = engine_for(script, script.step("a"), script.step("b"), script.step("c"))
    status, _ = await run(harness, step_index=2)
    assert status is SagaStatus.COMPLETED
    assert script.calls == [("c", "action", "s1:c")]


async def test_a_compensating_saga_resumed_from_its_log_goes_on_undoing() -> None:
    script = Script()
    harness = engine_for(script, script.step("a"), script.step("b"))
    status, _ = await run(harness, status=SagaStatus.COMPENSATING, step_index=0)
    assert status is SagaStatus.COMPENSATED
    assert script.calls == [("a", "compensation", "s1:a:undo")]


async def test_a_resumed_saga_waits_out_its_scheduled_retry() -> None:
    script = Script()
    harness = engine_for(script, script.step("a"))
    time = harness.time
    due = time.now.replace(second=3)
    await run(harness, next_retry_at=due, attempt=1)
    assert time.slept == [3.0]


async def test_every_move_is_logged_with_its_outcome_and_attempt() -> None:
    script = Script(outcomes={("a", "action"): [unavailable()], ("b", "action"): [refused()]})
    harness = engine_for(script, script.step("a"), script.step("b"))
    await run(harness)
    history = [(e.step, e.phase, e.outcome, e.attempt) for e in await harness.log.events("s1")]
    assert history == [
        ("a", "action", "retry_scheduled", 1),
        ("a", "action", "completed", 2),
        ("b", "action", "failed", 1),
        ("a", "compensation", "completed", 1),
    ]


def coordinator_for(script: Script) -> tuple[Coordinator, FakeTime]:
    harness = engine_for(script, script.step("a"), script.step("b"))
    return Coordinator(harness.engine, harness.log, clock=harness.time), harness.time


async def test_starting_a_saga_twice_with_one_id_runs_it_once() -> None:
    script = Script()
    coordinator, _ = coordinator_for(script)
    await coordinator.start("test", "s1", {"x": 1})
    await coordinator.start("test", "s1", {"x": 1})
    finished = await coordinator.wait("s1", 5)
    assert finished.status is SagaStatus.COMPLETED
    assert script.calls == [("a", "action", "s1:a"), ("b", "action", "s1:b")]


async def test_reusing_a_saga_id_for_different_data_is_a_conflict() -> None:
    coordinator, _ = coordinator_for(Script())
    await coordinator.start("test", "s1", {"x": 1})
    with pytest.raises(SagaConflict):
        await coordinator.start("test", "s1", {"x": 2})
    await coordinator.wait("s1", 5)


async def test_recover_resumes_unfinished_sagas_from_the_log() -> None:
    script = Script()
    coordinator, time = coordinator_for(script)
    await coordinator.log.create(new_record(time, "left-mid-way", step_index=1))
    await coordinator.log.create(new_record(time, "done", status=SagaStatus.COMPLETED))
    assert await coordinator.recover() == 1
    finished = await coordinator.wait("left-mid-way", 5)
    assert finished.status is SagaStatus.COMPLETED
    assert script.calls == [("b", "action", "left-mid-way:b")]


async def test_stopping_the_coordinator_leaves_a_waiting_saga_unfinished_in_the_log() -> None:
    script = Script(outcomes={("a", "action"): [unavailable()]})
    harness = engine_for(script, script.step("a"), policy=RetryPolicy(base_delay=60))
    harness.engine.sleep = asyncio.sleep  # a real, long wait that stop() must cut short
    coordinator = Coordinator(harness.engine, harness.log, clock=harness.time)
    await coordinator.start("test", "s1", {"x": 1})
    await asyncio.sleep(0.05)
    await coordinator.stop()
    record = await coordinator.log.get("s1")
    assert record is not None
    assert record.status is SagaStatus.RUNNING
    assert record.attempt == 1
