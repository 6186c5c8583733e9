"""``python -m services.motion.replay FILE...``: send recordings as a phone, print what was seen.

Each file becomes one session of one device, sent in real time (``--speed 1``), faster,
or all at once (``--speed 0``, its timestamps ending now). Then the device's timeline,
distribution and current activity are printed once the processor has closed its windows.
The password comes from ``FITNESS_PASSWORD`` or a prompt, never from the command line.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import secrets
import sys
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx

from services.common.client.http import (
    DEFAULT_GATEWAY,
    Credentials,
    GatewayError,
    Session,
    checked,
    make_client,
    password_of,
    unreachable,
)
from services.common.client.retry import Backoff
from services.motion.replay import recording

RETRIED = {0, 429, 502, 503, 504}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(prog="python -m services.motion.replay", description=__doc__)
    parser.add_argument("files", nargs="+", type=Path, help="CSV recordings (x,y,z or t_ms,x,y,z)")
    parser.add_argument("--gateway", default=DEFAULT_GATEWAY)
    parser.add_argument("--email", required=True, help="The account that owns the device")
    parser.add_argument("--units", choices=sorted(recording.UNITS), default="ms2")
    parser.add_argument("--rate-hz", type=float, default=26.0, help="Rate of 3-column files")
    parser.add_argument("--per-message", type=int, default=25, help="Readings per message")
    parser.add_argument("--speed", type=float, default=0.0, help="1: real time; 0: all at once")
    parser.add_argument("--device-id", default="replay-phone", help="With several files: -1, -2...")
    parser.add_argument("--wait", type=float, default=20.0, help="Seconds to await the windows")
    parser.add_argument("--json", action="store_true", help="Print one JSON document")
    return parser.parse_args(argv)


async def send(client: httpx.AsyncClient, session: Session, body: dict[str, Any]) -> Any:
    """POST one message, retrying what a retry can fix (the message id makes it safe)."""
    backoff, rng = Backoff(), random.Random()
    for attempt in range(backoff.attempts):
        try:
            return checked(
                await client.post("/sensor-data", json=body, headers=await session.headers())
            )
        except httpx.HTTPError as error:
            failure = unreachable(str(client.base_url), error)
        except GatewayError as error:
            failure = error
        if failure.status not in RETRIED or attempt + 1 == backoff.attempts:
            raise failure
        await asyncio.sleep(backoff.delay(attempt, rng, failure.retry_after))
    raise AssertionError("unreachable")  # pragma: no cover


async def replay_file(
    client: httpx.AsyncClient, session: Session, path: Path, device: str, args: argparse.Namespace
) -> dict[str, Any]:
    """Send one recording as one session; the range of event time it covers."""
    samples = recording.read(path, args.units, args.rate_hz)
    if not samples:
        raise GatewayError(0, "EMPTY", f"{path} holds no samples")
    duration_ms = samples[-1].offset_ms
    now_ms = int(time.time() * 1000)
    start_ms = now_ms - duration_ms if args.speed == 0 else now_ms
    session_id = f"replay-{secrets.token_hex(6)}"
    began = time.monotonic()
    accepted = 0
    bodies = recording.messages(samples, start_ms, args.per_message, device, session_id)
    for body in bodies:
        if args.speed > 0:
            delay = recording.due_at(body, start_ms) / args.speed - (time.monotonic() - began)
            await asyncio.sleep(max(0.0, delay))
        accepted += int((await send(client, session, body))["accepted"])
    return {
        "file": str(path),
        "device_id": device,
        "session_id": session_id,
        "readings": accepted,
        "from_ms": start_ms,
        "to_ms": start_ms + duration_ms + 1,
    }


def rfc3339(ms: int) -> str:
    """An event time for a query string."""
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ms / 1000)) + f".{ms % 1000:03d}Z"


async def outcome(
    client: httpx.AsyncClient, session: Session, device: str, span: tuple[int, int], wait: float
) -> dict[str, Any]:
    """The device's timeline over ``span`` once it reaches the span's end (or ``wait`` ends)."""
    params = {"from": rfc3339(span[0]), "to": rfc3339(span[1])}
    base = f"/devices/{device}/activity"
    deadline = time.monotonic() + wait
    while True:
        headers = await session.headers()
        timeline = checked(await client.get(f"{base}/timeline", params=params, headers=headers))
        segments = timeline["segments"]
        if reached(segments, span[1] - 50) or time.monotonic() > deadline:
            break
        await asyncio.sleep(0.5)
    distribution = checked(await client.get(f"{base}/distribution", params=params, headers=headers))
    current = checked(await client.get(base, headers=headers))
    return {"segments": segments, "distribution": distribution, "current": current}


def reached(segments: list[dict[str, Any]], end_ms: int) -> bool:
    """Whether the timeline runs up to ``end_ms``: the processor closed the last windows
    (after the idle timeout: the replay has stopped sending)."""
    if not segments:
        return False
    end = datetime.fromisoformat(str(segments[-1]["end"]).replace("Z", "+00:00"))
    return end.timestamp() * 1000 >= end_ms


def show(report: dict[str, Any]) -> None:
    """The outcome as a few readable lines."""
    print(
        f"{report['file']}: {report['readings']} readings sent by {report['device_id']}"
        f" as session {report['session_id']}"
    )
    for segment in report["segments"]:
        print(
            f"  {segment['start']} .. {segment['end']}  {segment['activity']:<10} "
            f"confidence {segment['confidence']:.2f}"
        )
    seconds = report["distribution"]["seconds"]
    print("  seconds: " + ", ".join(f"{name} {value:.1f}" for name, value in seconds.items()))
    now = report["current"]
    print(f"  now: {now['activity']} (confidence {now['confidence']:.2f}) since {now['since']}")


async def run(args: argparse.Namespace, password: str) -> list[dict[str, Any]]:
    """Replay every file in turn; one report per file."""
    reports = []
    async with make_client(args.gateway, 10.0) as client:
        session = Session(client, Credentials(args.email, password))
        for n, path in enumerate(args.files, start=1):
            # One phone per file: recordings replayed "ending now" overlap in time.
            device = args.device_id if len(args.files) == 1 else f"{args.device_id}-{n}"
            sent = await replay_file(client, session, path, device, args)
            span = (sent["from_ms"], sent["to_ms"])
            reports.append(sent | await outcome(client, session, device, span, args.wait))
    return reports


def main(argv: list[str] | None = None) -> int:
    """Run the replay; exit 1 with the gateway's message when it refuses."""
    args = parse_args(argv)
    try:
        reports = asyncio.run(run(args, password_of(args.email)))
    except (GatewayError, OSError, ValueError) as error:
        print(f"replay failed: {error}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps(reports, indent=1))
    else:
        for report in reports:
            show(report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
