"""``produce``: a simulated fleet of watches posting its samples to the gateway."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from services.common.client.http import (
    DEFAULT_GATEWAY,
    GatewayError,
    make_client,
)
from services.common.client.retry import Backoff
from services.common.timeutil import format_time, parse_time, utc_now
from services.watch_logs.cli import accounts
from services.watch_logs.cli.fleet import Run, send_fleet
from services.watch_logs.cli.sender import Faults, Sleep, Tally
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
    main.add_argument(
        "--follow", action="store_true", help="then keep sending each new sample as it comes"
    )
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


async def produce(
    args: argparse.Namespace,
    client: httpx.AsyncClient,
    *,
    sleep: Sleep = asyncio.sleep,
    monotonic: Callable[[], float] = time.monotonic,
    now: datetime | None = None,
    tally: Tally | None = None,
) -> Tally:
    """Register or reuse the accounts, then send the fleet's samples; the tally."""
    run = checked_run(args, now or utc_now())
    fleet = await accounts.ensure(client, args.accounts, args.users)
    return await send_fleet(args, run, client, fleet, tally=tally, sleep=sleep, monotonic=monotonic)


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
    began, tally = time.monotonic(), Tally()
    try:
        async with make_client(args.gateway, args.timeout) as client:
            await produce(args, client, tally=tally)
    except asyncio.CancelledError:  # Ctrl-C: what was done so far, then stop
        print(summary_line(tally, time.monotonic() - began), file=sys.stderr)
        raise
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
