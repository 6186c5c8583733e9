"""The processor's throughput against in-process numpy windowing of the same readings."""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import redis
from prometheus_client import CollectorRegistry

from deploy import embedded_redis
from deploy.local import free_port
from services.motion import classifier
from services.motion.config import ProcessorSettings
from services.motion.domain import Reading, SensorMessage
from services.motion.entries import encode_message
from services.motion.keys import Partitions
from services.motion.processor.__main__ import build
from services.motion.processor.worker import Worker

RATE_HZ = 50


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
