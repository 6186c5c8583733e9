"""``python -m bench.motion``: run the chosen parts and print their tables."""

from __future__ import annotations

import argparse

import bench.motion
from bench.motion.latency import latency
from bench.motion.throughput import throughput


def main() -> None:
    """Run the chosen parts and print their tables."""
    parser = argparse.ArgumentParser(description=bench.motion.__doc__)
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
