"""Sending a fleet's samples: its logins, rounds of batches over the users, and --follow."""

from __future__ import annotations

import argparse
import asyncio
import math
import random
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx

from services.common.client.http import Credentials, GatewayError, Session
from services.common.client.retry import Backoff, TokenBucket
from services.common.timeutil import utc_now
from services.watch_logs import simulator
from services.watch_logs.cli.progress import Bar
from services.watch_logs.cli.sender import Faults, Sender, Sleep, Tally

# Past a sample's start by this much before following on, so it lies inside the window.
TICK_SLACK = 0.01
Batches = Iterator[tuple[int, list[dict[str, Any]]]]


@dataclass(frozen=True)
class Run:
    """The checked options of one run: the samples' first range, faults, backoff."""

    start: datetime
    end: datetime
    faults: Faults
    backoff: Backoff


async def login_all(sessions: Sequence[Session], concurrency: int) -> None:
    """Log every session in, a few at a time."""
    gate = asyncio.Semaphore(concurrency)

    async def one(session: Session) -> None:
        async with gate:
            await session.headers()

    await asyncio.gather(*(one(s) for s in sessions))


async def logged_in(
    args: argparse.Namespace,
    client: httpx.AsyncClient,
    fleet: Sequence[Credentials],
    monotonic: Callable[[], float],
) -> list[Session]:
    """A logged-in session per account; a 401 names the accounts file."""
    sessions = [Session(client, account, monotonic) for account in fleet]
    try:
        await login_all(sessions, args.concurrency)
    except GatewayError as error:
        if error.status != 401:
            raise
        hint = f"the accounts in {args.accounts} do not log in at {args.gateway}"
        message = f"{error.message} ({hint}: another --accounts?)"
        raise GatewayError(401, error.code, message) from None
    return sessions


@dataclass
class Fleet:
    """The logged-in users, their simulated watches, and what sends their batches."""

    args: argparse.Namespace
    sessions: list[Session]
    users: list[simulator.SimUser]
    sender: Sender
    bucket: TokenBucket | None
    deadline: float | None
    bar: Bar
    monotonic: Callable[[], float]

    async def send_range(self, start: datetime, end: datetime) -> None:
        """Send the samples of [start, end), up to what --count leaves, in parallel batches."""
        args = self.args
        left = None if args.count is None else args.count - self.sender.tally.entries
        streams = [
            simulator.user_samples(args.seed, u, start, end, args.interval) for u in self.users
        ]
        work = simulator.batches(streams, args.batch_size, left)
        await asyncio.gather(*(self._worker(work) for _ in range(args.concurrency)))

    def done(self) -> bool:
        """Whether --count entries went out."""
        return bool(self.args.count) and self.sender.tally.entries >= self.args.count

    async def _worker(self, work: Batches) -> None:
        for index, entries in _until(work, self.deadline, self.monotonic):
            wait = self.bucket.take(len(entries)) if self.bucket is not None else 0.0
            if wait > 0:
                await self.sender.sleep(wait)
            await self.sender.deliver(self.sessions[index], entries)
            counts = self.sender.tally
            self.bar.advance(
                len(entries),
                accepted=counts.accepted,
                dup=counts.duplicates,
                rejected=counts.rejected,
                retries=counts.retries,
                errors=counts.errors,
            )


async def send_fleet(
    args: argparse.Namespace,
    run: Run,
    client: httpx.AsyncClient,
    accounts: Sequence[Credentials],
    *,
    tally: Tally | None = None,
    sleep: Sleep = asyncio.sleep,
    monotonic: Callable[[], float] = time.monotonic,
    wall: Callable[[], datetime] = utc_now,
) -> Tally:
    """Send the accounts' simulated samples of the run's range (then, with --follow, each
    new sample as its time comes) until done, --count or --duration; the tally."""
    fleet = await _fleet(args, run, client, accounts, tally or Tally(), sleep, monotonic)
    start, end = run.start, run.end
    try:
        while True:
            await fleet.send_range(start, end)
            if not args.follow or fleet.done():
                return fleet.sender.tally
            upto = await _next_samples(end, args.interval, wall, sleep, fleet.deadline, monotonic)
            if upto is None:
                return fleet.sender.tally
            start, end = end, upto
    finally:
        fleet.bar.close()


async def _fleet(
    args: argparse.Namespace,
    run: Run,
    client: httpx.AsyncClient,
    accounts: Sequence[Credentials],
    tally: Tally,
    sleep: Sleep,
    monotonic: Callable[[], float],
) -> Fleet:
    sessions = await logged_in(args, client, accounts, monotonic)
    users = [simulator.make_user(args.seed, s.user_id, args.devices_per_user) for s in sessions]
    sender = Sender(client, run.backoff, run.faults, random.Random(args.seed), sleep, tally)
    rate = args.rate
    bucket = TokenBucket(rate, max(rate, args.batch_size), monotonic) if rate else None
    deadline = monotonic() + args.duration if args.duration else None
    available = len(users) * args.devices_per_user
    available *= simulator.count_samples(run.start, run.end, args.interval)
    known = None if deadline or args.follow else min(args.count or available, available)
    bar = Bar("entries", known, enabled=not args.no_progress)
    return Fleet(args, sessions, users, sender, bucket, deadline, bar, monotonic)


async def _next_samples(
    end: datetime,
    interval: int,
    wall: Callable[[], datetime],
    sleep: Sleep,
    deadline: float | None,
    monotonic: Callable[[], float],
) -> datetime | None:
    """Wait until the first sample time at or after ``end`` has come; the new range's end,
    or None when that would pass the deadline."""
    due = datetime.fromtimestamp(math.ceil(end.timestamp() / interval) * interval, UTC)
    wait = (due - wall()).total_seconds() + TICK_SLACK
    if deadline is not None and monotonic() + wait >= deadline:
        return None
    if wait > 0:
        await sleep(wait)
    return wall()


def _until(work: Batches, deadline: float | None, monotonic: Callable[[], float]) -> Batches:
    """The shared batches, until the deadline (workers take turns on one iterator)."""
    for item in work:
        yield item
        if deadline is not None and monotonic() >= deadline:
            return
