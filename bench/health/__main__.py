"""``python -m bench.health``: run the chosen parts and print their tables."""

from __future__ import annotations

import argparse

import bench.health
from bench.health.ingest import ingest
from bench.health.read import read
from bench.health.refresh import refresh


def main() -> None:
    """Run the chosen parts and print their tables."""
    parser = argparse.ArgumentParser(
        description=bench.health.__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--part", choices=["all", "ingest", "refresh", "read"], default="all")
    parser.add_argument("--rounds", type=int, default=3, help="ingest rounds of each path")
    parser.add_argument("--ingest-users", type=int, default=4, help="user-days ingested a round")
    parser.add_argument("--corrections", type=int, default=50)
    parser.add_argument("--users", type=int, default=10)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument(
        "--load-budget",
        type=float,
        default=360.0,
        help="seconds of loading (COPY, refresh, VACUUM) at most",
    )
    parser.add_argument("--samples", type=int, default=30, help="user-days read each way")
    args = parser.parse_args()
    if args.part in ("all", "ingest"):
        ingest(args)
    if args.part in ("all", "refresh"):
        refresh(args)
    if args.part in ("all", "read"):
        read(args)


if __name__ == "__main__":
    main()
