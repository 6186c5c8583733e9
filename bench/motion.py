"""Benchmark: the motion processor's throughput and the latency of POST /sensor-data to state.

throughput - raw entries of D devices (--per-message readings, 1 s of 50 Hz) are written to a real
             Redis; one processor worker (the real Worker over the real Redis adapter)
             reads, windows, classifies and writes every window. Baseline, in the same
             run: in-process numpy windowing of the same readings (the same windows
             sliced with searchsorted from one array per session, the same classifier),
             no Redis. Reported: readings/s of each and their ratio (target >= 0.4).
latency    - the launcher's platform (gateway, motion service, processor, Redis on
             loopback); 200 devices post 50 Hz of readings in real time, one message a
             device every --interval s. For each message: from its POST to the first
             record whose window holds its last reading appearing on the processed stream
             (written by the same script as the state). Target: p99 <= window length
             + 500 ms. Also reported: from the POST that closes a window (its readings
             pass the window's end plus the grace) to that window's record.

    python -m bench.motion [--devices 200] [--seconds 20] [--interval 0.5] [--rounds 3]
"""

from __future__ import annotations

import argparse
import asyncio
import math
import statistics
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import redis
from prometheus_client import CollectorRegistry

from bench.platform import running_platform
from deploy import embedded_redis
from deploy.local import LocalSettings, free_port
from services.motion import classifier
from services.motion.config import ProcessorSettings
from services.motion.domain import Reading, SensorMessage
from services.motion.entries import encode_message
from services.motion.keys import Partitions
from services.motion.processor.__main__ import build
from services.motion.processor.worker import Worker
from services.motion.records import decode_record

RATE_HZ = 50
USERS = 20  # ten devices each: the default per-user device limit
PASSWORD = "bench-password"


def walking(seconds: float, phase: float) -> tuple[np.ndarray, np.ndarray]:
    """A device's 50 Hz readings: gravity plus a 1.8 Hz step and noise (ms, m/s²)."""
    n = int(seconds * RATE_HZ)
    t = np.arange(n, dtype=np.int64) * (1000 // RATE_HZ)
    rng = np.random.default_rng(int(phase * 1000))
    step = 3.0 * np.sin(2 * np.pi * 1.8 * t / 1000 + phase)
    xyz = np.column_stack([step * 0.3, step * 0.2, 9.81 + step]) + rng.normal(0, 0.3, (n, 3))
    return t, xyz


def fleet(devices: int, seconds: float) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Every device's readings, starting at the same epoch millisecond."""
    start = (int(time.time() * 1000) // 10_000) * 10_000 - int(seconds * 1000) - 60_000
    readings = {}
    for d in range(devices):
        t, xyz = walking(seconds, d * 0.37)
        readings[f"phone-{d}"] = (t + start, xyz)
    return readings


def messages_of(
    device: str, t: np.ndarray, xyz: np.ndarray, per_message: int
) -> Iterator[SensorMessage]:
    """A device's readings as messages of ``per_message`` readings."""
    for n, first in enumerate(range(0, len(t), per_message)):
        readings = tuple(
            Reading("accelerometer", int(ts), tuple(float(v) for v in row))
            for ts, row in zip(
                t[first : first + per_message], xyz[first : first + per_message], strict=True
            )
        )
        yield SensorMessage(f"user-{device}", device, "s1", f"m{n}", readings)


def baseline(
    readings: dict[str, tuple[np.ndarray, np.ndarray]], spec: ProcessorSettings
) -> tuple[int, int, float]:
    """In-process numpy windowing of the same readings: windows classified, how many of
    them a stream closes by its watermark (the rest wait for the idle timeout), seconds."""
    began = time.perf_counter()
    windows = on_time = 0
    for t, xyz in readings.values():
        closes_by = ((int(t[-1]) - spec.grace_ms) // spec.slide_ms) * spec.slide_ms
        first = (int(t[0]) // spec.slide_ms) * spec.slide_ms - spec.window_ms + spec.slide_ms
        for start in range(first, int(t[-1]) + 1, spec.slide_ms):
            end = start + spec.window_ms
            lo, newest, hi = np.searchsorted(t, [start, end - spec.slide_ms, end])
            if hi > newest:  # as the processor: a window speaks for its newest slide
                features = classifier.measure(t[lo:hi], xyz[lo:hi], spec.window_ms)
                classifier.classify(features)
                windows += 1
                on_time += end <= closes_by
    return windows, on_time, time.perf_counter() - began


def processed_count(client: redis.Redis, parts: Partitions) -> int:
    """Records on every processed stream."""
    pipe = client.pipeline(transaction=False)
    for part in parts.all:
        pipe.xlen(part.processed)
    return sum(int(n) for n in pipe.execute())


def processor_round(
    url: str,
    readings: dict[str, tuple[np.ndarray, np.ndarray]],
    expected: tuple[int, int],
    per_message: int,
) -> float:
    """Seconds one real worker takes to emit the windows its watermarks close, of freshly
    written raw entries; then (untimed) it must emit the rest after the idle timeout."""
    client = redis.Redis.from_url(url, decode_responses=True)
    client.flushall()
    settings = ProcessorSettings(redis_url=url, idle_timeout_ms=200, poll_idle_seconds=0.01)
    parts = Partitions(settings.partitions)
    now = int(time.time() * 1000)
    pipe = client.pipeline(transaction=False)
    for device, (t, xyz) in readings.items():
        for message in messages_of(device, t, xyz, per_message):
            pipe.xadd(parts.of_device(device).raw, encode_message(message, now))  # type: ignore[arg-type]
    pipe.execute()
    worker = build(settings, client, CollectorRegistry())
    began = time.perf_counter()
    run_until(worker, client, parts, expected[1])
    seconds = time.perf_counter() - began
    run_until(worker, client, parts, expected[0])
    worker.leases.release_all()
    client.close()
    return seconds


def run_until(worker: Worker, client: redis.Redis, parts: Partitions, windows: int) -> None:
    """Run the worker until the processed streams hold ``windows`` records (2 min at most)."""
    began = time.perf_counter()
    while processed_count(client, parts) < windows:
        if worker.run_once() == 0:
            time.sleep(worker.config.poll_idle_seconds)
        if time.perf_counter() - began > 120:
            got = processed_count(client, parts)
            raise RuntimeError(f"the processor emitted {got} of {windows} windows in 120 s")


def throughput(args: argparse.Namespace) -> None:
    """Rounds of processor vs baseline over the same readings; the median of each."""
    readings = fleet(args.throughput_devices, args.throughput_seconds)
    total = sum(len(t) for t, _ in readings.values())
    spec = ProcessorSettings()
    with tempfile.TemporaryDirectory(prefix="fitness-bench-motion-") as root:
        server = embedded_redis.start(Path(root) / "redis", free_port())
        try:
            rows = []
            for _ in range(args.rounds):
                windows, on_time, base_seconds = baseline(readings, spec)
                rows.append(
                    (
                        processor_round(server.url, readings, (windows, on_time), args.per_message),
                        base_seconds,
                    )
                )
        finally:
            server.stop()
    proc = statistics.median(r[0] for r in rows)
    base = statistics.median(r[1] for r in rows)
    print(
        f"\n### Processor throughput ({total:,} readings, {len(readings)} devices, "
        f"{windows:,} windows)\n"
    )
    print("| path | readings/s (median of rounds) |\n|---|---|")
    print(f"| processor worker over Redis | {total / proc:,.0f} |")
    print(f"| in-process numpy windowing | {total / base:,.0f} |")
    print(f"\nratio: **{base / proc:.2f}x** (target >= 0.4x)")


@dataclass
class Sent:
    """What the latency round sent: per device, each message's (last reading ms, POST time)."""

    posts: dict[str, list[tuple[int, float]]] = field(default_factory=dict)
    answered: list[float] = field(default_factory=list)  # seconds each accepted POST took
    errors: int = 0


def register(gateway: str, name: str) -> str:
    """A bench account's token."""
    body = {"username": name, "email": f"{name}@example.com", "password": PASSWORD}
    httpx.post(f"{gateway}/users/register", json=body, timeout=10).raise_for_status()
    login = {"email": body["email"], "password": PASSWORD}
    return str(httpx.post(f"{gateway}/users/login", json=login, timeout=10).json()["token"])


async def phone(
    client: httpx.AsyncClient, token: str, device: str, args: argparse.Namespace, sent: Sent
) -> None:
    """One device posting its readings in real time, one message every ``interval`` s."""
    per_message = int(RATE_HZ * args.interval)
    step = 1000 // RATE_HZ
    rng = np.random.default_rng(abs(hash(device)) % 2**32)
    posts = sent.posts.setdefault(device, [])
    start = time.time() + rng.uniform(0, args.interval)
    for n in range(int(args.seconds / args.interval)):
        due = start + (n + 1) * args.interval
        await asyncio.sleep(max(0.0, due - time.time()))
        first_ms = int((due - args.interval) * 1000)
        stamps = [first_ms + i * step for i in range(per_message)]
        body = {
            "messageId": f"m{n}",
            "sessionId": "s1",
            "deviceId": device,
            "sensorReadings": [
                {
                    "name": "accelerometer",
                    "timestamp": ts,
                    "values": [0.5 * math.sin(ts / 90), 0.3, 9.81 + 3 * math.sin(ts / 88)],
                }
                for ts in stamps
            ],
        }
        began = time.time()
        try:
            reply = await client.post(
                "/sensor-data", json=body, headers={"Authorization": f"Bearer {token}"}
            )
            ok = reply.status_code == 202
        except httpx.HTTPError:
            ok = False
        if ok:
            posts.append((stamps[-1], began))
            sent.answered.append(time.time() - began)
        else:
            sent.errors += 1


def watch_records(
    url: str,
    parts: Partitions,
    stop: threading.Event,
    seen: dict[str, list[tuple[int, int, float]]],
) -> None:
    """Note when each record appears on the processed streams: (start, end, seen at)."""
    client = redis.Redis.from_url(url, decode_responses=True)
    cursors = {part.processed: "$" for part in parts.all}
    while not stop.is_set():
        reply: Any = client.xread(cursors, count=1000, block=20)  # type: ignore[arg-type]
        now = time.time()
        for stream, entries in reply or []:
            for entry_id, fields in entries:
                cursors[stream] = entry_id
                record = decode_record(fields["record"])
                seen.setdefault(record.device_id, []).append(
                    (record.window_start_ms, record.window_end_ms, now)
                )
    client.close()


def latencies(
    sent: Sent, seen: dict[str, list[tuple[int, int, float]]], grace_ms: int, window_ms: int
) -> tuple[list[float], list[float]]:
    """Per message, its POST to the first record holding its last reading; per window, the
    POST that closed it to its record (seconds)."""
    to_state, closing = [], []
    for device, posts in sent.posts.items():
        records = sorted(seen.get(device, []), key=lambda r: r[1])
        # A device's last seconds close by the idle timeout when it stops: not this figure.
        tail = posts[-1][0] - window_ms if posts else 0
        for last_ms, posted in (p for p in posts if p[0] < tail):
            holding = [at for start, end, at in records if start <= last_ms < end]
            if holding:
                to_state.append(min(holding) - posted)
        for _, end, at in records:
            closers = [posted for last_ms, posted in posts if last_ms >= end + grace_ms]
            if closers:
                closing.append(at - min(closers))
    return to_state, closing


def percentile(values: list[float], fraction: float) -> float:
    """Milliseconds at ``fraction``."""
    if len(values) < 2:
        return float("nan")
    return statistics.quantiles(values, n=1000, method="inclusive")[int(fraction * 1000) - 1] * 1000


async def latency_round(gateway: str, tokens: list[str], args: argparse.Namespace) -> Sent:
    """Every device posting for ``seconds``."""
    sent = Sent()
    limits = httpx.Limits(
        max_connections=args.connections, max_keepalive_connections=args.connections
    )
    async with httpx.AsyncClient(base_url=gateway, timeout=10, limits=limits) as client:
        await asyncio.gather(
            *(
                phone(client, tokens[d % len(tokens)], f"phone-{d}", args, sent)
                for d in range(args.devices)
            )
        )
    return sent


def late_readings(settings: LocalSettings) -> float:
    """The processor's count of readings dropped as late, from its metrics endpoint."""
    url = f"http://{settings.host}:{settings.motion_processor_metrics_port}/metrics"
    for line in httpx.get(url, timeout=5).text.splitlines():
        if line.startswith("motion_processor_late_readings_total"):
            return float(line.split()[-1])
    return float("nan")


def latency(args: argparse.Namespace) -> None:
    """The platform on loopback, 200 phones, the latency percentiles."""
    env = {"GATEWAY_MOTION_MAX_READINGS_PER_WINDOW": "1000000000"}
    with running_platform(gateway_env=env) as supervisor:
        gateway = supervisor.topology.gateway_url
        url = supervisor.topology.settings.gateway_redis_url()
        tokens = [register(gateway, f"phone-owner-{u}") for u in range(USERS)]
        spec = ProcessorSettings()
        seen: dict[str, list[tuple[int, int, float]]] = {}
        stop = threading.Event()
        watcher = threading.Thread(
            target=watch_records, args=(url, Partitions(spec.partitions), stop, seen)
        )
        watcher.start()
        try:
            sent = asyncio.run(latency_round(gateway, tokens, args))
            time.sleep((spec.idle_timeout_ms + spec.window_ms) / 1000 + 1)
            late = late_readings(supervisor.topology.settings)
        finally:
            stop.set()
            watcher.join()
    to_state, closing = latencies(sent, seen, spec.grace_ms, spec.window_ms)
    posts = sum(len(p) for p in sent.posts.values())
    print(
        f"\n### POST /sensor-data to state: {args.devices} devices x {RATE_HZ} Hz, "
        f"a message every {args.interval} s, {args.seconds:.0f} s\n"
    )
    print(
        f"{posts:,} messages accepted ({posts / args.seconds:,.0f}/s, "
        f"{posts * RATE_HZ * args.interval / args.seconds:,.0f} readings/s), {sent.errors} failed\n"
    )
    print(f"late readings dropped by the processor: {late:,.0f}\n")
    print("| from | p50 ms | p99 ms | target |\n|---|---|---|---|")
    print(
        f"| the POST to its 202 | {percentile(sent.answered, 0.5):.0f} "
        f"| {percentile(sent.answered, 0.99):.0f} | |"
    )
    print(
        f"| the POST of a reading to the first window holding it "
        f"| {percentile(to_state, 0.5):.0f} | {percentile(to_state, 0.99):.0f} "
        f"| <= {spec.window_ms + 500} |"
    )
    print(
        f"| the POST that closes a window to its record | {percentile(closing, 0.5):.0f} | "
        f"{percentile(closing, 0.99):.0f} | |"
    )


def main() -> None:
    """Run the chosen parts and print their tables."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--part", choices=["all", "throughput", "latency"], default="all")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--throughput-devices", type=int, default=100)
    parser.add_argument("--throughput-seconds", type=float, default=60.0)
    parser.add_argument("--per-message", type=int, default=50, help="readings per raw entry")
    parser.add_argument("--devices", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--interval", type=float, default=1.0, help="seconds per message")
    parser.add_argument("--connections", type=int, default=32)
    args = parser.parse_args()
    if args.part in ("all", "throughput"):
        throughput(args)
    if args.part in ("all", "latency"):
        latency(args)


if __name__ == "__main__":
    main()
