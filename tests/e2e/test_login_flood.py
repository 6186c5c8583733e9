"""A login flood against a real user-service process: refused fast, memory bounded."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import grpc
import psutil
import pytest
from fitness.user.v1 import user_service_pb2 as upb
from fitness.user.v1 import user_service_pb2_grpc as ugrpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from deploy.local import free_port
from deploy.process_tree import stop_child
from services.common.trust import GATEWAY, USER
from services.user.passwords import OWASP_MEMORY_KIB
from tests.helpers import KeyFiles, ServiceCerts, channel_as

HASH_CONCURRENCY = 2
GATEWAY_DEADLINE = 3.0  # GATEWAY_CALL_TIMEOUT's default
LOGINS, CONCURRENT = 200, 50
MIB = 2**20
# Allocations besides argon2's buffers that a burst may leave behind (gRPC buffers, stacks).
SLACK = 40 * MIB


@pytest.fixture
def user_service(
    tmp_path: Path, jwt_keys: KeyFiles, service_certs: ServiceCerts
) -> Iterator[tuple[str, psutil.Process]]:
    """``python -m services.user`` with 16 RPC workers and 2 hashing threads."""
    port = free_port()
    files = service_certs.of(USER)
    env = {
        **os.environ,
        "USER_PORT": str(port),
        "USER_DATABASE_URL": f"sqlite:///{tmp_path / 'user.db'}",
        "USER_JWT_PRIVATE_KEY_FILE": str(jwt_keys.private),
        "USER_TLS_CA_FILE": str(files.ca),
        "USER_TLS_CERT_FILE": str(files.cert),
        "USER_TLS_KEY_FILE": str(files.key),
        "USER_HASH_CONCURRENCY": str(HASH_CONCURRENCY),
        "USER_HASH_QUEUE_SIZE": str(4 * HASH_CONCURRENCY),
        "USER_WORKER_THREADS": "16",
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "services.user"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        yield f"127.0.0.1:{port}", psutil.Process(process.pid)
    finally:
        stop_child(process)


async def wait_serving(stub: health_pb2_grpc.HealthStub) -> None:
    deadline = time.monotonic() + 30
    while True:
        try:
            await stub.Check(health_pb2.HealthCheckRequest(), timeout=1)
            return
        except grpc.aio.AioRpcError:
            assert time.monotonic() < deadline, "the user service did not start"
            await asyncio.sleep(0.2)


async def flood(users: ugrpc.UserServiceStub, login: upb.LoginRequest) -> Counter[grpc.StatusCode]:
    """LOGINS logins, CONCURRENT at a time, each with the gateway's deadline."""
    gate = asyncio.Semaphore(CONCURRENT)

    async def one() -> grpc.StatusCode:
        async with gate:
            try:
                await users.Login(login, timeout=GATEWAY_DEADLINE)
            except grpc.aio.AioRpcError as error:
                return error.code()
            return grpc.StatusCode.OK

    return Counter(await asyncio.gather(*(one() for _ in range(LOGINS))))


async def test_a_login_flood_is_refused_fast_and_memory_stays_bounded_by_the_hash_threads(
    user_service: tuple[str, psutil.Process], service_certs: ServiceCerts
) -> None:
    target, process = user_service
    async with channel_as(service_certs, GATEWAY, USER, target) as channel:
        await wait_serving(health_pb2_grpc.HealthStub(channel))
        users = ugrpc.UserServiceStub(channel)
        await users.RegisterUser(
            upb.RegisterUserRequest(
                request_id="r", username="flood", email="f@example.com", password="long-password"
            )
        )
        login = upb.LoginRequest(email="f@example.com", password="long-password")
        await users.Login(login, timeout=GATEWAY_DEADLINE)
        baseline = process.memory_info().rss
        outcomes = await flood(users, login)
        after = process.memory_info().rss
    assert set(outcomes) <= {grpc.StatusCode.OK, grpc.StatusCode.RESOURCE_EXHAUSTED}, outcomes
    assert outcomes[grpc.StatusCode.OK] > 0
    assert outcomes[grpc.StatusCode.RESOURCE_EXHAUSTED] > 0
    bound = baseline + HASH_CONCURRENCY * OWASP_MEMORY_KIB * 1024 + SLACK
    assert after <= bound, f"RSS {after / MIB:.0f} MiB > {bound / MIB:.0f} MiB ({outcomes})"
