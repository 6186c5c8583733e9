"""The health-metrics process on a real PostgreSQL: its metrics, UNAVAILABLE while its
database is down, ``python -m services.health_metrics`` on a database it creates, and
instances that create that database at the same moment."""

from __future__ import annotations

import asyncio
import functools
import os
import signal
import sys
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import grpc
import httpx
import psycopg
import pytest
from fitness.health.v1 import health_metrics_service_pb2 as pb
from grpc_health.v1 import health_pb2, health_pb2_grpc
from prometheus_client import CollectorRegistry

from deploy import embedded_postgres
from deploy.local import free_port
from services.common.dependency import DEPENDENCY_TRAILER
from services.common.trust import GATEWAY, HEALTH
from services.health_metrics.__main__ import SERVICE_NAME, HealthProcess, ensure_database
from services.health_metrics.config import HealthSettings
from services.health_metrics.metrics import HealthMetrics
from tests.helpers import ServiceCerts, channel_as, server_reachable_dir
from tests.integration.test_health_grpc import (
    Stub,
    at,
    eventually,
    refreshed,
    series,
    serving,
    write,
)


async def test_the_metrics_count_points_by_metric_and_see_the_dirty_minutes_drain(
    postgres_url: str, service_certs: ServiceCerts
) -> None:
    registry = CollectorRegistry()
    settings = health_settings(postgres_url, service_certs, refresh_interval_seconds=0.05)
    process = HealthProcess(settings, HealthMetrics(registry))
    await process.start()
    channel = channel_as(service_certs, GATEWAY, HEALTH, process.bound_address)
    try:
        stub = Stub(channel)
        batch = write("steps", (at(0), 1.0), (at(1), 2.0), (at(2), 2000.0))
        await stub.WritePoints(batch)
        await stub.WritePoints(batch)

        def sample(name: str, **labels: str) -> float:
            return registry.get_sample_value(name, labels) or 0.0

        counted = {
            o: sample("health_points_total", metric="steps", outcome=o)
            for o in ("changed", "unchanged", "rejected")
        }
        assert counted == {"changed": 2, "unchanged": 2, "rejected": 2}
        await refreshed(stub, series("steps", "1m"), 2)
        assert sample("health_refreshed_buckets_total", resolution="1m") >= 2
        assert sample("health_dirty_minutes") == 0
        assert sample("health_refresh_lag_seconds") == 0
        assert sample("health_refresh_seconds_count") >= 1
    finally:
        await channel.close()
        await process.stop(grace=0)


def health_settings(database_url: str, certs: ServiceCerts, **options: Any) -> HealthSettings:
    """Settings of a service on loopback over mTLS."""
    files = certs.of(HEALTH)
    return HealthSettings(
        port=0,
        database_url=database_url,
        tls_ca_file=files.ca,
        tls_cert_file=files.cert,
        tls_key_file=files.key,
        worker_threads=4,
        **options,
    )


@pytest.fixture
def stoppable_postgres() -> Iterator[tuple[Path, int]]:
    """A PostgreSQL of this test's own (data dir, port), which the test stops and starts."""
    with server_reachable_dir("pytest-health-pg-") as root:
        yield root / "data", free_port()


async def test_the_service_answers_unavailable_while_its_database_is_down_and_recovers(
    stoppable_postgres: tuple[Path, int], service_certs: ServiceCerts
) -> None:
    data, port = stoppable_postgres
    server = embedded_postgres.start(data, port)
    url = embedded_postgres.create_database(server.url, "health")
    try:
        async for stub in serving(url, service_certs):
            assert (await stub.WritePoints(write("hrv", (at(0), 40.0)))).accepted == 1
            server.stop()
            for call in (
                stub.WritePoints(write("hrv", (at(1), 41.0))),
                stub.ReadSeries(series("hrv")),
                stub.LinkSimulatedDevice(pb.LinkSimulatedDeviceRequest(user_id="u1")),
            ):
                with pytest.raises(grpc.aio.AioRpcError) as failed:
                    await call
                assert failed.value.code() == grpc.StatusCode.UNAVAILABLE
                assert DEPENDENCY_TRAILER in tuple(failed.value.trailing_metadata() or ())
            server = embedded_postgres.start(data, port)
            await eventually(
                functools.partial(_accepts, stub, write("hrv", (at(1), 41.0))), "writes again", 20
            )
            page = await stub.ReadSeries(series("hrv"))
            assert [p.value for p in page.points] == [40.0, 41.0]
    finally:
        server.stop()


async def _accepts(stub: Stub, request: pb.WritePointsRequest) -> bool:
    """Whether the batch was stored whole (False while the database is away)."""
    try:
        reply = await stub.WritePoints(request)
    except grpc.aio.AioRpcError as error:
        if error.code() != grpc.StatusCode.UNAVAILABLE:
            raise
        return False
    return bool(reply.accepted == len(request.points))


async def test_python_m_serves_on_a_database_it_creates_and_stops_on_sigterm(
    postgres_server: str, service_certs: ServiceCerts
) -> None:
    name = f"health_{uuid.uuid4().hex[:12]}"
    url = postgres_server.rsplit("/", 1)[0] + f"/{name}"
    port, metrics = free_port(), free_port()
    files = service_certs.of(HEALTH)
    env = {
        **os.environ,
        "HEALTH_PORT": str(port),
        "HEALTH_METRICS_PORT": str(metrics),
        "HEALTH_DATABASE_URL": url,
        "HEALTH_TLS_CA_FILE": str(files.ca),
        "HEALTH_TLS_CERT_FILE": str(files.cert),
        "HEALTH_TLS_KEY_FILE": str(files.key),
    }
    child = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "services.health_metrics", env=env
    )
    channel = channel_as(service_certs, GATEWAY, HEALTH, f"127.0.0.1:{port}")
    try:
        await eventually(lambda: _serving(channel), "the child serving", 30)
        linked = await Stub(channel).LinkSimulatedDevice(
            pb.LinkSimulatedDeviceRequest(request_id="l", user_id="u1")
        )
        assert linked.created
        async with httpx.AsyncClient() as client:
            scraped = (await client.get(f"http://127.0.0.1:{metrics}/metrics", timeout=5)).text
        assert {"health_dirty_minutes", "health_refresh_seconds_count"} <= set(scraped.split())
        child.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(child.wait(), 20) == 0
    finally:
        await channel.close()
        if child.returncode is None:
            child.kill()
            await child.wait()


async def _serving(channel: grpc.aio.Channel) -> bool:
    check = health_pb2_grpc.HealthStub(channel).Check
    try:
        reply = await check(health_pb2.HealthCheckRequest(service=SERVICE_NAME), timeout=1)
    except grpc.aio.AioRpcError:
        return False
    return bool(reply.status == health_pb2.HealthCheckResponse.SERVING)


def test_instances_starting_at_once_all_find_the_database_one_of_them_created(
    postgres_server: str,
) -> None:
    url = postgres_server.rsplit("/", 1)[0] + f"/health_{uuid.uuid4().hex[:12]}"
    starting = threading.Barrier(4)
    failures: list[BaseException] = []

    def start() -> None:
        starting.wait()
        try:
            ensure_database(url)
        except Exception as error:  # the test lists whatever went wrong
            failures.append(error)

    threads = [threading.Thread(target=start) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)

    assert failures == []
    with psycopg.connect(url, connect_timeout=5) as connection:
        assert connection.execute("SELECT current_database()").fetchone() == (url.rsplit("/")[-1],)
