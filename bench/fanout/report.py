"""The paths, their order in each round, and the markdown rows they are reported in."""

from __future__ import annotations

from collections.abc import Sequence

from bench.fanout.stats import Result, median_result, ratio

PATHS = ("bare", "peer", "ours")
TITLES = {
    "bare": "bare websockets broadcast()",
    "peer": "Socket.IO 4.8 + redis-adapter (server 1 -> Redis -> server 2)",
    "ours": "gateway 1 -> Redis -> gateway 2",
}


def rotated(items: Sequence[str], round_index: int) -> list[str]:
    """``items`` rotated left by the round, so each path takes each place in turn."""
    shift = round_index % len(items)
    return [*items[shift:], *items[:shift]]


def result_row(path: str, participants: int, label: str, result: Result) -> str:
    """One markdown table row."""
    return (
        f"| {TITLES[path]} | {participants} | {label} | {result.p50_ms:.1f} | "
        f"{result.p99_ms:.1f} | {result.rate:,.0f} | {result.lost} | "
        f"{result.kib_per_connection:.1f} |"
    )


def table(participants: int, results: dict[str, list[Result]], orders: list[list[str]]) -> str:
    """Median and per-round rows of every path at one participant count."""
    rows = []
    for path in PATHS:
        rows.append(result_row(path, participants, "median", median_result(results[path])))
        for n, result in enumerate(results[path]):
            place = orders[n].index(path) + 1
            rows.append(result_row(path, participants, f"round {n + 1} (ran {place})", result))
    return "\n".join(rows)


def ratios_row(participants: int, results: dict[str, list[Result]]) -> str:
    """ours/peer (and ours/bare deliveries/s) from the medians."""
    ours, peer = median_result(results["ours"]), median_result(results["peer"])
    bare = median_result(results["bare"])
    return (
        f"| {participants} | {ratio(ours.rate, peer.rate)} | {ratio(ours.p99_ms, peer.p99_ms)} "
        f"| {ratio(ours.kib_per_connection, peer.kib_per_connection)} "
        f"| {ratio(ours.rate, bare.rate)} |"
    )
