"""Benchmark: the shared cache's hit ratio and what it saves a read.

In one run, against real processes on loopback, with the same load generator:
  cached    - the gateway with the shared cache (GATEWAY_CACHE_ENABLED, the default)
  uncached  - a second gateway over the same services and Redis, the cache switched off
for GET /users/{id} (the user service and its SQLite behind it) and
GET /users/{id}/statistics (the activity service). Rounds alternate cached and uncached;
the median round of each is reported, with cached/uncached throughput and the hit ratio
the cached gateway counted (cache_reads_total) while it was measured.

    python -m bench.cache [--seconds 2] [--rounds 3] [--connections 32]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time

import httpx
from prometheus_client.parser import text_string_to_metric_families

from bench.load import LoadResult, run_load
from bench.platform import login, running_platform
from deploy.local import Supervisor

ROUTES = {"profile": "/users/{user_id}", "statistics": "/users/{user_id}/statistics"}


def _median_round(results: list[LoadResult]) -> LoadResult:
    return sorted(results, key=lambda r: r.rps)[len(results) // 2]


def _row(name: str, result: LoadResult) -> str:
    return (
        f"| {name} | {result.rps:,.0f} | {result.percentile(0.5):.2f} | "
        f"{result.percentile(0.99):.2f} | {result.errors} |"
    )


def cache_reads(metrics_url: str) -> dict[tuple[str, str], float]:
    """The gateway's cache_reads_total by (kind, outcome)."""
    text = httpx.get(metrics_url, timeout=5).text
    return {
        (sample.labels["kind"], sample.labels["outcome"]): sample.value
        for family in text_string_to_metric_families(text)
        if family.name == "cache_reads"
        for sample in family.samples
        if sample.name == "cache_reads_total"
    }


def end_one_workout(gateway_url: str, token: str) -> None:
    """Give the user a statistics row to read."""
    headers = {"Authorization": f"Bearer {token}"}
    body = {"workout_type": "running"}
    started = httpx.post(f"{gateway_url}/workouts/start", json=body, headers=headers, timeout=10)
    session = started.raise_for_status().json()["session_id"]
    ended = httpx.post(f"{gateway_url}/workouts/{session}/end", json={}, headers=headers)
    ended.raise_for_status()


def until_cached_again(gateway_url: str, metrics_url: str, user_id: str, token: str) -> None:
    """Wait (bounded) until the statistics are served from the cache again.

    The workout just ended left a tombstone that refuses fills for a few seconds; reads
    inside that window would measure the write, not the cache.
    """
    headers = {"Authorization": f"Bearer {token}"}
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        hits = cache_reads(metrics_url).get(("statistics", "hit"), 0)
        httpx.get(f"{gateway_url}/users/{user_id}/statistics", headers=headers).raise_for_status()
        if cache_reads(metrics_url).get(("statistics", "hit"), 0) > hits:
            return
        time.sleep(0.2)
    raise TimeoutError("the statistics were not cached again within 30 s")


async def _measure_route(
    args: argparse.Namespace, ports: dict[str, int], path: str, headers: dict[str, str]
) -> dict[str, list[LoadResult]]:
    for port in ports.values():  # warm-up: connections, and the cache's first fill
        await run_load("127.0.0.1", port, path, headers, args.connections, 0.5)
    results: dict[str, list[LoadResult]] = {name: [] for name in ports}
    for _ in range(args.rounds):
        for name, port in ports.items():
            load = run_load("127.0.0.1", port, path, headers, args.connections, args.seconds)
            results[name].append(await load)
    return results


async def _measure(
    args: argparse.Namespace, supervisor: Supervisor, user_id: str, token: str
) -> None:
    topology = supervisor.topology
    second = next(s for s in topology.specs if s.name == "gateway-2")
    ports = {"cached": topology.settings.gateway_port, "uncached": int(second.env["GATEWAY_PORT"])}
    metrics_url = f"http://127.0.0.1:{topology.settings.gateway_metrics_port}/metrics"
    headers = {"Authorization": f"Bearer {token}"}
    print(f"connections={args.connections} seconds={args.seconds} rounds={args.rounds}")
    print("| route | gateway | req/s | p50 ms | p99 ms | errors |")
    print("|---|---|---|---|---|---|")
    summary = []
    for kind, template in ROUTES.items():
        before = cache_reads(metrics_url)
        results = await _measure_route(args, ports, template.format(user_id=user_id), headers)
        after = cache_reads(metrics_url)
        counted = {o: after.get((kind, o), 0) - before.get((kind, o), 0) for o in ("hit", "miss")}
        for name in ports:
            print(_row(f"{template} | {name}", _median_round(results[name])))
        ratios = [
            c.rps / u.rps for c, u in zip(results["cached"], results["uncached"], strict=True)
        ]
        hit_ratio = counted["hit"] / max(1.0, counted["hit"] + counted["miss"])
        p50 = _median_round(results["uncached"]).percentile(0.5) / max(
            1e-9, _median_round(results["cached"]).percentile(0.5)
        )
        summary.append(
            f"{template}: cached/uncached throughput {statistics.median(ratios):.2f} "
            f"(per round: {', '.join(f'{r:.2f}' for r in ratios)}), uncached/cached p50 "
            f"{p50:.2f}, hit ratio {hit_ratio:.4f} ({counted['hit']:.0f} hits, "
            f"{counted['miss']:.0f} misses)"
        )
    print("\n".join(summary))


def main() -> None:
    """Run the benchmark and print a markdown table."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=2.0)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--connections", type=int, default=32)
    args = parser.parse_args()
    uncached = {"GATEWAY_CACHE_ENABLED": "false"}
    with running_platform(extra_gateways=1, extra_gateway_env=uncached) as supervisor:
        gateway_url = supervisor.topology.gateway_url
        user_id, token = login(gateway_url)
        end_one_workout(gateway_url, token)
        metrics_url = (
            f"http://127.0.0.1:{supervisor.topology.settings.gateway_metrics_port}/metrics"
        )
        until_cached_again(gateway_url, metrics_url, user_id, token)
        asyncio.run(_measure(args, supervisor, user_id, token))


if __name__ == "__main__":
    main()
