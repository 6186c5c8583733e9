"""The progress relay's loop over fakes: delivery, retries, backoff, alerts, stopping."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar, cast

import grpc
import pytest
from fitness.user.v1 import user_service_pb2 as user_pb

from services.activity.__main__ import relay_policy
from services.activity.config import ActivitySettings
from services.activity.domain import ProgressEvent, WorkoutSession
from services.activity.relay import DeliveryFailed, DeliveryRefused, ProgressRelay, RelayPolicy
from services.activity.relay_adapters import GrpcProgressSink
from services.common.logs import request_id_var
from services.common.upstream import RpcFailed, UpstreamPool
from services.common.upstream.retry import rule_for
from tests.unit.fakes import FakeProgressOutbox

T = TypeVar("T")
T0 = datetime(2030, 1, 1, 8, 0, tzinfo=UTC)
POLICY = RelayPolicy(batch=10, initial_backoff=0.5, max_backoff=4.0, poll_interval=1.0)


class Clock:
    """Wall-clock time that moves only when the fake sleep sleeps."""

    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now


class Sleeps:
    """asyncio.sleep's stand-in: records each pause, moves the clock, may stop the loop."""

    def __init__(self, clock: Clock, stop_after: int = 1_000) -> None:
        self.clock = clock
        self.pauses: list[float] = []
        self.stop_after = stop_after
        self.stopping = asyncio.Event()

    async def __call__(self, seconds: float) -> None:
        self.pauses.append(seconds)
        self.clock.now += timedelta(seconds=seconds)
        if len(self.pauses) >= self.stop_after:
            self.stopping.set()
        await asyncio.sleep(0)


class Sink:
    """RecordWorkoutProgress as the user service answers it: once per event_id, and a
    repeat answers with the same notifications; ``failures`` raise first."""

    def __init__(self, failures: Sequence[Exception] = (), achieves: bool = True) -> None:
        self.failures = list(failures)
        self.achieves = achieves
        self.counted: dict[str, list[user_pb.Notification]] = {}
        self.calls: list[str] = []
        self.request_ids: list[str] = []

    async def record(self, event: ProgressEvent) -> Sequence[user_pb.Notification]:
        self.calls.append(event.event_id)
        self.request_ids.append(request_id_var.get())
        if self.failures:
            raise self.failures.pop(0)
        if event.event_id not in self.counted:
            note = user_pb.Notification(
                notification_id=f"n-{event.session_id}", user_id=event.user_id, kind="goal_achieved"
            )
            self.counted[event.event_id] = [note] if self.achieves else []
        return self.counted[event.event_id]


class Alerts:
    """Redis PUBLISH's stand-in; ``failures`` raise first."""

    def __init__(self, failures: int = 0) -> None:
        self.failures = failures
        self.published: list[tuple[str, str]] = []

    async def publish(self, note: user_pb.Notification) -> None:
        if self.failures:
            self.failures -= 1
            raise DeliveryFailed("redis: connection refused")
        self.published.append((note.user_id, note.notification_id))


class Hanging:
    """A user service that never answers."""

    async def record(self, event: ProgressEvent) -> Sequence[user_pb.Notification]:
        await asyncio.Event().wait()
        raise AssertionError("unreachable")


async def direct(fn: Callable[..., T], *args: Any) -> T:
    """Run a store call inline: the fakes do no I/O."""
    return fn(*args)


def ended(n: int, user: str = "u1") -> ProgressEvent:
    session = WorkoutSession(
        f"s-{n}", user, "yoga", T0 - timedelta(hours=1), T0, duration=3600.0, calories_burned=150
    )
    return ProgressEvent.of(session)


def relay(
    outbox: FakeProgressOutbox,
    sink: Any,
    alerts: Alerts | None,
    clock: Clock,
    sleeps: Sleeps | None = None,
    policy: RelayPolicy = POLICY,
) -> ProgressRelay:
    return ProgressRelay(
        outbox,
        sink,
        alerts,
        "relay-1",
        policy,
        clock=clock,
        sleep=sleeps or Sleeps(clock),
        run_store=direct,
    )


@pytest.fixture
def outbox() -> FakeProgressOutbox:
    queued = FakeProgressOutbox()
    queued.add(ended(1), T0)
    return queued


async def test_an_event_is_delivered_with_its_stable_request_id_and_alerted_once(
    outbox: FakeProgressOutbox,
) -> None:
    sink, alerts = Sink(), Alerts()
    the_relay = relay(outbox, sink, alerts, Clock())
    assert await the_relay.deliver_due() == 1
    assert await the_relay.deliver_due() == 0
    assert sink.calls == ["progress:s-1"]
    assert alerts.published == [("u1", "n-s-1")]
    assert outbox.pending_progress() == []


async def test_a_failed_delivery_is_due_again_later_with_a_doubling_capped_backoff(
    outbox: FakeProgressOutbox,
) -> None:
    clock = Clock()
    sink = Sink([DeliveryFailed("user service: UNAVAILABLE")] * 5)
    the_relay = relay(outbox, sink, Alerts(), clock)
    waits = []
    for _ in range(5):
        assert await the_relay.deliver_due() == 1
        row = outbox.rows["progress:s-1"]
        waits.append((row.due_at - clock.now).total_seconds())
        assert await the_relay.deliver_due() == 0  # not due yet
        clock.now = row.due_at
    assert waits == [0.5, 1.0, 2.0, 4.0, 4.0]
    assert outbox.rows["progress:s-1"].last_error == "user service: UNAVAILABLE"
    assert await the_relay.deliver_due() == 1
    assert outbox.pending_progress() == []
    assert len(sink.counted) == 1


async def test_a_failed_publish_is_retried_and_the_repeat_publishes_the_same_alert(
    outbox: FakeProgressOutbox,
) -> None:
    clock = Clock()
    sink, alerts = Sink(), Alerts(failures=1)
    the_relay = relay(outbox, sink, alerts, clock)
    await the_relay.deliver_due()
    assert [e.event_id for e in outbox.pending_progress()] == ["progress:s-1"]
    clock.now = outbox.rows["progress:s-1"].due_at
    await the_relay.deliver_due()
    assert sink.calls == ["progress:s-1", "progress:s-1"]
    assert alerts.published == [("u1", "n-s-1")]
    assert outbox.pending_progress() == []


async def test_an_event_the_user_service_refuses_is_settled_not_retried(
    outbox: FakeProgressOutbox,
) -> None:
    sink, alerts = Sink([DeliveryRefused("user service: NOT_FOUND")]), Alerts()
    the_relay = relay(outbox, sink, alerts, Clock())
    await the_relay.deliver_due()
    assert outbox.pending_progress() == []
    assert alerts.published == []


async def test_a_delivery_runs_under_the_request_id_of_the_end_that_queued_it() -> None:
    outbox = FakeProgressOutbox()
    outbox.add(replace(ended(1), trace_id="trace-1"), T0)
    outbox.add(ended(2), T0)
    sink = Sink()
    await relay(outbox, sink, Alerts(), Clock()).deliver_due()
    assert sink.request_ids == ["trace-1", "progress:s-2"]
    assert request_id_var.get() == ""


async def test_without_redis_progress_is_delivered_and_alerts_are_only_listed(
    outbox: FakeProgressOutbox,
) -> None:
    sink = Sink()
    await relay(outbox, sink, None, Clock()).deliver_due()
    assert outbox.pending_progress() == []
    assert list(sink.counted) == ["progress:s-1"]


async def test_a_user_service_that_does_not_answer_costs_one_deadline_and_a_retry(
    outbox: FakeProgressOutbox,
) -> None:
    policy = RelayPolicy(call_timeout=0.01)
    the_relay = relay(outbox, Hanging(), Alerts(), Clock(), policy=policy)
    await the_relay.deliver_due()
    row = outbox.rows["progress:s-1"]
    assert (row.event.attempts, row.lease_owner, row.last_error) == (1, None, "TimeoutError")


async def test_an_event_leased_to_another_relay_is_left_alone_until_the_lease_runs_out(
    outbox: FakeProgressOutbox,
) -> None:
    clock = Clock()
    assert outbox.claim_progress("relay-2", clock.now, POLICY.lease, 10) == [ended(1)]
    sink = Sink()
    the_relay = relay(outbox, sink, Alerts(), clock)
    assert await the_relay.deliver_due() == 0
    clock.now += POLICY.lease + timedelta(seconds=1)  # relay-2 died holding it
    assert await the_relay.deliver_due() == 1
    assert sink.calls == ["progress:s-1"]


class BrokenOutbox(FakeProgressOutbox):
    """An outbox whose store is down for the first ``failures`` claims."""

    def __init__(self, failures: int) -> None:
        super().__init__()
        self.failures = failures

    def claim_progress(
        self, owner: str, now: datetime, lease: timedelta, limit: int
    ) -> list[ProgressEvent]:
        if self.failures:
            self.failures -= 1
            raise ConnectionError("database is down")
        return super().claim_progress(owner, now, lease, limit)


async def test_the_loop_backs_off_while_the_store_is_down_then_delivers_and_polls() -> None:
    clock = Clock()
    outbox = BrokenOutbox(failures=4)
    outbox.add(ended(1), T0)
    sleeps = Sleeps(clock, stop_after=6)
    sink = Sink()
    await relay(outbox, sink, Alerts(), clock, sleeps).run_until(sleeps.stopping)
    assert sleeps.pauses == [0.5, 1.0, 2.0, 4.0, 1.0, 1.0]
    assert sink.calls == ["progress:s-1"]
    assert outbox.pending_progress() == []


async def test_waking_the_relay_delivers_a_new_event_before_the_poll_interval() -> None:
    clock = Clock()
    outbox = FakeProgressOutbox()
    stopping = asyncio.Event()
    sink = Sink()

    async def never(seconds: float) -> None:
        await asyncio.Event().wait()

    the_relay = ProgressRelay(
        outbox, sink, Alerts(), "relay-1", POLICY, clock=clock, sleep=never, run_store=direct
    )
    running = asyncio.create_task(the_relay.run_until(stopping))
    await asyncio.sleep(0)
    outbox.add(ended(2), T0)
    the_relay.wake()
    while not sink.calls:  # noqa: ASYNC110 - the fake sleep never ends: only the wake can
        await asyncio.sleep(0)
    stopping.set()
    await running
    assert sink.calls == ["progress:s-2"]


class FailingPool:
    """The upstream pool as it fails: every call ends with one status."""

    def __init__(self, code: grpc.StatusCode) -> None:
        self.code = code

    async def call(self, rpc: object, request: object, within: float | None = None) -> Any:
        raise RpcFailed("fitness.user.v1.UserService", self.code, "as told")


NEVER_SUCCEED = {grpc.StatusCode.NOT_FOUND, grpc.StatusCode.INVALID_ARGUMENT}


def test_only_not_found_and_invalid_argument_are_statuses_no_repeat_can_change() -> None:
    codes = [code for code in grpc.StatusCode if code is not grpc.StatusCode.OK]
    assert {code for code in codes if rule_for(code).never_succeeds} == NEVER_SUCCEED


@pytest.mark.parametrize("code", [c for c in grpc.StatusCode if c is not grpc.StatusCode.OK])
async def test_the_sink_settles_what_the_failure_table_says_never_succeeds_and_retries_the_rest(
    code: grpc.StatusCode,
) -> None:
    sink = GrpcProgressSink(cast(UpstreamPool, FailingPool(code)))
    expected = DeliveryRefused if code in NEVER_SUCCEED else DeliveryFailed
    with pytest.raises(expected, match=f"user service: {code.name}: as told"):
        await sink.record(ended(1))


class Poisoned(Sink):
    """A sink with a bug that only one event triggers."""

    def __init__(self, poison: str) -> None:
        super().__init__()
        self.poison = poison

    async def record(self, event: ProgressEvent) -> Sequence[user_pb.Notification]:
        if event.event_id == self.poison:
            self.calls.append(event.event_id)
            raise ValueError("cannot encode this one")
        return await super().record(event)


async def test_an_event_that_crashes_its_delivery_is_backed_off_and_does_not_starve_the_rest(
    caplog: pytest.LogCaptureFixture,
) -> None:
    clock, outbox = Clock(), FakeProgressOutbox()
    for n in (1, 2, 3):
        outbox.add(ended(n), T0)
    sink = Poisoned("progress:s-1")  # the oldest: first in every batch
    the_relay = relay(outbox, sink, Alerts(), clock, policy=replace(POLICY, batch=2))
    assert await the_relay.deliver_due() == 2
    assert await the_relay.deliver_due() == 1  # s-1 backs off, so s-3 comes next
    assert list(sink.counted) == ["progress:s-2", "progress:s-3"]
    row = outbox.rows["progress:s-1"]
    assert (row.event.attempts, row.lease_owner) == (1, None)
    assert row.last_error == "unexpected: ValueError('cannot encode this one')"
    assert row.due_at == T0 + timedelta(seconds=0.5)
    [crash] = [r for r in caplog.records if r.getMessage() == "progress delivery crashed"]
    assert crash.levelname == "ERROR"
    assert crash.exc_info is not None
    assert crash.__dict__["event_id"] == "progress:s-1"


class Slow(Sink):
    """A user service that answers, but each call takes ``seconds`` of the clock's time."""

    def __init__(self, clock: Clock, seconds: float) -> None:
        super().__init__()
        self.clock = clock
        self.seconds = seconds

    async def record(self, event: ProgressEvent) -> Sequence[user_pb.Notification]:
        self.clock.now += timedelta(seconds=self.seconds)
        return await super().record(event)


async def test_a_batch_stops_before_its_lease_can_run_out_and_no_other_relay_takes_the_rest() -> (
    None
):
    clock, outbox = Clock(), FakeProgressOutbox()
    for n in range(1, 6):
        outbox.add(ended(n), T0)
    policy = replace(POLICY, lease=timedelta(seconds=30), call_timeout=2.0)  # guard: 4 s
    sink = Slow(clock, 10.0)  # events start at +0, +10, +20; +30 is past +26
    assert await relay(outbox, sink, Alerts(), clock, policy=policy).deliver_due() == 5
    assert sink.calls == ["progress:s-1", "progress:s-2", "progress:s-3"]
    left = [outbox.rows[f"progress:s-{n}"] for n in (4, 5)]
    assert [(r.lease_owner, r.event.attempts) for r in left] == [("relay-1", 0)] * 2
    assert outbox.claim_progress("relay-2", T0 + policy.lease, policy.lease, 10) == []
    later = T0 + policy.lease + timedelta(seconds=1)
    assert outbox.claim_progress("relay-2", later, policy.lease, 10) == [ended(4), ended(5)]


async def test_even_a_lease_shorter_than_one_event_delivers_the_first_event_of_each_batch() -> None:
    clock, outbox = Clock(), FakeProgressOutbox()
    outbox.add(ended(1), T0)
    outbox.add(ended(2), T0)
    policy = replace(POLICY, lease=timedelta(seconds=1), call_timeout=2.0)
    sink = Sink()
    the_relay = relay(outbox, sink, Alerts(), clock, policy=policy)
    assert await the_relay.deliver_due() == 2
    assert sink.calls == ["progress:s-1"]


class CountingOutbox(FakeProgressOutbox):
    """The fake outbox, recording each prune it is asked for; ``broken``: prunes fail."""

    def __init__(self, broken: bool = False) -> None:
        super().__init__()
        self.broken = broken
        self.prunes: list[tuple[datetime, int]] = []

    def prune_delivered(self, before: datetime, limit: int) -> int:
        self.prunes.append((before, limit))
        if self.broken:
            raise ConnectionError("database is down")
        return super().prune_delivered(before, limit)


def delivered(outbox: FakeProgressOutbox, n: int, at: datetime) -> None:
    outbox.add(ended(n), at)
    outbox.progress_delivered(f"progress:s-{n}", at)


async def test_the_loop_prunes_old_delivered_events_in_bounded_batches_now_and_then() -> None:
    clock, outbox = Clock(), CountingOutbox()
    for n in (1, 2, 3):
        delivered(outbox, n, T0 - timedelta(days=8))
    delivered(outbox, 4, T0 - timedelta(days=6))
    outbox.add(ended(5), T0)
    policy = replace(POLICY, retention=timedelta(days=7), prune_batch=2, prune_interval=60.0)
    sleeps = Sleeps(clock, stop_after=3)
    await relay(outbox, Sink(), Alerts(), clock, sleeps, policy).run_until(sleeps.stopping)
    week_ago = T0 - timedelta(days=7)
    # A full batch: again on the next pass; then not before the interval is up.
    assert outbox.prunes == [(week_ago, 2), (week_ago + timedelta(seconds=1), 2)]
    assert sorted(outbox.rows) == ["progress:s-4", "progress:s-5"]
    assert outbox.pending_progress() == []


async def test_a_zero_retention_keeps_delivered_events() -> None:
    clock, outbox = Clock(), CountingOutbox()
    delivered(outbox, 1, T0 - timedelta(days=365))
    sleeps = Sleeps(clock, stop_after=2)
    policy = replace(POLICY, retention=timedelta(0))
    await relay(outbox, Sink(), Alerts(), clock, sleeps, policy).run_until(sleeps.stopping)
    assert outbox.prunes == []
    assert list(outbox.rows) == ["progress:s-1"]


async def test_a_failing_prune_neither_stops_delivery_nor_is_retried_before_the_interval() -> None:
    clock, outbox = Clock(), CountingOutbox(broken=True)
    sleeps = Sleeps(clock, stop_after=3)
    sink = Sink()
    outbox.add(ended(1), T0)
    the_relay = relay(outbox, sink, Alerts(), clock, sleeps, replace(POLICY, prune_interval=60.0))
    await the_relay.run_until(sleeps.stopping)
    assert sink.calls == ["progress:s-1"]
    assert len(outbox.prunes) == 1


@pytest.mark.parametrize(
    ("seconds", "kept"), [(7 * 24 * 3600.0, timedelta(days=7)), (0.0, timedelta(0))]
)
def test_the_outbox_retention_setting_becomes_the_relays_retention(
    seconds: float, kept: timedelta
) -> None:
    assert relay_policy(ActivitySettings(outbox_retention=seconds)).retention == kept
    assert ActivitySettings.model_fields["outbox_retention"].default == 7 * 24 * 3600.0
