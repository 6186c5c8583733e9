"""Benchmark: what grpcio itself allows for the hop's unary call on this machine.

A grpc.aio server in its own process with one generic unary handler that answers every
call with the bytes of a real GetUserResponse (no interceptors, no database), and a
grpc.aio client with the gateway's mTLS credentials and channel options, keeping
``--concurrency`` calls in flight for ``--seconds``.

    python -m bench.grpc_ceiling [--seconds 5] [--concurrency 64]
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import tempfile
import time
from pathlib import Path
from typing import Any

import grpc
from fitness.user.v1 import user_service_pb2 as pb

from bench.load import LoadResult
from deploy.certs import ensure_certs
from services.common.tls import TlsFiles, secure_aio_channel
from services.common.upstream.pool import CHANNEL_OPTIONS

METHOD = "/fitness.user.v1.UserService/GetUser"


def get_user_reply() -> bytes:
    """The bytes of a GetUserResponse like the one the bench account gets."""
    profile = pb.Profile(display_name="", weight_kg=70.0)
    user = pb.User(
        user_id="0" * 32,
        username="bench",
        email="bench@example.com",
        profile=profile,
        create_time="2030-01-01T00:00:00Z",
    )
    return pb.GetUserResponse(user=user).SerializeToString()


def get_user_request() -> bytes:
    """The bytes of the GetUserRequest the gateway sends."""
    return pb.GetUserRequest(user_id="0" * 32).SerializeToString()


def ceiling_row(name: str, result: LoadResult) -> str:
    """One markdown row: calls/s, p50, p99 and errors."""
    return (
        f"| {name} | {result.rps:,.0f} | {result.percentile(0.5):.1f} | "
        f"{result.percentile(0.99):.1f} | {result.errors} |"
    )


async def _serve(tls: TlsFiles, port: int, ready: Any) -> None:
    reply = get_user_reply()

    async def answer(request: bytes, context: Any) -> bytes:
        return reply

    handler = grpc.method_handlers_generic_handler(
        "fitness.user.v1.UserService", {"GetUser": grpc.unary_unary_rpc_method_handler(answer)}
    )
    server = grpc.aio.server()
    server.add_generic_rpc_handlers((handler,))
    bound = server.add_secure_port(f"127.0.0.1:{port}", tls.server_credentials())
    await server.start()
    ready.put(bound)
    await server.wait_for_termination()


def _server_process(tls: TlsFiles, ready: Any) -> None:
    asyncio.run(_serve(tls, 0, ready))


async def _worker(call: Any, request: bytes, stop_at: float, result: LoadResult) -> None:
    while time.perf_counter() < stop_at:
        started = time.perf_counter()
        try:
            await call(request, timeout=3.0)
        except grpc.aio.AioRpcError:
            result.errors += 1
            continue
        result.requests += 1
        result.latencies.append(time.perf_counter() - started)


async def measure(tls: TlsFiles, port: int, concurrency: int, seconds: float) -> LoadResult:
    """Keep ``concurrency`` GetUser calls in flight against the bare server."""
    channel = secure_aio_channel(f"127.0.0.1:{port}", tls, "user", CHANNEL_OPTIONS)
    call: Any = channel.unary_unary(METHOD)
    request = get_user_request()
    for _ in range(100):  # warm-up: handshake, first calls
        await call(request, timeout=3.0)
    result = LoadResult()
    started = time.perf_counter()
    stop_at = started + seconds
    await asyncio.gather(*(_worker(call, request, stop_at, result) for _ in range(concurrency)))
    result.seconds = time.perf_counter() - started
    await channel.close()
    return result


def run_ceiling(certs: Path, concurrency: int, seconds: float) -> LoadResult:
    """Start the bare server in its own process, load it, stop it."""
    files = ensure_certs(certs, ["user", "gateway"])
    context = multiprocessing.get_context("spawn")
    ready = context.Queue()
    server = context.Process(target=_server_process, args=(files["user"], ready), daemon=True)
    server.start()
    try:
        port = ready.get(timeout=30)
        return asyncio.run(measure(files["gateway"], port, concurrency, seconds))
    finally:
        server.terminate()
        server.join(5)


def main() -> None:
    """Run the ceiling and print a markdown table."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--concurrency", type=int, default=64)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="grpc-ceiling-") as root:
        result = run_ceiling(Path(root), args.concurrency, args.seconds)
    print(f"concurrency={args.concurrency} seconds={args.seconds}")
    print("| path | calls/s | p50 ms | p99 ms | errors |")
    print("|---|---|---|---|---|")
    print(ceiling_row("grpcio ceiling (bare aio server, mTLS)", result))


if __name__ == "__main__":
    main()
