"""Benchmark: what the gRPC hop costs a gateway route.

In one run, against real processes on loopback, with the same load generator:
  (a) GET /bench/local/{id} - the gateway answers itself (auth, middleware, response model)
  (b) GET /users/{id}       - the same, plus the gRPC call to the user service and SQLite
                              (the gateway's shared cache is off: every read crosses the hop)
Rounds alternate a and b; the median round of each is reported, with (b)/(a). Then, with
the platform stopped, the grpcio ceiling (bench/grpc_ceiling.py): the same unary call,
message sizes and mTLS channel against a bare grpc.aio server, ``--connections`` in flight.

    python -m bench.gateway_hop [--seconds 5] [--rounds 3] [--connections 64]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
from pathlib import Path

from bench.grpc_ceiling import ceiling_row, run_ceiling
from bench.load import LoadResult, run_load
from bench.platform import login, running_platform


def _median_round(results: list[LoadResult]) -> LoadResult:
    return sorted(results, key=lambda r: r.rps)[len(results) // 2]


def _row(name: str, result: LoadResult) -> str:
    return (
        f"| {name} | {result.rps:,.0f} | {result.percentile(0.5):.1f} | "
        f"{result.percentile(0.99):.1f} | {result.errors} |"
    )


async def _measure(args: argparse.Namespace, port: int, user_id: str, token: str) -> None:
    headers = {"Authorization": f"Bearer {token}"}
    paths = {"local": f"/bench/local/{user_id}", "hop": f"/users/{user_id}"}
    for path in paths.values():  # warm-up: connections, caches, JIT-free but still
        await run_load("127.0.0.1", port, path, headers, args.connections, 1.0)
    results: dict[str, list[LoadResult]] = {name: [] for name in paths}
    for _ in range(args.rounds):
        for name, path in paths.items():
            load = run_load("127.0.0.1", port, path, headers, args.connections, args.seconds)
            results[name].append(await load)
    local, hop = _median_round(results["local"]), _median_round(results["hop"])
    ratios = [b.rps / a.rps for b, a in zip(results["hop"], results["local"], strict=True)]
    print(f"connections={args.connections} seconds={args.seconds} rounds={args.rounds}")
    print("| route | req/s | p50 ms | p99 ms | errors |")
    print("|---|---|---|---|---|")
    print(_row("(a) local, no hop", local))
    print(_row("(b) through gRPC hop", hop))
    print(
        f"hop/no-hop throughput ratio: {statistics.median(ratios):.2f} "
        f"(per round: {', '.join(f'{r:.2f}' for r in ratios)})"
    )


def main() -> None:
    """Run the benchmark and print a markdown table."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--connections", type=int, default=64)
    args = parser.parse_args()
    # With the cache on, (b) would be a Redis GET after the first read, not the hop.
    uncached = {"GATEWAY_CACHE_ENABLED": "false"}
    with running_platform(gateway_module="bench.bench_gateway", gateway_env=uncached) as supervisor:
        topology = supervisor.topology
        user_id, token = login(topology.gateway_url)
        asyncio.run(_measure(args, topology.settings.gateway_port, user_id, token))
    with tempfile.TemporaryDirectory(prefix="grpc-ceiling-") as root:
        ceiling = run_ceiling(Path(root), args.connections, args.seconds)
    print("| path | calls/s | p50 ms | p99 ms | errors |")
    print("|---|---|---|---|---|")
    print(ceiling_row("grpcio ceiling: bare grpc.aio GetUser bytes, mTLS", ceiling))


if __name__ == "__main__":
    main()
