"""Benchmark: argon2id logins per second against the hash-only ceiling.

In one run:
  ceiling - argon2id verifications on as many threads as the service allows hashes
            at once (USER_HASH_CONCURRENCY, default the CPU count), nothing else
  logins  - Login RPCs against a real user-service process, 4x as many in flight
Rounds alternate; the median of each is reported, with logins/ceiling.

    python -m bench.logins [--seconds 5] [--rounds 3]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import threading
import time

from fitness.user.v1 import user_service_pb2 as pb
from fitness.user.v1 import user_service_pb2_grpc as pb_grpc

from bench.platform import login, running_platform
from deploy.certs import component_files
from deploy.local import certs_dir
from services.common.tls import TlsFiles, secure_aio_channel
from services.common.trust import GATEWAY, USER
from services.user.passwords import Argon2idHasher

PASSWORD = "bench-password"


def hash_ceiling(seconds: float, threads: int) -> float:
    """Verifications per second with ``threads`` threads doing nothing else."""
    hasher = Argon2idHasher(max_concurrent=threads)
    encoded = hasher.hash(PASSWORD)
    counts = [0] * threads
    stop_at = time.perf_counter() + seconds

    def verify_until_stopped(slot: int) -> None:
        while time.perf_counter() < stop_at:
            hasher.verify(encoded, PASSWORD)
            counts[slot] += 1

    workers = [threading.Thread(target=verify_until_stopped, args=(n,)) for n in range(threads)]
    started = time.perf_counter()
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return sum(counts) / (time.perf_counter() - started)


async def login_rate(
    address: str, tls: TlsFiles, email: str, seconds: float, in_flight: int
) -> float:
    """Successful Login RPCs per second, called as the gateway calls them (mTLS)."""
    done = 0
    stop_at = time.perf_counter() + seconds
    async with secure_aio_channel(address, tls, USER) as channel:
        stub = pb_grpc.UserServiceStub(channel)

        async def keep_logging_in() -> None:
            nonlocal done
            while time.perf_counter() < stop_at:
                await stub.Login(pb.LoginRequest(email=email, password=PASSWORD), timeout=30)
                done += 1

        started = time.perf_counter()
        await asyncio.gather(*(keep_logging_in() for _ in range(in_flight)))
        return done / (time.perf_counter() - started)


def main() -> None:
    """Run the benchmark and print a markdown table."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    threads = os.cpu_count() or 2
    with running_platform() as supervisor:
        login(supervisor.topology.gateway_url)
        address = supervisor.topology.user_addresses()[0]
        data = supervisor.topology.settings.data_dir.resolve()
        tls = component_files(certs_dir(data), GATEWAY)
        ceilings, logins = [], []
        for _ in range(args.rounds):
            ceilings.append(hash_ceiling(args.seconds, threads))
            logins.append(
                asyncio.run(
                    login_rate(address, tls, "bench@example.com", args.seconds, 4 * threads)
                )
            )
    ceiling, rate = statistics.median(ceilings), statistics.median(logins)
    ratios = [r / c for r, c in zip(logins, ceilings, strict=True)]
    print(f"hash threads={threads} seconds={args.seconds} rounds={args.rounds}")
    print("| measure | per second |")
    print("|---|---|")
    print(f"| argon2id verify ceiling ({threads} threads) | {ceiling:.1f} |")
    print(f"| Login RPCs (user service, {4 * threads} in flight) | {rate:.1f} |")
    print(
        f"logins/ceiling: {statistics.median(ratios):.2f} "
        f"(per round: {', '.join(f'{r:.2f}' for r in ratios)})"
    )


if __name__ == "__main__":
    main()
