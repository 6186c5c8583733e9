"""The watch-log service's gRPC API on a real server and Redis: answers, refusals, faults."""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator, Awaitable
from datetime import timedelta
from typing import Any

import grpc
import pytest
from fitness.watch_logs.v1 import watch_logs_service_pb2 as pb
from fitness.watch_logs.v1 import watch_logs_service_pb2_grpc as pb_grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from deploy.local import free_port
from services.common.dependency import DEPENDENCY_TRAILER
from services.common.timeutil import format_time, utc_now
from services.common.trust import ACTIVITY, GATEWAY, WATCH_LOGS
from services.watch_logs.faults import INJECTED
from tests.helpers import ServiceCerts, channel_as, flush, start_watch_log_server


async def serving(
    redis_url: str, certs: ServiceCerts, caller: str = GATEWAY, **options: Any
) -> AsyncIterator[grpc.aio.Channel]:
    """A channel to a fresh watch-log service, presenting ``caller``'s certificate."""
    flush(redis_url)
    process = await start_watch_log_server(redis_url, certs=certs, **options)
    channel = channel_as(certs, caller, WATCH_LOGS, process.bound_address)
    try:
        yield channel
    finally:
        await channel.close()
        await process.stop(grace=0)


@pytest.fixture
async def stub(
    redis_server: str, service_certs: ServiceCerts
) -> AsyncIterator[pb_grpc.WatchLogServiceStub]:
    """The service as the gateway calls it."""
    async for channel in serving(redis_server, service_certs):
        yield pb_grpc.WatchLogServiceStub(channel)


def sample(message_id: str = "m1", **changes: Any) -> pb.WatchLog:
    """A valid running sample taken a minute ago."""
    fields: dict[str, Any] = {
        "message_id": message_id,
        "device_id": "watch-1",
        "device_model": "Fenix 8",
        "firmware": "13.2",
        "timestamp": format_time(utc_now() - timedelta(minutes=1)),
        "activity": "running",
        "duration_s": 60,
        "steps": 160,
        "heart_rate": 150,
        "calories": 12.5,
        "distance_m": 190.0,
        "floors": 1,
        "battery": 64,
        **changes,
    }
    return pb.WatchLog(**fields)


def token(entry_id: str, partition: int) -> str:
    """A page token as the service encodes one, around any values."""
    raw = json.dumps({"e": entry_id, "p": partition})
    return base64.urlsafe_b64encode(raw.encode()).decode()


async def code_of(call: Awaitable[object]) -> grpc.StatusCode:
    """The status a call ends with."""
    try:
        await call
    except grpc.aio.AioRpcError as error:
        return error.code()
    return grpc.StatusCode.OK


async def test_a_batch_is_stored_once_and_reads_back_as_sent(
    stub: pb_grpc.WatchLogServiceStub,
) -> None:
    request = pb.IngestLogsRequest(request_id="r1", user_id="u1", logs=[sample("a"), sample("b")])
    first = await stub.IngestLogs(request)
    again = await stub.IngestLogs(request)
    page = await stub.ListLogs(pb.ListLogsRequest(filter=pb.LogFilter(user_id="u1")))
    assert (first.accepted, first.duplicates, again.accepted, again.duplicates) == (2, 0, 0, 2)
    assert [stored.log for stored in page.logs] == list(request.logs)
    assert {stored.user_id for stored in page.logs} == {"u1"}
    assert page.next_page_token == ""


async def test_bad_entries_are_rejected_one_by_one(stub: pb_grpc.WatchLogServiceStub) -> None:
    logs = [sample("ok"), sample("late", timestamp="yesterday"), sample("x", battery=101)]
    reply = await stub.IngestLogs(pb.IngestLogsRequest(request_id="r", user_id="u1", logs=logs))
    assert reply.accepted == 1
    assert [(r.index, r.message_id) for r in reply.rejected] == [(1, ""), (2, "x")]
    assert "RFC 3339" in reply.rejected[0].reason


@pytest.mark.parametrize(
    "request_",
    [
        pb.IngestLogsRequest(user_id="u1"),  # no logs
        pb.IngestLogsRequest(user_id="", logs=[sample()]),
        pb.IngestLogsRequest(user_id="u\x00", logs=[sample()]),
        pb.IngestLogsRequest(user_id="u1", logs=[sample(f"m{n}") for n in range(501)]),
    ],
)
async def test_malformed_batches_are_invalid_arguments(
    stub: pb_grpc.WatchLogServiceStub, request_: pb.IngestLogsRequest
) -> None:
    assert await code_of(stub.IngestLogs(request_)) == grpc.StatusCode.INVALID_ARGUMENT


@pytest.mark.parametrize(
    "request_",
    [
        pb.ListLogsRequest(page_token="not-a-token"),
        pb.ListLogsRequest(page_token="eyJlIjogIjEtMCIsICJwIjogLTF9"),  # {"e": "1-0", "p": -1}
        pb.ListLogsRequest(page_token=token("99999999999999999999-0", 0)),  # past 2**64
        pb.ListLogsRequest(page_token=token("\u0661-0", 0)),  # an Arabic-Indic digit
        pb.ListLogsRequest(page_size=1001),
        pb.ListLogsRequest(filter=pb.LogFilter(from_time="tomorrow")),
        pb.ListLogsRequest(filter=pb.LogFilter(to_time="2026-01-01T00:00:00")),  # no offset
        pb.ListLogsRequest(
            filter=pb.LogFilter(from_time="2026-02-01T00:00:00Z", to_time="2026-01-01T00:00:00Z")
        ),
        pb.ListLogsRequest(filter=pb.LogFilter(device_id="a b")),
    ],
)
async def test_bad_list_requests_are_invalid_arguments(
    stub: pb_grpc.WatchLogServiceStub, request_: pb.ListLogsRequest
) -> None:
    assert await code_of(stub.ListLogs(request_)) == grpc.StatusCode.INVALID_ARGUMENT


async def test_aggregates_need_a_bucket_width_and_roll_up_per_user(
    stub: pb_grpc.WatchLogServiceStub,
) -> None:
    logs = [sample("a", steps=10), sample("b", steps=15, heart_rate=0)]
    await stub.IngestLogs(pb.IngestLogsRequest(request_id="r", user_id="u1", logs=logs))
    unset = pb.AggregateLogsRequest(filter=pb.LogFilter(user_id="u1"))
    assert await code_of(stub.AggregateLogs(unset)) == grpc.StatusCode.INVALID_ARGUMENT
    daily = pb.AggregateLogsRequest(filter=pb.LogFilter(user_id="u1"), width=pb.BUCKET_WIDTH_DAY)
    [bucket] = (await stub.AggregateLogs(daily)).buckets
    assert (bucket.user_id, bucket.samples, bucket.steps, bucket.max_heart_rate) == (
        "u1",
        2,
        25,
        150,
    )
    assert bucket.active_minutes == 2.0


@pytest.mark.parametrize(
    ("first", "last"),
    [
        ("2026-13-01", "2026-12-01"),
        ("", ""),
        ("2026-11-01", "2026-12-15"),
        ("2026-12-02", "2026-12-01"),
    ],
)
async def test_bad_summary_ranges_are_invalid_arguments(
    stub: pb_grpc.WatchLogServiceStub, first: str, last: str
) -> None:
    request = pb.GetDailySummariesRequest(user_id="u1", from_date=first, to_date=last)
    assert await code_of(stub.GetDailySummaries(request)) == grpc.StatusCode.INVALID_ARGUMENT


async def test_the_pipeline_status_lists_every_partition(
    stub: pb_grpc.WatchLogServiceStub,
) -> None:
    status = await stub.GetPipelineStatus(pb.GetPipelineStatusRequest())
    assert len(status.streams) == 16
    assert all(s.stream.startswith("watchlogs:{") for s in status.streams)


async def test_only_the_gateway_may_call_the_service(
    redis_server: str, service_certs: ServiceCerts
) -> None:
    async for channel in serving(redis_server, service_certs, caller=ACTIVITY):
        call = pb_grpc.WatchLogServiceStub(channel).GetPipelineStatus(pb.GetPipelineStatusRequest())
        assert await code_of(call) == grpc.StatusCode.PERMISSION_DENIED


async def test_injected_faults_fail_rpcs_as_unavailable_but_not_health_checks(
    redis_server: str, service_certs: ServiceCerts
) -> None:
    async for channel in serving(
        redis_server, service_certs, fault_error_rate=1.0, fault_methods="IngestLogs"
    ):
        faulty = pb_grpc.WatchLogServiceStub(channel)
        request = pb.IngestLogsRequest(request_id="r", user_id="u1", logs=[sample()])
        with pytest.raises(grpc.aio.AioRpcError) as failed:
            await faulty.IngestLogs(request)
        assert failed.value.code() == grpc.StatusCode.UNAVAILABLE
        assert failed.value.details() == INJECTED
        status = await faulty.GetPipelineStatus(pb.GetPipelineStatusRequest())  # not covered
        assert status.streams
        health = health_pb2_grpc.HealthStub(channel)
        reply = await health.Check(health_pb2.HealthCheckRequest())
        assert reply.status == health_pb2.HealthCheckResponse.SERVING


async def test_a_redis_outage_is_unavailable_with_the_dependency_trailer(
    service_certs: ServiceCerts,
) -> None:
    process = await start_watch_log_server(
        f"redis://127.0.0.1:{free_port()}/0", certs=service_certs, consumer_enabled=False
    )
    channel = channel_as(service_certs, GATEWAY, WATCH_LOGS, process.bound_address)
    try:
        request = pb.IngestLogsRequest(request_id="r", user_id="u1", logs=[sample()])
        with pytest.raises(grpc.aio.AioRpcError) as failed:
            await pb_grpc.WatchLogServiceStub(channel).IngestLogs(request)
    finally:
        await channel.close()
        await process.stop(grace=0)
    # The instance is fine; its Redis is not: the gateway's breaker must not count it.
    assert failed.value.code() == grpc.StatusCode.UNAVAILABLE
    assert DEPENDENCY_TRAILER in tuple(failed.value.trailing_metadata() or ())
