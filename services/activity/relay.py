"""The progress relay: drains the outbox into the user service, then pushes the alerts.

Every ended workout leaves a ProgressEvent in the activity store (same transaction as the
end). The relay leases due events, sends each to RecordWorkoutProgress with the event's
stable request_id until it lands, publishes the goal-achieved alerts the reply carries,
and only then marks the event delivered. A crash anywhere in between leaves the event
due again once its lease runs out; the user service counts a request_id once and
answers a repeat with the same notifications, so a retry publishes what was missed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol, TypeVar

from fitness.user.v1 import user_service_pb2 as user_pb

from services.activity.domain import ProgressEvent
from services.activity.repository import ProgressOutbox
from services.common.logs import request_id_var
from services.common.timeutil import Clock, utc_now

log = logging.getLogger(__name__)
T = TypeVar("T")
Sleep = Callable[[float], Awaitable[None]]


class DeliveryFailed(Exception):
    """The event did not land this time (user service or Redis unreachable, a timeout)."""


class DeliveryRefused(Exception):
    """The user service will never take this event (its user is gone, or it is malformed)."""


class ProgressSink(Protocol):
    """Port: the user service's RecordWorkoutProgress."""

    async def record(self, event: ProgressEvent) -> Sequence[user_pb.Notification]:
        """Count the event (once per event_id); return the notifications it created.

        A repeat returns the same notifications. Raises DeliveryFailed or DeliveryRefused.
        """
        ...


class AlertPublisher(Protocol):
    """Port: where the gateways listen for a user's alerts (Redis pub/sub)."""

    async def publish(self, note: user_pb.Notification) -> None:
        """Publish one notification to its user's channel; DeliveryFailed if that failed."""
        ...


@dataclass(frozen=True)
class RelayPolicy:
    """How much the relay takes at once, how long it may hold it, how it backs off."""

    batch: int = 20
    lease: timedelta = timedelta(seconds=30)
    poll_interval: float = 1.0
    initial_backoff: float = 0.5
    max_backoff: float = 30.0
    call_timeout: float = 2.0  # each RecordWorkoutProgress call and each publish
    store_timeout: float = 10.0  # each outbox read or write
    # Delivered events older than this are deleted (zero keeps them): they are kept a
    # while only for operators to look at.
    retention: timedelta = timedelta(days=7)
    prune_interval: float = 600.0  # seconds between prunes while nothing more is due
    prune_batch: int = 1000  # rows per prune: one short delete, never a long lock

    def backoff(self, failures: int) -> float:
        """Seconds to wait after ``failures`` failures in a row: doubling, then capped."""
        return min(self.max_backoff, self.initial_backoff * 2.0 ** max(0, failures - 1))

    @property
    def event_guard(self) -> timedelta:
        """How long one event may take at worst: its call and a publish, each at its deadline.

        No event of a batch is started later than this before the lease runs out, so
        another relay never re-claims an event this one is still delivering (the mark
        is one quick write; its store_timeout guards against outages, not normal latency).
        """
        return timedelta(seconds=2 * self.call_timeout)


async def in_thread(fn: Callable[..., T], *args: Any) -> T:
    """Run a blocking store call off the event loop."""
    return await asyncio.to_thread(fn, *args)


class ProgressRelay:
    """The loop that delivers the outbox; one per activity-service process."""

    def __init__(
        self,
        outbox: ProgressOutbox,
        sink: ProgressSink,
        alerts: AlertPublisher | None,
        owner: str,
        policy: RelayPolicy | None = None,
        *,
        clock: Clock = utc_now,
        sleep: Sleep = asyncio.sleep,
        run_store: Callable[..., Awaitable[Any]] = in_thread,
    ) -> None:
        self.outbox = outbox
        self.sink = sink
        self.alerts = alerts  # None: alerts are only listed (GET /users/{id}/notifications)
        self.owner = owner
        self.policy = policy or RelayPolicy()
        self.clock = clock
        self.sleep = sleep
        self.run_store = run_store
        self._wake = asyncio.Event()
        self._next_prune: datetime | None = None  # None: at the first pass

    def wake(self) -> None:
        """Look at the outbox now: a session just ended here (call on the event loop)."""
        self._wake.set()

    async def run_until(self, stopping: asyncio.Event) -> None:
        """Deliver due events until ``stopping`` is set; a failing store only slows it down."""
        failures = 0
        while not stopping.is_set():
            self._wake.clear()  # before claiming: a wake during the batch is not lost
            try:
                delivered = await self.deliver_due()
                failures = 0
            except Exception as error:  # the store is down: keep the loop alive, back off
                failures += 1
                log.warning("progress outbox unavailable", extra={"error": repr(error)})
                await self._pause(stopping, self.policy.backoff(failures))
                continue
            await self._prune_if_due()
            if delivered < self.policy.batch:
                await self._pause(stopping, self.policy.poll_interval)

    async def deliver_due(self) -> int:
        """Lease one batch of due events and try each once; return how many were leased.

        The batch stops where its lease could run out mid-event (a slow user service): the
        rest stay leased to this relay until the lease expires, then are due again, rather
        than being re-claimed by another relay while this one still delivers them.
        """
        policy = self.policy
        claimed_at = self.clock()
        events: list[ProgressEvent] = await self._store(
            self.outbox.claim_progress, self.owner, claimed_at, policy.lease, policy.batch
        )
        last_start = claimed_at + policy.lease - policy.event_guard
        for done, event in enumerate(events):
            # The first event always goes: the lease was just taken for it.
            if done and self.clock() >= last_start:
                log.warning(
                    "progress batch out of lease time, rest left to the lease",
                    extra={"left": len(events) - done, "event_id": event.event_id},
                )
                break
            await self.deliver(event)
        return len(events)

    async def prune(self) -> int:
        """Delete one bounded batch of events delivered longer than the retention ago."""
        before = self.clock() - self.policy.retention
        pruned: int = await self._store(
            self.outbox.prune_delivered, before, self.policy.prune_batch
        )
        return pruned

    async def _prune_if_due(self) -> None:
        """Prune now and then; a full batch means more are waiting, so again next pass."""
        policy = self.policy
        if not policy.retention or (self._next_prune and self.clock() < self._next_prune):
            return
        try:
            pruned = await self.prune()
        except Exception as error:  # only housekeeping: delivery goes on, retried later
            log.warning("progress outbox prune failed", extra={"error": repr(error)})
            pruned = 0
        if pruned:
            log.info("progress outbox pruned", extra={"deleted": pruned})
        if pruned < policy.prune_batch:
            self._next_prune = self.clock() + timedelta(seconds=policy.prune_interval)

    async def deliver(self, event: ProgressEvent) -> None:
        """Send one leased event and publish its alerts; on failure make it due later.

        Logged, and sent downstream, under the request id of the end that queued it.
        """
        token = request_id_var.set(event.trace_id or event.event_id)
        try:
            await self._deliver(event)
        finally:
            request_id_var.reset(token)

    async def _deliver(self, event: ProgressEvent) -> None:
        try:
            await self._send(event)
        except DeliveryRefused as error:
            # Retrying cannot help (e.g. the account was deleted meanwhile): settle it.
            log.error(
                "progress refused, dropped",
                extra={"event_id": event.event_id, "error": str(error)},
            )
        except (DeliveryFailed, TimeoutError) as error:
            log.warning(
                "progress not delivered yet",
                extra={"event_id": event.event_id, "attempts": event.attempts + 1},
            )
            await self._retry_later(event, str(error) or type(error).__name__)
            return
        except Exception as error:
            # A bug or an unforeseen failure with this one event: count the attempt and
            # back it off, so it cannot come first in every batch and starve the others.
            log.exception("progress delivery crashed", extra={"event_id": event.event_id})
            await self._retry_later(event, f"unexpected: {error!r}")
            return
        await self._store(self.outbox.progress_delivered, event.event_id, self.clock())

    async def _send(self, event: ProgressEvent) -> None:
        """RecordWorkoutProgress, then publish the alerts it returns, each within a deadline."""
        timeout = self.policy.call_timeout
        async with asyncio.timeout(timeout):
            notes = await self.sink.record(event)
        if self.alerts is not None:
            for note in notes:
                async with asyncio.timeout(timeout):
                    await self.alerts.publish(note)

    async def _retry_later(self, event: ProgressEvent, reason: str) -> None:
        due = self.clock() + timedelta(seconds=self.policy.backoff(event.attempts + 1))
        await self._store(self.outbox.retry_progress, event.event_id, self.owner, due, reason)

    async def _store(self, fn: Callable[..., T], *args: Any) -> T:
        async with asyncio.timeout(self.policy.store_timeout):
            result: T = await self.run_store(fn, *args)
        return result

    async def _pause(self, stopping: asyncio.Event, seconds: float) -> None:
        """Sleep, ending early when woken or stopped."""
        waits = [
            asyncio.ensure_future(self.sleep(seconds)),
            asyncio.ensure_future(self._wake.wait()),
            asyncio.ensure_future(stopping.wait()),
        ]
        try:
            await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for waiting in waits:
                waiting.cancel()
            for waiting in waits:
                with contextlib.suppress(asyncio.CancelledError):
                    await waiting
