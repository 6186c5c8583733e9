"""Replay labelled recordings through the real path and compare the API's answers with labels.

POST /sensor-data (as phones: a fresh device and one session per recording, its
timestamps shifted to end now, ``per_message`` readings a message, a few devices in
parallel, as fast as the gateway takes them) -> raw stream -> processor -> the motion
service, on the launcher's platform (bench.platform.running_platform). Once a device's
timeline reaches its last reading (the processor closed its last windows on the idle
timeout), its timeline and records are read, every page, and scored (replay_score).
Run by ``python -m bench.motion_eval --replay`` (or ``--replay-only``).
"""

from __future__ import annotations

import asyncio
import secrets
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import httpx

from bench.motion_eval.recordings import Recording
from bench.motion_eval.replay_score import (
    Answer,
    Tally,
    merged,
    seconds_accuracy,
    seconds_table,
    window_score,
)
from bench.motion_eval.report import confusion_table, table
from bench.motion_eval.sessions import Labelled
from bench.platform import running_platform
from services.common.client.http import Credentials, Session, checked, make_client
from services.motion.domain import Activity
from services.motion.replay import recording as phone
from services.motion.replay.__main__ import rfc3339, send

DEVICES_PER_USER = 10  # MOTION_MAX_DEVICES_PER_USER's default
PASSWORD = "replay-password"
WINDOW_MS = 5000  # the processor's default window: records end up to this after the data
PAGE_SIZE = "100"  # the routes' default: a long session's records take several pages
PLATFORM_ENV = {"GATEWAY_MOTION_MAX_READINGS_PER_WINDOW": "1000000000"}


@dataclass(frozen=True)
class Sent:
    """A session as posted: its device, how far its timestamps were shifted, its messages."""

    device: str
    labelled: Labelled
    shift_ms: int
    messages: int


@dataclass(frozen=True)
class Outcome:
    """One replay run: the tally and how long sending and settling took."""

    tally: Tally
    readings: int
    messages: int
    send_seconds: float
    total_seconds: float


class Owners:
    """Accounts that own the replay's devices, ten devices each, registered on demand."""

    def __init__(self, client: httpx.AsyncClient) -> None:
        self.client = client
        self.prefix = f"replay-{secrets.token_hex(3)}"
        self.sessions: list[Session] = []
        self.devices = 0

    async def next_device(self) -> tuple[Session, str]:
        """A fresh device id and the account that will own it."""
        if self.devices % DEVICES_PER_USER == 0:
            self.sessions.append(await self._register(len(self.sessions)))
        self.devices += 1
        return self.sessions[-1], f"{self.prefix}-phone-{self.devices}"

    async def _register(self, n: int) -> Session:
        """A new account, logged in."""
        name = f"{self.prefix}-{n}"
        body = {"username": name, "email": f"{name}@example.com", "password": PASSWORD}
        checked(await self.client.post("/users/register", json=body))
        session = Session(self.client, Credentials(body["email"], PASSWORD))
        await session.login()
        return session


def samples(rec: Recording) -> list[phone.Sample]:
    """The recording's readings as offsets from its first one (m/s²)."""
    t0 = int(rec.timestamps_ms[0])
    return [
        phone.Sample(int(t) - t0, *row)
        for t, row in zip(rec.timestamps_ms.tolist(), rec.xyz.tolist(), strict=True)
    ]


async def post(
    client: httpx.AsyncClient, owner: Session, device: str, labelled: Labelled, per_message: int
) -> Sent:
    """Send a recording as one session whose last reading is now."""
    first, end = labelled.span
    start_ms = int(time.time() * 1000) - (end - first)
    session_id = f"s-{secrets.token_hex(4)}"
    bodies = phone.messages(samples(labelled.recording), start_ms, per_message, device, session_id)
    count = 0
    for body in bodies:
        await send(client, owner, body)
        count += 1
    return Sent(device, labelled, start_ms - first, count)


async def pages(
    client: httpx.AsyncClient, owner: Session, path: str, params: dict[str, str], key: str
) -> list[dict[str, Any]]:
    """Every item of a paginated read."""
    items: list[dict[str, Any]] = []
    token = ""
    while True:
        query = {**params, "page_size": PAGE_SIZE} | ({"page_token": token} if token else {})
        page = checked(await client.get(path, params=query, headers=await owner.headers()))
        items += page[key]
        token = page["next_page_token"]
        if not token:
            return items


def ms_of(value: str) -> int:
    """Milliseconds since the epoch of an RFC 3339 time."""
    return round(datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp() * 1000)


def answers(items: list[dict[str, Any]], shift_ms: int, start: str, end: str) -> list[Answer]:
    """Segments or records in the recording's own time."""
    return [
        Answer(ms_of(i[start]) - shift_ms, ms_of(i[end]) - shift_ms, Activity(i["activity"]))
        for i in items
    ]


async def settled(
    client: httpx.AsyncClient, owner: Session, sent: Sent, wait: float
) -> tuple[list[Answer], list[Answer]]:
    """The timeline once it reaches the last reading (or ``wait`` s passed), and the records."""
    first, end = (t + sent.shift_ms for t in sent.labelled.span)
    base = f"/devices/{sent.device}/activity"
    span = {"from": rfc3339(first), "to": rfc3339(end + WINDOW_MS)}
    deadline = time.monotonic() + wait
    while True:
        segments = await pages(client, owner, f"{base}/timeline", span, "segments")
        if (segments and ms_of(segments[-1]["end"]) >= end) or time.monotonic() > deadline:
            break
        await asyncio.sleep(1.0)
    records = await pages(client, owner, f"{base}/records", span, "records")
    starts = [ms_of(r["timestamp"]) for r in records]
    if starts != sorted(set(starts)):  # pages that repeat or reorder windows
        raise RuntimeError(f"{sent.device}: records not one per window in order")
    return (
        answers(segments, sent.shift_ms, "start", "end"),
        answers(records, sent.shift_ms, "timestamp", "window_end"),
    )


async def replay(
    gateway: str, sessions: list[Labelled], parallel: int, per_message: int, wait: float
) -> Outcome:
    """Post every session (``parallel`` devices at a time), then score what the API says."""
    limits = httpx.Limits(max_connections=parallel * 2)
    async with make_client(gateway, 30.0, limits=limits) as client:
        owners = Owners(client)
        gate = asyncio.Semaphore(parallel)
        began = time.monotonic()
        sent_at: list[float] = []
        tally = Tally()

        async def one(labelled: Labelled, owner: Session, device: str) -> int:
            async with gate:
                sent = await post(client, owner, device, labelled, per_message)
            sent_at.append(time.monotonic())
            segments, windows = await settled(client, owner, sent, wait)
            tally.add(labelled, segments, windows)
            return sent.messages

        # Devices (and their owners, ten devices each) come first, one after another.
        devices = [await owners.next_device() for _ in sessions]
        tasks = [one(s, *d) for s, d in zip(sessions, devices, strict=True)]
        messages = sum(await asyncio.gather(*tasks))
    readings = sum(len(s.recording.timestamps_ms) for s in sessions)
    return Outcome(tally, readings, messages, max(sent_at) - began, time.monotonic() - began)


Variant = Callable[[Recording], Recording]


def runs(
    datasets: dict[str, list[Labelled]], variants: dict[str, Variant]
) -> Iterator[tuple[str, str, list[Labelled]]]:
    """(data set, variant, sessions) of every run."""
    for name, sessions in datasets.items():
        for variant, f in variants.items():
            yield name, variant, [s.varied(f) for s in sessions]


def summary_row(name: str, variant: str, outcome: Outcome) -> list[object]:
    """One line of the summary table."""
    tally = outcome.tally
    total, right, covered = seconds_accuracy(tally)
    inner_total, inner_right, _ = seconds_accuracy(tally, inner=True)
    windows, full = window_score(tally.windows), window_score(tally.full)
    return [
        name,
        variant,
        tally.sessions,
        f"{tally.covered_to_end}/{tally.sessions}",
        f"{total:.0f}",
        covered,
        right,
        f"{inner_right:.3f} ({inner_total:.0f} s)",
        windows.windows,
        f"{windows.accuracy:.3f} ({windows.unknown:.3f})",
        f"{full.accuracy:.3f} ({full.windows})",
        f"{outcome.readings:,} / {outcome.messages:,}",
        f"{outcome.send_seconds:.0f} / {outcome.total_seconds:.0f}",
    ]


SUMMARY_HEADER = [
    "data set",
    "variant",
    "sessions",
    "timeline reaches the last reading",
    "labelled s",
    "covered",
    "seconds accuracy",
    "5 s or more from a change: accuracy (s)",
    "windows",
    "window accuracy (unknown)",
    "full windows: accuracy (n)",
    "readings / messages",
    "s to send / to settle",
]


def report(results: list[tuple[str, str, Outcome]]) -> None:
    """The summary and the confusion matrices, as markdown."""
    rows = [summary_row(n, v, o) for n, v, o in results]
    print("## Through the real path (POST /sensor-data -> processor -> API)\n")
    print(table(SUMMARY_HEADER, rows) + "\n")
    for name, variant, outcome in results:
        print(f"{name}, {variant}: labelled seconds against the timeline\n")
        print(seconds_table(outcome.tally) + "\n")
        print(f"{name}, {variant}: windows (records) under their majority label\n")
        print(confusion_table(window_score(outcome.tally.windows)) + "\n")
    pooled = merged(o.tally for _, _, o in results)
    print(f"All runs pooled: {seconds_accuracy(pooled)[1]:.3f} of labelled seconds right.\n")


def run(
    datasets: dict[str, list[Labelled]],
    variants: dict[str, Variant],
    parallel: int = 6,
    per_message: int = 50,
    wait: float = 120.0,
) -> None:
    """Start the platform, replay every (data set, variant), print the tables."""
    results = []
    began = time.monotonic()
    with running_platform(gateway_env=PLATFORM_ENV) as supervisor:
        gateway = supervisor.topology.gateway_url
        for name, variant, sessions in runs(datasets, variants):
            outcome = asyncio.run(replay(gateway, sessions, parallel, per_message, wait))
            print(f"replayed {name}, {variant}: {outcome.total_seconds:.0f} s", flush=True)
            results.append((name, variant, outcome))
    report(results)
    print(f"Replay wall time, platform start included: {time.monotonic() - began:.0f} s.\n")
