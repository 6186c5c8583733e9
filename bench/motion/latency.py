"""POST /sensor-data to state: phones posting in real time on the launcher's platform."""

from __future__ import annotations

import argparse
import asyncio
import math
import statistics
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import httpx
import numpy as np
import redis

from bench.motion.throughput import RATE_HZ
from bench.platform import login, running_platform
from deploy.local import LocalSettings
from services.motion.config import ProcessorSettings
from services.motion.keys import Partitions
from services.motion.records import decode_record

USERS = 20  # ten devices each: the default per-user device limit


@dataclass
class Sent:
    """What the latency round sent: per device, each message's (last reading ms, POST time)."""

    posts: dict[str, list[tuple[int, float]]] = field(default_factory=dict)
    answered: list[float] = field(default_factory=list)  # seconds each accepted POST took
    errors: int = 0


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
        tokens = [login(gateway, f"phone-owner-{u}")[1] for u in range(USERS)]
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
