"""The health-metrics service's gRPC API on a real server over mTLS and a real PostgreSQL:
each RPC's answers and refusals, the refresh loop behind the rollups, the trust matrix,
an outage of the database, and ``python -m services.health_metrics`` itself."""

from __future__ import annotations

import asyncio
import functools
import os
import signal
import sys
import threading
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import grpc
import httpx
import psycopg
import pytest
from fitness.health.v1 import health_metrics_service_pb2 as pb
from fitness.health.v1 import health_metrics_service_pb2_grpc as pb_grpc
from google.protobuf.timestamp_pb2 import Timestamp
from grpc_health.v1 import health_pb2, health_pb2_grpc
from prometheus_client import CollectorRegistry

from deploy import embedded_postgres
from deploy.local import free_port
from services.common.dependency import DEPENDENCY_TRAILER
from services.common.timeutil import utc_now
from services.common.trust import ACTIVITY, GATEWAY, HEALTH
from services.health_metrics.__main__ import SERVICE_NAME, HealthProcess, ensure_database
from services.health_metrics.config import HealthSettings
from services.health_metrics.metrics import HealthMetrics
from tests.helpers import ServiceCerts, channel_as, server_reachable_dir, start_health_server
from tests.integration.test_watch_log_grpc import code_of

Stub = pb_grpc.HealthMetricsServiceStub
# A whole hour, a day ago: inside the accepted window (2000 to now + 5 min) and all past.
HOUR = (utc_now() - timedelta(days=1)).replace(minute=0, second=0, microsecond=0)
DAY = HOUR.date()
DAY_START = datetime(DAY.year, DAY.month, DAY.day, tzinfo=UTC)
INVALID = grpc.StatusCode.INVALID_ARGUMENT


async def serving(
    database_url: str, certs: ServiceCerts, caller: str = GATEWAY, **options: Any
) -> AsyncIterator[Stub]:
    """A stub of a fresh health-metrics service, presenting ``caller``'s certificate."""
    process = await start_health_server(database_url, certs=certs, **options)
    channel = channel_as(certs, caller, HEALTH, process.bound_address)
    try:
        yield Stub(channel)
    finally:
        await channel.close()
        await process.stop(grace=0)


@pytest.fixture
async def stub(postgres_url: str, service_certs: ServiceCerts) -> AsyncIterator[Stub]:
    """The service as the gateway calls it, on a new, empty database."""
    async for made in serving(postgres_url, service_certs):
        yield made


def at(minutes: float = 0, seconds: float = 0) -> datetime:
    """A time that far after HOUR."""
    return HOUR + timedelta(minutes=minutes, seconds=seconds)


def write(metric: str, *pairs: tuple[datetime, float], user: str = "u1") -> pb.WritePointsRequest:
    """A batch of (time, value) points."""
    points = [pb.MetricPoint(time=moment, value=value) for moment, value in pairs]
    return pb.WritePointsRequest(request_id="r", user_id=user, metric=metric, points=points)


def series(
    metric: str = "heart_rate",
    resolution: str = "raw",
    start: datetime = HOUR,
    end: datetime = HOUR + timedelta(hours=1),
    **fields: Any,
) -> pb.ReadSeriesRequest:
    """A read of u1's series over [start, end)."""
    request = pb.ReadSeriesRequest(
        user_id="u1", metric=metric, resolution=resolution, to=end, **{"fill": "none", **fields}
    )
    return since(request, start)


Ranged = TypeVar("Ranged", pb.ReadSeriesRequest, pb.DeletePointsRequest, pb.ReadSleepRequest)


def since(request: Ranged, start: datetime) -> Ranged:
    """The request with its ``from`` (a Python keyword) set to ``start``."""
    getattr(request, "from").FromDatetime(start)
    return request


def when(point: pb.SeriesPoint | Timestamp) -> datetime:
    """The aware UTC time of a series point (or a Timestamp)."""
    stamp = point if isinstance(point, Timestamp) else point.time
    return stamp.ToDatetime(tzinfo=UTC)


async def eventually(check: Callable[[], Awaitable[bool]], what: str, within: float = 10.0) -> None:
    """Poll ``check`` until it holds."""
    deadline = asyncio.get_running_loop().time() + within
    while not await check():
        assert asyncio.get_running_loop().time() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.05)


async def refreshed(stub: Stub, request: pb.ReadSeriesRequest, count: int) -> pb.ReadSeriesResponse:
    """The read once the refresh loop has rolled ``count`` points into its buckets."""
    found: list[pb.ReadSeriesResponse] = []

    async def check() -> bool:
        found[:] = [await stub.ReadSeries(request)]
        return sum(p.count for p in found[0].points) == count

    await eventually(check, f"{count} points in the rollups")
    return found[0]


async def test_a_batch_is_stored_once_and_a_new_value_is_a_correction(stub: Stub) -> None:
    batch = write("heart_rate", (at(0), 60.0), (at(0, 1), 61.0))

    first = await stub.WritePoints(batch)
    again = await stub.WritePoints(batch)
    corrected = await stub.WritePoints(write("heart_rate", (at(0), 70.0), (at(0, 1), 61.0)))

    assert (first.accepted, first.unchanged, list(first.rejected)) == (2, 0, [])
    assert (again.accepted, again.unchanged) == (2, 2)
    assert (corrected.accepted, corrected.unchanged) == (2, 1)
    page = await stub.ReadSeries(series())
    assert [(when(p), p.value, p.min, p.max, p.count, p.imputed) for p in page.points] == [
        (at(0), 70.0, 70.0, 70.0, 1, False),
        (at(0, 1), 61.0, 61.0, 61.0, 1, False),
    ]
    assert (page.metric, page.unit, page.resolution, page.next_page_token) == (
        "heart_rate",
        "bpm",
        "raw",
        "",
    )


async def test_points_out_of_range_are_rejected_by_index_and_the_others_stored(
    stub: Stub,
) -> None:
    batch = write("spo2", (at(0), 97.0), (at(1), 101.0), (datetime(1999, 12, 31, tzinfo=UTC), 97.0))
    batch.points.add(value=96.0)  # no time: 1970, before the accepted window

    reply = await stub.WritePoints(batch)

    assert (reply.accepted, reply.unchanged) == (1, 0)
    assert [r.index for r in reply.rejected] == [1, 2, 3]
    assert all(r.reason for r in reply.rejected)
    page = await stub.ReadSeries(series("spo2"))
    assert [p.value for p in page.points] == [97.0]


@pytest.mark.parametrize(
    "request_",
    [
        write("weight", (at(0), 70.0)),
        write("heart_rate"),
        write("heart_rate", (at(0), 60.0), (at(0), 61.0)),
        write("heart_rate", *[(at(0, n), 60.0) for n in range(10_001)]),
        write("heart_rate", (at(0), 60.0), user=""),
        write("heart_rate", (at(0), 60.0), user="u\x00"),
        pb.WritePointsRequest(
            user_id="u1",
            metric="heart_rate",
            points=[pb.MetricPoint(time=Timestamp(seconds=2**40), value=60.0)],
        ),
    ],
    ids=["metric", "no-points", "same-time", "10001-points", "no-user", "control", "timestamp"],
)
async def test_malformed_batches_are_invalid_arguments(
    stub: Stub, request_: pb.WritePointsRequest
) -> None:
    assert await code_of(stub.WritePoints(request_)) == INVALID


async def test_the_refresh_loop_rolls_points_into_minutes_hours_and_days(stub: Stub) -> None:
    await stub.WritePoints(write("steps", (at(0), 10.0), (at(0, 30), 5.0), (at(2), 7.0)))
    await stub.WritePoints(write("heart_rate", (at(0), 60.0), (at(0, 30), 80.0)))

    minutes = await refreshed(stub, series("steps", "1m"), 3)
    day = DAY.isoformat()
    days = await stub.ReadSeries(
        series("steps", "1d", HOUR - timedelta(days=1), HOUR + timedelta(days=1))
    )
    heart = await refreshed(stub, series("heart_rate", "1h"), 2)

    # Steps add up over a bucket; a heart rate's bucket value is its mean.
    assert [(when(p), p.value, p.count) for p in minutes.points] == [
        (at(0), 15.0, 2),
        (at(2), 7.0, 1),
    ]
    assert [(when(p).date().isoformat(), p.value, p.count) for p in days.points] == [(day, 22.0, 3)]
    assert [(p.value, p.min, p.max) for p in heart.points] == [(70.0, 60.0, 80.0)]


async def test_pages_return_every_point_once_and_fill_linear_flags_what_it_imputes(
    stub: Stub,
) -> None:
    await stub.WritePoints(write("heart_rate", (at(0), 60.0), (at(3), 90.0), (at(4), 80.0)))
    await refreshed(stub, series(resolution="1m"), 3)

    first = await stub.ReadSeries(series(resolution="1m", fill="linear", page_size=2))
    second = await stub.ReadSeries(
        series(resolution="1m", fill="linear", page_size=2, page_token=first.next_page_token)
    )

    points = [*first.points, *second.points]
    assert [(when(p), p.value, p.imputed, p.count) for p in points] == [
        (at(0), 60.0, False, 1),
        (at(1), 70.0, True, 0),
        (at(2), 80.0, True, 0),
        (at(3), 90.0, False, 1),
        (at(4), 80.0, False, 1),
    ]
    assert first.next_page_token
    assert second.next_page_token == ""


@pytest.mark.parametrize(
    "fields",
    [
        {"resolution": "raw", "fill": "linear"},
        {"resolution": "5m"},
        {"fill": "cubic"},
        {"page_size": 10_001},
        {"page_token": "not-a-token"},
        {"end": HOUR},
        {"end": HOUR + timedelta(days=401)},
        {"metric": "weight"},
    ],
    ids=["raw-linear", "resolution", "fill", "page-size", "token", "empty", "401-days", "metric"],
)
async def test_malformed_reads_are_invalid_arguments(stub: Stub, fields: dict[str, Any]) -> None:
    assert await code_of(stub.ReadSeries(series(**fields))) == INVALID


async def test_a_page_token_is_refused_by_another_query_and_missing_times_too(stub: Stub) -> None:
    await stub.WritePoints(write("heart_rate", (at(0), 60.0), (at(1), 61.0)))
    token = (await stub.ReadSeries(series(page_size=1))).next_page_token

    other = series("spo2", page_size=1, page_token=token)
    no_from = pb.ReadSeriesRequest(user_id="u1", metric="heart_rate", resolution="raw", to=HOUR)

    assert token
    assert await code_of(stub.ReadSeries(other)) == INVALID
    assert await code_of(stub.ReadSeries(no_from)) == INVALID


async def test_a_delete_removes_the_range_and_the_rollups_follow(stub: Stub) -> None:
    await stub.WritePoints(write("heart_rate", (at(0), 60.0), (at(1), 62.0), (at(2), 64.0)))
    await refreshed(stub, series(resolution="1m"), 3)
    request = pb.DeletePointsRequest(request_id="d", user_id="u1", metric="heart_rate", to=at(2))
    delete = since(request, at(0))

    deleted = await stub.DeletePoints(delete)
    again = await stub.DeletePoints(delete)

    assert (deleted.deleted, again.deleted) == (2, 0)
    left = await refreshed(stub, series(resolution="1m"), 1)
    assert [(when(p), p.value) for p in left.points] == [(at(2), 64.0)]


@pytest.mark.parametrize(
    "request_",
    [
        since(pb.DeletePointsRequest(user_id="u1", metric="heart_rate"), HOUR),
        since(pb.DeletePointsRequest(user_id="u1", metric="heart_rate", to=HOUR), HOUR),
        since(pb.DeletePointsRequest(user_id="u1", metric="pulse", to=at(1)), HOUR),
        since(pb.DeletePointsRequest(user_id="", metric="heart_rate", to=at(1)), HOUR),
    ],
    ids=["no-to", "empty-range", "metric", "no-user"],
)
async def test_malformed_deletes_are_invalid_arguments(
    stub: Stub, request_: pb.DeletePointsRequest
) -> None:
    assert await code_of(stub.DeletePoints(request_)) == INVALID


def night(start: datetime, *stages: tuple[str, int]) -> pb.SleepSession:
    """A session of consecutive (stage, minutes) spans from ``start``."""
    spans, moment = [], start
    for stage, minutes in stages:
        end = moment + timedelta(minutes=minutes)
        spans.append(pb.SleepStageSpan(stage=stage, start=moment, end=end))
        moment = end
    return pb.SleepSession(start=start, end=moment, stages=spans)


async def test_sleep_is_stored_by_start_and_read_back_with_minutes_per_stage(stub: Stub) -> None:
    session = night(at(0), ("light", 30), ("deep", 60), ("wake", 5), ("rem", 25))
    request = pb.WriteSleepRequest(request_id="s", user_id="u1", sessions=[session])

    first, again = await stub.WriteSleep(request), await stub.WriteSleep(request)
    read = await stub.ReadSleep(since(pb.ReadSleepRequest(user_id="u1", to=at(24 * 60)), HOUR))

    assert (first.accepted, first.unchanged, again.accepted, again.unchanged) == (1, 0, 1, 1)
    [summary] = read.sessions
    assert summary.session == session
    assert summary.night == (at(120)).date().isoformat()
    assert {m.stage: m.minutes for m in summary.minutes} == {
        "deep": 60.0,
        "light": 30.0,
        "rem": 25.0,
        "wake": 5.0,
    }
    assert summary.asleep_minutes == 115.0


@pytest.mark.parametrize(
    "session",
    [
        night(at(0), ("nap", 30)),
        night(at(0), ("light", 30), ("deep", 1500)),
        pb.SleepSession(start=at(0), stages=[pb.SleepStageSpan(stage="light", start=at(0))]),
        pb.SleepSession(start=at(0), end=at(30)),
        pb.SleepSession(
            start=at(0),
            end=at(30),
            stages=[
                pb.SleepStageSpan(stage="light", start=at(0), end=at(20)),
                pb.SleepStageSpan(stage="deep", start=at(10), end=at(30)),
            ],
        ),
    ],
    ids=["stage", "over-24h", "no-end", "no-stages", "overlap"],
)
async def test_malformed_sleep_is_an_invalid_argument(stub: Stub, session: pb.SleepSession) -> None:
    request = pb.WriteSleepRequest(user_id="u1", sessions=[session])

    assert await code_of(stub.WriteSleep(request)) == INVALID


async def test_reading_sleep_needs_a_range(stub: Stub) -> None:
    no_to = since(pb.ReadSleepRequest(user_id="u1"), HOUR)
    backwards = since(pb.ReadSleepRequest(user_id="u1", to=HOUR), at(1))

    assert await code_of(stub.ReadSleep(no_to)) == INVALID
    assert await code_of(stub.ReadSleep(backwards)) == INVALID


async def test_a_daily_summary_holds_what_the_day_has_and_marks_the_rest_absent(
    stub: Stub,
) -> None:
    heart = [(at(m), 50.0 + m % 3) for m in range(40)]
    await stub.WritePoints(write("heart_rate", *heart))
    await stub.WritePoints(write("steps", (at(0), 100.0), (at(5), 50.0)))
    tomorrow = DAY_START + timedelta(days=1)
    await refreshed(stub, series("heart_rate", "1d", DAY_START, tomorrow), 40)
    await refreshed(stub, series("steps", "1d", DAY_START, tomorrow), 2)

    day = await stub.GetDailySummary(pb.GetDailySummaryRequest(user_id="u1", day=DAY.isoformat()))

    assert day.day == DAY.isoformat()
    assert day.resting_heart_rate.present
    assert 50.0 <= day.resting_heart_rate.value <= 52.0
    assert (day.steps.present, day.steps.value) == (True, 150.0)
    absent = [day.spo2_mean, day.hrv_mean, day.active_zone_minutes, day.breathing_rate_mean]
    assert [value.present for value in absent] == [False] * 4
    assert sorted(m.stage for m in day.sleep_minutes) == ["deep", "light", "rem", "wake"]


@pytest.mark.parametrize("day", ["", "2024-02-30", "yesterday", "1999-12-31", "9999-01-01"])
async def test_a_malformed_or_impossible_day_is_an_invalid_argument(stub: Stub, day: str) -> None:
    request = pb.GetDailySummaryRequest(user_id="u1", day=day)

    assert await code_of(stub.GetDailySummary(request)) == INVALID


async def test_linking_a_simulated_device_twice_links_it_once(stub: Stub) -> None:
    request = pb.LinkSimulatedDeviceRequest(request_id="l", user_id="u1")

    first, again = await stub.LinkSimulatedDevice(request), await stub.LinkSimulatedDevice(request)

    assert (first.created, again.created) == (True, False)
    assert first.ingested_through == again.ingested_through == ""
    empty = pb.LinkSimulatedDeviceRequest(request_id="l", user_id="")
    assert await code_of(stub.LinkSimulatedDevice(empty)) == INVALID


async def test_only_the_gateway_may_call_the_service(
    postgres_url: str, service_certs: ServiceCerts
) -> None:
    async for foreign in serving(postgres_url, service_certs, caller=ACTIVITY):
        refused = foreign.LinkSimulatedDevice(pb.LinkSimulatedDeviceRequest(user_id="u1"))
        assert await code_of(refused) == grpc.StatusCode.PERMISSION_DENIED


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
