"""``produce``: a simulated fleet of watches posting its samples to the gateway."""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from services.common.timeutil import format_time, parse_time, utc_now
from services.watch_logs import simulator
from services.watch_logs.cli import accounts
from services.watch_logs.cli.http import (
    DEFAULT_GATEWAY,
    Credentials,
    GatewayError,
    Session,
    make_client,
)
from services.watch_logs.cli.progress import Bar
from services.watch_logs.cli.retry import Backoff, TokenBucket
from services.watch_logs.cli.sender import Faults, Sender, Sleep, Tally
from services.watch_logs.validation import MAX_BATCH

# The service refuses samples older than 24 h: the oldest must still be younger on arrival.
MAX_AGE = timedelta(hours=24) - timedelta(minutes=5)


def _share(text: str) -> float:
    value = float(text)
    if not 0 <= value <= 1:
        raise argparse.ArgumentTypeError("must be between 0 and 1")
    return value


def _positive(kind: Callable[[str], Any]) -> Callable[[str], Any]:
    def check(text: str) -> Any:
        value = kind(text)
        if value <= 0:
            raise argparse.ArgumentTypeError("must be positive")
        return value

    return check


def parser() -> argparse.ArgumentParser:
    """The producer's command line."""
    main = argparse.ArgumentParser(
        prog="python -m services.watch_logs.producer_cli",
        description="Simulate users' watches and post their samples to POST /watch-logs.",
    )
    main.add_argument("--gateway", default=DEFAULT_GATEWAY)
    main.add_argument("--users", type=_positive(int), default=5, help="simulated users")
    main.add_argument(
        "--accounts",
        type=Path,
        default=accounts.DEFAULT_ACCOUNTS,
        help="0600 file of the users' accounts: reused, missing ones registered and added",
    )
    main.add_argument("--devices-per-user", type=_positive(int), default=1)
    main.add_argument("--rate", type=float, default=500.0, help="entries/s target; 0: no limit")
    stop = main.add_mutually_exclusive_group()
    stop.add_argument("--duration", type=_positive(float), help="stop sending after S seconds")
    stop.add_argument("--count", type=_positive(int), help="send N entries (default: all)")
    main.add_argument("--batch-size", type=_positive(int), default=100)
    main.add_argument(
        "--hours",
        type=_positive(float),
        default=6.0,
        help="samples of the last H hours (under 24)",
    )
    main.add_argument("--start", help="RFC 3339 start of the samples instead of --hours")
    main.add_argument("--interval", type=_positive(int), default=60, help="seconds per sample")
    main.add_argument("--seed", type=int, default=1)
    main.add_argument("--concurrency", type=_positive(int), default=4, help="batches in flight")
    main.add_argument("--timeout", type=_positive(float), default=10.0, help="seconds per call")
    main.add_argument("--attempts", type=_positive(int), default=6, help="attempts per batch")
    main.add_argument("--fail-rate", type=_share, default=0.0, help="sends dropped on purpose")
    main.add_argument(
        "--lose-reply-rate", type=_share, default=0.0, help="replies thrown away after storing"
    )
    main.add_argument("--delay-rate", type=_share, default=0.0, help="sends delayed on purpose")
    main.add_argument("--delay-ms", type=float, default=0.0, help="a delay is U(0, ms)")
    main.add_argument("--json", action="store_true", help="the summary as JSON on stdout")
    main.add_argument("--no-progress", action="store_true")
    return main


@dataclass(frozen=True)
class Run:
    """The checked options of one run."""

    start: datetime
    end: datetime
    faults: Faults
    backoff: Backoff


def checked_run(args: argparse.Namespace, now: datetime) -> Run:
    """The run the options describe, or ValueError naming what is wrong."""
    if args.batch_size > MAX_BATCH:
        raise ValueError(f"--batch-size is at most {MAX_BATCH}")
    if args.interval > 3600:
        raise ValueError("--interval is at most 3600 seconds")
    if args.rate < 0 or args.delay_ms < 0:
        raise ValueError("--rate and --delay-ms cannot be negative")
    start = parse_time(args.start) if args.start else now - timedelta(hours=args.hours)
    if start < now - MAX_AGE:
        raise ValueError(
            "the service refuses samples older than 24 h: start at most 23 h 55 min back"
        )
    if start >= now:
        raise ValueError("--start must be in the past")
    faults = Faults(args.fail_rate, args.lose_reply_rate, args.delay_rate, args.delay_ms)
    return Run(start, now, faults, Backoff(attempts=args.attempts))


async def login_all(sessions: Sequence[Session], concurrency: int) -> None:
    """Log every session in, a few at a time."""
    gate = asyncio.Semaphore(concurrency)

    async def one(session: Session) -> None:
        async with gate:
            await session.headers()

    await asyncio.gather(*(one(s) for s in sessions))


async def produce(
    args: argparse.Namespace,
    client: httpx.AsyncClient,
    *,
    sleep: Sleep = asyncio.sleep,
    monotonic: Callable[[], float] = time.monotonic,
    now: datetime | None = None,
) -> Tally:
    """Register or reuse the accounts, then send the fleet's samples; the tally."""
    run = checked_run(args, now or utc_now())
    fleet = await accounts.ensure(client, args.accounts, args.users)
    return await send_fleet(args, run, client, fleet, sleep=sleep, monotonic=monotonic)


async def send_fleet(
    args: argparse.Namespace,
    run: Run,
    client: httpx.AsyncClient,
    fleet: Sequence[Credentials],
    *,
    sleep: Sleep = asyncio.sleep,
    monotonic: Callable[[], float] = time.monotonic,
) -> Tally:
    """Log the accounts in and send their simulated watches' samples; the tally."""
    sessions = [Session(client, account, monotonic) for account in fleet]
    try:
        await login_all(sessions, args.concurrency)
    except GatewayError as error:
        if error.status != 401:
            raise
        hint = f"the accounts in {args.accounts} do not log in at {args.gateway}"
        message = f"{error.message} ({hint}: another --accounts?)"
        raise GatewayError(401, error.code, message) from None
    users = [simulator.make_user(args.seed, s.user_id, args.devices_per_user) for s in sessions]
    streams = [
        simulator.user_samples(args.seed, u, run.start, run.end, args.interval) for u in users
    ]
    available = len(users) * args.devices_per_user
    available *= simulator.count_samples(run.start, run.end, args.interval)
    total = min(args.count or available, available)
    sender = Sender(client, run.backoff, run.faults, random.Random(args.seed), sleep)
    work = simulator.batches(streams, args.batch_size, total)
    bucket = (
        TokenBucket(args.rate, max(args.rate, args.batch_size), monotonic) if args.rate else None
    )
    deadline = monotonic() + args.duration if args.duration else None
    bar = Bar("entries", None if deadline else total, enabled=not args.no_progress)

    async def worker() -> None:
        for index, entries in _until(work, deadline, monotonic):
            wait = bucket.take(len(entries)) if bucket is not None else 0.0
            if wait > 0:
                await sleep(wait)
            await sender.deliver(sessions[index], entries)
            tally = sender.tally
            bar.advance(
                len(entries),
                accepted=tally.accepted,
                dup=tally.duplicates,
                rejected=tally.rejected,
                retries=tally.retries,
                errors=tally.errors,
            )

    try:
        await asyncio.gather(*(worker() for _ in range(args.concurrency)))
    finally:
        bar.close()
    return sender.tally


def _until(
    work: Iterator[tuple[int, list[dict[str, Any]]]],
    deadline: float | None,
    monotonic: Callable[[], float],
) -> Iterator[tuple[int, list[dict[str, Any]]]]:
    """The shared batches, until the deadline (workers take turns on one iterator)."""
    for item in work:
        yield item
        if deadline is not None and monotonic() >= deadline:
            return


def summary_line(tally: Tally, seconds: float) -> str:
    """One line a person reads at the end of a run."""
    rate = tally.entries / seconds if seconds > 0 else 0.0
    line = (
        f"sent {tally.entries} entries in {tally.batches} batches, {seconds:.1f} s "
        f"({rate:.0f}/s): accepted {tally.accepted}, duplicates {tally.duplicates}, "
        f"rejected {tally.rejected}, retries {tally.retries}, errors {tally.errors}, "
        f"failed batches {tally.failed_batches}"
    )
    reasons = "; ".join(f"{n} x {reason}" for reason, n in tally.reasons.most_common(3))
    return f"{line}\n  why: {reasons}" if reasons else line


async def run(argv: Sequence[str]) -> int:
    """Carry out one producer run; 0 when every entry was stored (new or duplicate)."""
    args = parser().parse_args(list(argv))
    try:
        checked_run(args, utc_now())
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    began = time.monotonic()
    try:
        async with make_client(args.gateway, args.timeout) as client:
            tally = await produce(args, client)
    except GatewayError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    except httpx.HTTPError as error:
        print(f"error: no answer from {args.gateway}: {error!r}", file=sys.stderr)
        return 1
    seconds = time.monotonic() - began
    print(summary_line(tally, seconds), file=sys.stderr)
    if args.json:
        at = format_time(utc_now())
        print(json.dumps({**tally.summary(), "seconds": round(seconds, 3), "finished_at": at}))
    return 0 if tally.failed_batches == 0 and tally.rejected == 0 else 1
