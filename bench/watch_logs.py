"""Benchmark: watch-log ingestion and extraction through the gateway against raw Redis.

In one run, against a real 3 + 3 Redis Cluster and real processes on loopback:
  ingest   - POST /watch-logs batches (validation, two hops, the dedup script, WAIT 1)
  baseline - redis-py pipelined XADD of the same entries into the same cluster
  export   - GET /watch-logs/export?format=csv of everything ingested, as an analyst
  xrange   - a raw XRANGE of the same streams, 1000 entries per call
Rounds alternate ingest and baseline; the median round of each is reported with the
ratio of entries/s and p50/p99 per batch. The connections are closed loops, so at
saturation a batch waits behind the others; a last, paced round sends at a share
(--paced-share, 0.5) of the saturated gateway rate and reports the latency at that rate.

    python -m bench.watch_logs [--seconds 5] [--rounds 3] [--connections 8] [--batch 100]
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from typing import Any, cast

import httpx
from redis.asyncio.cluster import ClusterNode, RedisCluster

from bench.load import LoadResult
from bench.platform import running_platform
from deploy import redis_cluster
from deploy.local import Supervisor, free_port
from services.common.redis import cluster_seeds
from services.common.timeutil import format_time, utc_now
from services.user import roles_cli
from services.user.__main__ import MIGRATIONS
from services.user.config import UserSettings
from services.watch_logs.partitions import Partitions

PASSWORD = "bench-password"


class Fleet:
    """Numbered batches of walking samples per user, each message id used once."""

    def __init__(self, batch: int) -> None:
        self.batch = batch
        self.sent: dict[str, int] = {}

    def next_batch(self, user: str) -> list[dict[str, Any]]:
        """The user's next ``batch`` entries."""
        first = self.sent.get(user, 0)
        self.sent[user] = first + self.batch
        now = utc_now()
        return [
            {
                "message_id": f"m{n}",
                "device_id": "watch-1",
                "device_model": "Forerunner 265",
                "firmware": "20.26",
                "timestamp": format_time(now - timedelta(seconds=n % 3600)),
                "activity": "walking",
                "duration_s": 60,
                "steps": 90,
                "heart_rate": 96,
                "calories": 4.2,
                "distance_m": 70.5,
                "floors": 0,
                "battery": 77,
            }
            for n in range(first, first + self.batch)
        ]


def account(gateway: str, name: str) -> tuple[str, str]:
    """Register ``name`` and return (user_id, token)."""
    body = {"username": name, "email": f"{name}@example.com", "password": PASSWORD}
    httpx.post(f"{gateway}/users/register", json=body, timeout=10).raise_for_status()
    return log_in(gateway, name)


def log_in(gateway: str, name: str) -> tuple[str, str]:
    """Log ``name`` in: (user_id, token)."""
    credentials = {"email": f"{name}@example.com", "password": PASSWORD}
    reply = httpx.post(f"{gateway}/users/login", json=credentials, timeout=10)
    body = reply.raise_for_status().json()
    return body["user_id"], body["token"]


def analyst_token(supervisor: Supervisor) -> str:
    """A token carrying the analyst role, granted the operator's way."""
    gateway = supervisor.topology.gateway_url
    user_id, _ = account(gateway, "analyst")
    settings = UserSettings(database_url=supervisor.topology.settings.user_store_url())
    assert roles_cli.run(settings, MIGRATIONS, ["grant", "analyst", "--user-id", user_id]) == 0
    return log_in(gateway, "analyst")[1]


async def ingest_round(
    gateway: str, tokens: list[str], fleet: Fleet, seconds: float, rate: float = 0.0
) -> LoadResult:
    """Every connection posts its user's batches for ``seconds``: back to back, or paced so
    that together they send ``rate`` entries/s (an open loop: latency at that rate)."""
    result = LoadResult()
    stop_at = time.perf_counter() + seconds
    interval = len(tokens) * fleet.batch / rate if rate else 0.0

    async def connection(n: int, token: str) -> None:
        headers = {"Authorization": f"Bearer {token}"}
        next_at = time.perf_counter() + interval * n / len(tokens)
        async with httpx.AsyncClient(base_url=gateway, headers=headers, timeout=10) as client:
            while time.perf_counter() < stop_at:
                if interval:
                    await asyncio.sleep(max(0.0, next_at - time.perf_counter()))
                    next_at += interval
                body = {"logs": fleet.next_batch(f"user{n}")}
                started = time.perf_counter()
                reply = await client.post("/watch-logs", json=body)
                if reply.status_code == 200 and reply.json()["accepted"] == fleet.batch:
                    result.requests += fleet.batch  # counted in entries
                    result.latencies.append(time.perf_counter() - started)
                else:
                    result.errors += 1

    started = time.perf_counter()
    await asyncio.gather(*(connection(n, token) for n, token in enumerate(tokens)))
    result.seconds = time.perf_counter() - started
    return result


async def baseline_round(
    redis: RedisCluster, streams: list[str], fleet: Fleet, seconds: float
) -> LoadResult:
    """Every connection XADDs the same entries, one pipeline per batch, for ``seconds``."""
    result = LoadResult()
    stop_at = time.perf_counter() + seconds

    async def connection(n: int) -> None:
        stream = streams[n % len(streams)]
        while time.perf_counter() < stop_at:
            pipe = redis.pipeline(transaction=False)
            for entry in fleet.next_batch(f"raw{n}"):
                pipe.xadd(stream, {"user_id": f"raw{n}", **{k: str(v) for k, v in entry.items()}})
            started = time.perf_counter()
            await pipe.execute()
            result.requests += fleet.batch  # counted in entries
            result.latencies.append(time.perf_counter() - started)

    started = time.perf_counter()
    await asyncio.gather(*(connection(n) for n in range(len(streams))))
    result.seconds = time.perf_counter() - started
    return result


async def export_rows(gateway: str, token: str) -> tuple[int, float]:
    """(rows, seconds) of a CSV export of the last two hours, header not counted."""
    params = {"format": "csv", "from": format_time(utc_now() - timedelta(hours=2))}
    headers = {"Authorization": f"Bearer {token}"}
    started, rows = time.perf_counter(), -1
    async with (
        httpx.AsyncClient(base_url=gateway, headers=headers, timeout=60) as client,
        client.stream("GET", "/watch-logs/export", params=params) as reply,
    ):
        reply.raise_for_status()
        async for _ in reply.aiter_lines():
            rows += 1
    return rows, time.perf_counter() - started


async def xrange_rows(redis: RedisCluster, streams: list[str]) -> tuple[int, float]:
    """(rows, seconds) of reading every entry of ``streams`` with XRANGE COUNT 1000."""
    started, rows = time.perf_counter(), 0
    for stream in streams:
        low = "-"
        while True:
            chunk = cast(
                list[tuple[str, dict[str, str]]], await redis.xrange(stream, min=low, count=1000)
            )
            rows += len(chunk)
            if len(chunk) < 1000:
                break
            low = "(" + chunk[-1][0]
    return rows, time.perf_counter() - started


def cluster_client(url: str) -> RedisCluster:
    """An async client for the benchmark's own writes and reads."""
    seeds = cluster_seeds(url)
    nodes = [ClusterNode(host, port) for host, port in seeds.nodes]
    return RedisCluster(startup_nodes=nodes, password=seeds.password, decode_responses=True)


def median(rounds: list[LoadResult]) -> LoadResult:
    """The round of median rate."""
    return sorted(rounds, key=lambda r: r.rps)[len(rounds) // 2]


async def measure(args: argparse.Namespace, supervisor: Supervisor, url: str) -> None:
    """Run the rounds and print the tables."""
    gateway = supervisor.topology.gateway_url
    tokens = [account(gateway, f"watch{n}")[1] for n in range(args.connections)]
    analyst = analyst_token(supervisor)
    redis = cluster_client(url)
    partitions = Partitions(16).all
    streams = [f"bench:{{{p.tag}}}:raw" for p in partitions][: args.connections]
    fleet = Fleet(args.batch)
    await ingest_round(gateway, tokens, fleet, 1.0)  # warm-up: connections, scripts
    await baseline_round(redis, streams, fleet, 1.0)
    gateway_rounds, raw_rounds = [], []
    for _ in range(args.rounds):
        gateway_rounds.append(await ingest_round(gateway, tokens, fleet, args.seconds))
        raw_rounds.append(await baseline_round(redis, streams, fleet, args.seconds))
    paced_rate = args.paced_share * median(gateway_rounds).rps
    paced = await ingest_round(gateway, tokens, fleet, args.seconds, paced_rate)
    exported, export_seconds = await export_rows(gateway, analyst)
    raw = [p.stream for p in partitions]
    ranged, range_seconds = await xrange_rows(redis, raw)
    await redis.aclose()
    print_tables(
        args, gateway_rounds, raw_rounds, (exported, export_seconds), (ranged, range_seconds)
    )
    print(
        f"paced at {paced_rate:,.0f} entries/s ({args.paced_share:.0%} of the saturated rate): "
        f"{paced.rps:,.0f} entries/s, p50 {paced.percentile(0.5):.1f} ms, "
        f"p99 {paced.percentile(0.99):.1f} ms per batch, {paced.errors} failed"
    )


def print_tables(
    args: argparse.Namespace,
    gateway_rounds: list[LoadResult],
    raw_rounds: list[LoadResult],
    export: tuple[int, float],
    xrange: tuple[int, float],
) -> None:
    """The markdown tables docs/benchmarks.md quotes."""
    ours, raw = median(gateway_rounds), median(raw_rounds)
    ratios = [g.rps / r.rps for g, r in zip(gateway_rounds, raw_rounds, strict=True)]
    print(f"connections={args.connections} batch={args.batch} seconds={args.seconds}")
    print("| path | entries/s | p50 ms/batch | p99 ms/batch | failed batches |")
    print("|---|---|---|---|---|")
    for name, result in (("POST /watch-logs (gateway)", ours), ("pipelined XADD", raw)):
        print(
            f"| {name} | {result.rps:,.0f} | {result.percentile(0.5):.1f} | "
            f"{result.percentile(0.99):.1f} | {result.errors} |"
        )
    print(f"ingest ratio gateway/XADD per round: {', '.join(f'{r:.2f}' for r in ratios)}")
    (rows, seconds), (ranged, range_seconds) = export, xrange
    print("| read | rows | rows/s |")
    print("|---|---|---|")
    print(f"| CSV export (gateway) | {rows:,} | {rows / seconds:,.0f} |")
    print(f"| XRANGE (raw) | {ranged:,} | {ranged / range_seconds:,.0f} |")
    print(f"export ratio CSV/XRANGE: {(rows / seconds) / (ranged / range_seconds):.2f}")


def main() -> None:
    """Start a cluster and a platform on it, measure, stop everything."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument(
        "--paced-share", type=float, default=0.5, help="paced round's rate, of the saturated"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="fitness-bench-cluster-") as root:
        ports = [(free_port(), free_port()) for _ in range(6)]
        cluster = redis_cluster.start(Path(root), ports)
        try:
            with running_platform(
                # Its eight writers post far more than any user's hourly quota.
                gateway_env={"GATEWAY_WATCH_LOGS_MAX_ENTRIES_PER_WINDOW": "1000000000"},
                settings_changes={"redis_url": cluster.url},
            ) as supervisor:
                asyncio.run(measure(args, supervisor, cluster.url))
        finally:
            cluster.stop()


if __name__ == "__main__":
    main()
