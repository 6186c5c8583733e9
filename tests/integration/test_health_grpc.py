"""The health-metrics service's gRPC API on a real server over mTLS and a real PostgreSQL:
each RPC's answers and refusals, the refresh loop behind the rollups, the trust matrix
(the process around it: test_health_process.py)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import grpc
import pytest
from fitness.health.v1 import health_metrics_service_pb2 as pb
from fitness.health.v1 import health_metrics_service_pb2_grpc as pb_grpc
from google.protobuf.timestamp_pb2 import Timestamp

from services.common.timeutil import utc_now
from services.common.trust import ACTIVITY, GATEWAY, HEALTH
from tests.helpers import ServiceCerts, channel_as, start_health_server
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
