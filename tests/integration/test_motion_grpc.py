"""The motion service's gRPC API on a real server and Redis: answers, refusals, outages."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import grpc
import pytest
from fitness.motion.v1 import motion_service_pb2 as pb
from fitness.motion.v1 import motion_service_pb2_grpc as pb_grpc

from deploy.local import free_port
from services.common.dependency import DEPENDENCY_TRAILER
from services.common.page_tokens import Cursor, encode_page_token
from services.common.redis import blocking_client
from services.common.timeutil import format_time, parse_time, utc_now
from services.common.trust import ACTIVITY, GATEWAY, MOTION
from services.motion.domain import Activity, ActivityState
from tests.helpers import ServiceCerts, channel_as, flush, start_motion_server
from tests.integration.test_motion_store import redis_writers
from tests.integration.test_watch_log_grpc import code_of
from tests.unit.motion_fakes import a_record


async def serving(
    redis_url: str, certs: ServiceCerts, caller: str = GATEWAY, **options: Any
) -> AsyncIterator[pb_grpc.MotionServiceStub]:
    """A stub of a fresh motion service, presenting ``caller``'s certificate."""
    process = await start_motion_server(redis_url, certs=certs, **options)
    channel = channel_as(certs, caller, MOTION, process.bound_address)
    try:
        yield pb_grpc.MotionServiceStub(channel)
    finally:
        await channel.close()
        await process.stop(grace=0)


@pytest.fixture
async def stub(
    redis_server: str, service_certs: ServiceCerts
) -> AsyncIterator[pb_grpc.MotionServiceStub]:
    """The service as the gateway calls it, on an emptied Redis."""
    flush(redis_server)
    async for made in serving(redis_server, service_certs, max_devices_per_user=2):
        yield made


def now_ms() -> int:
    """The wall clock in ms (the service's acceptance window is around it)."""
    return int(utc_now().timestamp() * 1000)


def ingest(
    message_id: str = "m1", device: str = "phone-1", user: str = "u1", *readings: pb.SensorReading
) -> pb.IngestSensorDataRequest:
    """A message of the given readings (three valid ones by default)."""
    chosen = readings or tuple(
        pb.SensorReading(
            name="accelerometer", timestamp_ms=now_ms() - 1000 + 20 * n, values=[0, 9.8, n]
        )
        for n in range(3)
    )
    return pb.IngestSensorDataRequest(
        request_id="r",
        user_id=user,
        message_id=message_id,
        session_id="s1",
        device_id=device,
        readings=chosen,
    )


def ref(device: str = "phone-1", user: str = "u1", any_owner: bool = False) -> pb.DeviceRef:
    """Who reads which device."""
    return pb.DeviceRef(user_id=user, device_id=device, any_owner=any_owner)


async def test_a_message_is_stored_once_and_its_retry_is_a_duplicate(
    stub: pb_grpc.MotionServiceStub,
) -> None:
    request = ingest()
    first = await stub.IngestSensorData(request)
    again = await stub.IngestSensorData(request)
    assert (first.accepted, first.duplicate, again.accepted, again.duplicate) == (3, False, 3, True)
    devices = await stub.ListDevices(pb.ListDevicesRequest(user_id="u1"))
    assert [(d.device_id, d.user_id) for d in devices.devices] == [("phone-1", "u1")]
    assert abs(parse_time(devices.devices[0].first_seen).timestamp() * 1000 - now_ms()) < 60_000


async def test_a_message_with_no_valid_reading_is_answered_with_every_rejection(
    stub: pb_grpc.MotionServiceStub,
) -> None:
    readings = [
        pb.SensorReading(name="accelerometer", timestamp_ms=0, values=[1, 2, 3]),
        pb.SensorReading(name="accelerometer", timestamp_ms=now_ms(), values=[float("nan"), 1, 2]),
    ]
    reply = await stub.IngestSensorData(ingest("m1", "phone-1", "u1", *readings))
    assert (reply.accepted, reply.duplicate) == (0, False)
    assert [(r.index, r.reason[:9]) for r in reply.rejected] == [(0, "timestamp"), (1, "values[0]")]
    assert (await stub.ListDevices(pb.ListDevicesRequest(user_id="u1"))).devices == []


@pytest.mark.parametrize(
    "request_",
    [
        pb.IngestSensorDataRequest(user_id="u1", message_id="m", session_id="s", device_id="d"),
        ingest("has space"),
        ingest("m1", "phone\x00"),
        ingest("m1", "phone-1", ""),
        ingest(
            "m1", "phone-1", "u1", *[pb.SensorReading(name="x", timestamp_ms=1, values=[1])] * 1001
        ),
    ],
    ids=["no-readings", "message-id", "device-id", "user-id", "1001-readings"],
)
async def test_malformed_messages_are_invalid_arguments(
    stub: pb_grpc.MotionServiceStub, request_: pb.IngestSensorDataRequest
) -> None:
    assert await code_of(stub.IngestSensorData(request_)) == grpc.StatusCode.INVALID_ARGUMENT


async def test_another_users_device_is_permission_denied_and_a_third_device_exhausted(
    stub: pb_grpc.MotionServiceStub,
) -> None:
    await stub.IngestSensorData(ingest("m1", "phone-1", "alice"))
    refused = await code_of(stub.IngestSensorData(ingest("m2", "phone-1", "mallory")))
    assert refused == grpc.StatusCode.PERMISSION_DENIED
    await stub.IngestSensorData(ingest("m1", "phone-2", "alice"))
    third = await code_of(stub.IngestSensorData(ingest("m1", "phone-3", "alice")))
    assert third == grpc.StatusCode.RESOURCE_EXHAUSTED


async def test_reads_are_the_owners_or_an_admins_and_unknown_devices_not_found(
    stub: pb_grpc.MotionServiceStub,
) -> None:
    await stub.IngestSensorData(ingest())
    mine = await stub.GetCurrentActivity(pb.GetCurrentActivityRequest(device=ref()))
    assert (mine.activity, mine.confidence, mine.since, mine.window_end) == (
        pb.ACTIVITY_UNKNOWN,
        0,
        "",
        "",
    )
    other = stub.GetCurrentActivity(pb.GetCurrentActivityRequest(device=ref(user="mallory")))
    assert await code_of(other) == grpc.StatusCode.PERMISSION_DENIED
    admin = pb.GetCurrentActivityRequest(device=ref(user="boss", any_owner=True))
    assert (await stub.GetCurrentActivity(admin)).device_id == "phone-1"
    unknown = stub.GetCurrentActivity(pb.GetCurrentActivityRequest(device=ref("phone-9")))
    assert await code_of(unknown) == grpc.StatusCode.NOT_FOUND


async def test_timeline_distribution_and_records_read_what_the_processor_wrote(
    stub: pb_grpc.MotionServiceStub, redis_server: str
) -> None:
    await stub.IngestSensorData(ingest())
    start = now_ms() - 3_600_000
    client = blocking_client(redis_server, 5.0)
    put_record, put_state = redis_writers(client)
    for n in range(6):
        put_record(a_record(start + n * 2500, Activity.WALKING if n < 4 else Activity.RUNNING))
    put_state(ActivityState("phone-1", Activity.RUNNING, 0.75, start + 10_000, start + 20_000))
    client.close()
    span = pb.TimeRange(from_time=_at(start - 1000), to_time=_at(start + 60_000))
    timeline = await stub.GetActivityTimeline(
        pb.GetActivityTimelineRequest(device=ref(), range=span)
    )
    assert [(s.activity, s.start, s.end) for s in timeline.segments] == [
        (pb.ACTIVITY_WALKING, _at(start), _at(start + 10_000)),
        (pb.ACTIVITY_RUNNING, _at(start + 10_000), _at(start + 15_000)),
    ]
    assert timeline.next_page_token == ""
    shares = await stub.GetActivityDistribution(
        pb.GetActivityDistributionRequest(device=ref(), range=span)
    )
    assert [(s.activity, s.seconds) for s in shares.shares] == [
        (pb.ACTIVITY_UNKNOWN, 0),
        (pb.ACTIVITY_STATIONARY, 0),
        (pb.ACTIVITY_WALKING, 10),
        (pb.ACTIVITY_RUNNING, 5),
    ]
    page = await stub.ListActivityRecords(
        pb.ListActivityRecordsRequest(device=ref(), range=span, page_size=4)
    )
    rest = await stub.ListActivityRecords(
        pb.ListActivityRecordsRequest(device=ref(), range=span, page_token=page.next_page_token)
    )
    assert [r.window_key for r in [*page.records, *rest.records]] == [
        f"s1/{start + n * 2500}" for n in range(6)
    ]
    assert rest.next_page_token == ""
    current = await stub.GetCurrentActivity(pb.GetCurrentActivityRequest(device=ref()))
    assert (current.activity, current.since) == (pb.ACTIVITY_RUNNING, _at(start + 10_000))


def _at(ms: int) -> str:
    """RFC 3339 UTC of a time in ms, as the service writes it."""
    return format_time(datetime.fromtimestamp(ms / 1000, UTC))


@pytest.mark.parametrize(
    "request_",
    [
        pb.ListActivityRecordsRequest(device=ref(), page_token="not-a-token"),
        pb.ListActivityRecordsRequest(
            device=ref(),
            page_token=encode_page_token(Cursor(parse_time("2030-01-01T00:00:00Z"), "timeline")),
        ),
        pb.ListActivityRecordsRequest(device=ref(), page_size=1001),
        pb.ListActivityRecordsRequest(device=ref(), range=pb.TimeRange(from_time="yesterday")),
        pb.ListActivityRecordsRequest(
            device=ref(),
            range=pb.TimeRange(from_time="2030-01-09T00:00:00Z", to_time="2030-01-01T00:00:00Z"),
        ),
        pb.ListActivityRecordsRequest(
            device=ref(),
            range=pb.TimeRange(from_time="2030-01-01T00:00:00Z", to_time="2030-01-09T00:00:00Z"),
        ),
        pb.ListActivityRecordsRequest(device=ref("phone 1")),
    ],
    ids=[
        "garbage-token",
        "timeline-token",
        "page-size",
        "bad-time",
        "reversed",
        "over-7-days",
        "device-id",
    ],
)
async def test_bad_read_arguments_are_invalid_arguments(
    stub: pb_grpc.MotionServiceStub, request_: pb.ListActivityRecordsRequest
) -> None:
    await stub.IngestSensorData(ingest())
    assert await code_of(stub.ListActivityRecords(request_)) == grpc.StatusCode.INVALID_ARGUMENT


async def test_a_forged_timeline_token_is_an_invalid_argument(
    stub: pb_grpc.MotionServiceStub,
) -> None:
    await stub.IngestSensorData(ingest())
    naive = encode_page_token(
        Cursor(parse_time("2030-01-01T00:00:00Z").replace(tzinfo=None), "timeline")
    )
    request = pb.GetActivityTimelineRequest(device=ref(), page_token=naive)
    assert await code_of(stub.GetActivityTimeline(request)) == grpc.StatusCode.INVALID_ARGUMENT


async def test_redis_down_is_unavailable_with_the_dependency_trailer(
    service_certs: ServiceCerts,
) -> None:
    dead = f"redis://127.0.0.1:{free_port()}/0"
    async for dead_stub in serving(dead, service_certs, redis_timeout=0.2):
        call = dead_stub.IngestSensorData(ingest())
        with pytest.raises(grpc.aio.AioRpcError) as failed:
            await call
        assert failed.value.code() == grpc.StatusCode.UNAVAILABLE
        assert DEPENDENCY_TRAILER in tuple(failed.value.trailing_metadata() or ())


async def test_only_the_gateway_may_call_the_service(
    redis_server: str, service_certs: ServiceCerts
) -> None:
    async for foreign in serving(redis_server, service_certs, caller=ACTIVITY):
        refused = foreign.ListDevices(pb.ListDevicesRequest(user_id="u1"))
        assert await code_of(refused) == grpc.StatusCode.PERMISSION_DENIED
