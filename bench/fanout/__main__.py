"""``python -m bench.fanout``: every path in alternating rounds per participant count."""

from __future__ import annotations

import argparse

import bench.fanout
from bench.fanout.bare import bare_path
from bench.fanout.gateway import Platform, gateway_path
from bench.fanout.measure import LATENCY_EVENTS, LATENCY_SPACING
from bench.fanout.peer import install_peer, peer_path
from bench.fanout.report import PATHS, ratios_row, result_row, rotated, table
from bench.fanout.stats import Result
from bench.platform import register, running_platform

# The handshake checks that the token's account exists, so receivers are real accounts;
# under the registration limit per address, they share these (each connection is still
# its own client of the hub, with its own queue; only presence counts an account once).
RECEIVER_ACCOUNTS = 25


def _print_result(path: str, participants: int, result: Result) -> None:
    print(f"    {result_row(path, participants, 'this round', result)}", flush=True)


def run_participants(
    platform: Platform, participants: int, events: int, rounds: int
) -> tuple[str, str]:
    """All rounds at one participant count, printed as they go; its table rows and ratios."""
    results: dict[str, list[Result]] = {path: [] for path in PATHS}
    orders = [rotated(PATHS, n) for n in range(rounds)]
    for n, order in enumerate(orders):
        print(f"  N={participants} round {n + 1}: {' -> '.join(order)}", flush=True)
        for path in order:
            tag = f"{participants}r{n + 1}"
            if path == "bare":
                result = bare_path(participants, events)
            elif path == "peer":
                result = peer_path(platform.redis_url, participants, events, f"bench-{tag}")
            else:
                result = gateway_path(platform, participants, events)
            _print_result(path, participants, result)
            results[path].append(result)
    return table(participants, results, orders), ratios_row(participants, results)


def main() -> None:
    """Run the three paths in alternating rounds for each participant count; print the tables."""
    parser = argparse.ArgumentParser(
        prog="python -m bench.fanout", description=bench.fanout.__doc__
    )
    parser.add_argument("--participants", type=int, nargs="+", default=[1000, 5000])
    parser.add_argument("--events", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    install_peer()
    extra = {
        "GATEWAY_WS_RATE_PER_SECOND": "10000",
        "GATEWAY_WS_RATE_BURST": "10000",
        # Receivers share RECEIVER_ACCOUNTS accounts: up to 200 sockets each at 5000.
        "GATEWAY_WS_MAX_SOCKETS_PER_USER": "1000",
        "GATEWAY_LOG_LEVEL": "WARNING",
    }
    with running_platform(extra_gateways=1, gateway_env=extra) as supervisor:
        url = supervisor.topology.gateway_url
        platform = Platform(supervisor, [f"fan{n}" for n in range(RECEIVER_ACCOUNTS)], "owner")
        for name in [*platform.receivers, platform.owner]:
            register(url, name)
        print(f"Redis for the gateways and the Socket.IO peer: {platform.redis_url}", flush=True)
        sections = [
            run_participants(platform, n, args.events, args.rounds) for n in args.participants
        ]
    _print_tables(args, sections)


def _print_tables(args: argparse.Namespace, sections: list[tuple[str, str]]) -> None:
    print(
        f"\nlatency: {LATENCY_EVENTS} events {LATENCY_SPACING}s apart; throughput: a burst of "
        f"{args.events}; {args.rounds} round(s), order rotated each round; median row: median "
        "of rounds, lost summed over rounds; memory: server 2's RSS growth per idle connection\n"
    )
    print("| path | participants | figure | p50 ms | p99 ms | deliveries/s | lost | KiB/conn |")
    print("|---|---|---|---|---|---|---|---|")
    for rows, _ in sections:
        print(rows)
    print(
        "\n| participants | deliveries/s ours/peer | p99 ours/peer | memory ours/peer "
        "| deliveries/s ours/bare |"
    )
    print("|---|---|---|---|---|")
    for _, ratios in sections:
        print(ratios)


if __name__ == "__main__":
    main()
