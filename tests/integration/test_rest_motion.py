"""The motion REST API through the real gateway and the real motion service on Redis:
POST /sensor-data by a phone's owner, the /devices reads, every refusal in the one shape."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gateway.edge.creation_limit import CreationLimit, CreationSettings
from services.common.redis import blocking_client
from services.common.timeutil import parse_time
from services.motion import entries
from services.motion.domain import Activity, ActivityState, SensorMessage
from services.motion.keys import Partitions
from tests.helpers import assert_error, register_admin, register_and_login, sync_redis
from tests.integration.platform import Platform, served
from tests.integration.test_motion_store import redis_writers
from tests.unit.motion_fakes import a_record

HOUR_MS = 3_600_000
READS = ["activity", "activity/timeline", "activity/distribution", "activity/records"]


def now_ms() -> int:
    """The wall clock in ms (the service accepts readings of the last 24 hours)."""
    return int(time.time() * 1000)


def a_phone() -> str:
    """A device id no earlier test of the session's Redis has claimed."""
    return f"phone-{uuid.uuid4().hex[:12]}"


def reading(n: int = 0, **changes: Any) -> dict[str, Any]:
    """A valid accelerometer reading, n * 20 ms after a minute ago."""
    return {
        "name": "accelerometer",
        "timestamp": now_ms() - 60_000 + 20 * n,
        "values": [0.12, 9.79, -0.3],
        **changes,
    }


def body(device: str, readings: list[Any], message_id: str = "m-1") -> dict[str, Any]:
    """A message in the seed's shape."""
    return {
        "messageId": message_id,
        "sessionId": "s-1",
        "deviceId": device,
        "sensorReadings": readings,
    }


async def post(platform: Platform, headers: dict[str, str], payload: Any) -> httpx.Response:
    """POST /sensor-data with a JSON body."""
    return await platform.client.post("/sensor-data", json=payload, headers=headers)


async def post_raw(
    platform: Platform, headers: dict[str, str], text: str | bytes
) -> httpx.Response:
    """POST /sensor-data with a body as given (NaN tokens and all)."""
    typed = {**headers, "content-type": "application/json"}
    return await platform.client.post("/sensor-data", content=text, headers=typed)


def stored(redis_url: str, device: str) -> list[SensorMessage]:
    """The messages the raw stream holds for the device."""
    stream = Partitions(16).of_device(device).raw
    with sync_redis(redis_url) as client:
        rows: Any = client.xrange(stream)
    found = [entries.decode_message(entry_id, fields).message for entry_id, fields in rows]
    return [m for m in found if m.device_id == device]


async def test_a_message_is_accepted_once_and_its_retry_is_a_duplicate(
    platform: Platform, redis_server: str
) -> None:
    _, headers = await register_and_login(platform.client, "runner")
    phone = a_phone()
    message = body(phone, [reading(n) for n in range(5)])
    first = await post(platform, headers, message)
    assert first.status_code == 202, first.text
    assert first.json() == {"message_id": "m-1", "accepted": 5, "duplicate": False, "rejected": []}
    again = await post(platform, headers, message)
    assert again.status_code == 202, again.text
    assert again.json() == {"message_id": "m-1", "accepted": 5, "duplicate": True, "rejected": []}
    (kept,) = stored(redis_server, phone)
    assert len(kept.readings) == 5
    assert kept.readings[0].values == (0.12, 9.79, -0.3)


async def test_the_first_poster_owns_the_phone_and_sees_it_listed(platform: Platform) -> None:
    _, headers = await register_and_login(platform.client, "owner")
    phones = [a_phone(), a_phone()]
    for phone in phones:
        assert (await post(platform, headers, body(phone, [reading()]))).status_code == 202
    listed = await platform.client.get("/devices", headers=headers)
    assert listed.status_code == 200, listed.text
    devices = listed.json()["devices"]
    assert sorted(d["device_id"] for d in devices) == sorted(phones)
    assert all(parse_time(d["first_seen"]) for d in devices)


async def test_each_bad_reading_is_rejected_with_its_index_and_the_rest_stored(
    platform: Platform, redis_server: str
) -> None:
    _, headers = await register_and_login(platform.client, "mixed")
    phone = a_phone()
    readings: list[Any] = [
        reading(0),
        reading(1, values=["1", 2, 3]),
        reading(2, values=[True, 2, 3]),
        reading(3, values=[None, 2, 3]),
        reading(4, values=[1, 2]),
        reading(5, values=[1e7, 0, 0]),
        reading(6, timestamp=now_ms() - 25 * HOUR_MS),
        reading(7, timestamp=now_ms() + HOUR_MS),
        reading(8, timestamp=1.5e12),
        reading(9, timestamp="now"),
        reading(10, name="Accel"),
        reading(11, colour="red"),
        "not an object",
        reading(13, name="light", values=[120.5]),
        reading(14, name="light", values=list(range(17))),
    ]
    response = await post(platform, headers, body(phone, readings))
    assert response.status_code == 202, response.text
    answer = response.json()
    assert answer["accepted"] == 2
    reasons = {r["index"]: r["reason"] for r in answer["rejected"]}
    assert sorted(reasons) == [*range(1, 13), 14]
    for index, word in {
        1: "values.0",
        4: "[x, y, z]",
        5: "values.0",
        6: "older",
        7: "future",
        8: "timestamp",
        9: "timestamp",
        10: "name",
        11: "colour",
        14: "values",
    }.items():
        assert word in reasons[index], (index, reasons[index])
    (kept,) = stored(redis_server, phone)
    assert [r.name for r in kept.readings] == ["accelerometer", "light"]


@pytest.mark.parametrize("token", ["NaN", "Infinity", "-Infinity", "1e400", "-1e999"])
async def test_nan_and_infinite_number_tokens_are_rejected_readings(
    platform: Platform, token: str
) -> None:
    _, headers = await register_and_login(platform.client, "nan")
    phone = a_phone()
    ok = json.dumps(reading(0))
    bad = json.dumps(reading(1)).replace("-0.3", token)
    text = json.dumps(body(phone, [])).replace("[]", f"[{ok}, {bad}]")
    response = await post_raw(platform, headers, text)
    assert response.status_code == 202, response.text
    assert [r["index"] for r in response.json()["rejected"]] == [1]
    assert "finite" in response.json()["rejected"][0]["reason"]


async def test_a_nan_timestamp_or_a_huge_integer_is_a_rejected_reading(platform: Platform) -> None:
    _, headers = await register_and_login(platform.client, "huge")
    phone = a_phone()
    ok = json.dumps(reading(0))
    nan_time = json.dumps(reading(1, timestamp=0)).replace('"timestamp": 0', '"timestamp": NaN')
    huge_time = json.dumps(reading(2, timestamp=10**30))
    huge_value = json.dumps(reading(3, values=[10**300, 0, 0]))
    text = json.dumps(body(phone, [])).replace(
        "[]", f"[{ok}, {nan_time}, {huge_time}, {huge_value}]"
    )
    response = await post_raw(platform, headers, text)
    assert response.status_code == 202, response.text
    assert [r["index"] for r in response.json()["rejected"]] == [1, 2, 3]


async def test_a_message_of_which_nothing_is_stored_is_a_422_listing_every_rejection(
    platform: Platform, redis_server: str
) -> None:
    _, headers = await register_and_login(platform.client, "allbad")
    phone = a_phone()
    readings = [reading(0, timestamp=0), reading(1, values=[1, 2])]
    error = assert_error(await post(platform, headers, body(phone, readings)), 422)
    rejected = error["rejected"]
    assert isinstance(rejected, list)
    assert [r["index"] for r in rejected] == [0, 1]
    assert "older" in rejected[0]["reason"]
    assert stored(redis_server, phone) == []
    assert (await platform.client.get("/devices", headers=headers)).json() == {"devices": []}


@pytest.mark.parametrize(
    "payload",
    [
        [],
        {"sessionId": "s", "deviceId": "d", "sensorReadings": [{}]},
        {"message_id": "m", "session_id": "s", "device_id": "d", "sensor_readings": [{}]},
        {"messageId": "m", "sessionId": "s", "deviceId": "d", "sensorReadings": {}},
        {"messageId": "m", "sessionId": "s", "deviceId": "d", "sensorReadings": []},
        {"messageId": "m", "sessionId": "s", "deviceId": "d", "sensorReadings": [{}] * 1001},
        {"messageId": "m", "sessionId": "s", "deviceId": "d", "sensorReadings": [{}], "x": 1},
        {"messageId": "m 1", "sessionId": "s", "deviceId": "d", "sensorReadings": [{}]},
        {"messageId": "m", "sessionId": "s\x00", "deviceId": "d", "sensorReadings": [{}]},
        {"messageId": "m", "sessionId": "s", "deviceId": "ph\u202eone", "sensorReadings": [{}]},
        {"messageId": "m", "sessionId": "s", "deviceId": "d" * 65, "sensorReadings": [{}]},
        {"messageId": 7, "sessionId": "s", "deviceId": "d", "sensorReadings": [{}]},
        {"messageId": None, "sessionId": "s", "deviceId": "d", "sensorReadings": [{}]},
        {"messageId": "m", "sessionId": "s", "deviceId": "d", "sensorReadings": None},
    ],
    ids=[
        "array",
        "no-message-id",
        "snake-case",
        "readings-object",
        "no-readings",
        "1001-readings",
        "extra-field",
        "id-space",
        "id-control",
        "id-bidi",
        "id-65",
        "id-number",
        "id-null",
        "readings-null",
    ],
)
async def test_a_malformed_envelope_is_a_422(platform: Platform, payload: Any) -> None:
    _, headers = await register_and_login(platform.client, "envelope")
    response = await post(platform, headers, payload)
    assert "rejected" not in assert_error(response, 422)


@pytest.mark.parametrize(
    ("text", "status"),
    [
        (
            b'{"messageId": "\\ud800", "sessionId": "s", "deviceId": "d", "sensorReadings": [{}]}',
            422,
        ),
        (b'{"messageId": "m\xff", "sessionId": "s", "deviceId": "d", "sensorReadings": [{}]}', 422),
        (b"{" * 5000, 422),
        (b'{"messageId": "m",', 422),
        (b"", 422),
        # Python's int() refuses more than 4300 digits: FastAPI answers "error parsing the
        # body" with 400, in the one shape, as on every route.
        (
            b'{"messageId": "m", "sessionId": "s", "deviceId": "d", "sensorReadings": ['
            + b"1" * 5000
            + b"]}",
            400,
        ),
    ],
    ids=["lone-surrogate", "invalid-utf8", "deep-nesting", "truncated", "empty", "5000-digits"],
)
async def test_unreadable_bodies_are_refused_in_the_error_shape(
    platform: Platform, text: bytes, status: int
) -> None:
    _, headers = await register_and_login(platform.client, "unreadable")
    assert_error(await post_raw(platform, headers, text), status)


async def test_a_body_over_64_kib_is_taken_and_one_over_256_kib_is_a_413(
    platform: Platform,
) -> None:
    _, headers = await register_and_login(platform.client, "bulky")
    values = [0.123456789012345, 9.812345678901234, -0.312345678901234]
    readings = [reading(n, values=values) for n in range(1000)]
    text = json.dumps(body(a_phone(), readings)).encode()
    assert 64 * 1024 < len(text) < 256 * 1024
    taken = await post_raw(platform, headers, text)
    assert taken.status_code == 202, taken.text
    assert taken.json()["accepted"] == 1000
    padded = text[:-1] + b" " * (256 * 1024) + b"}"
    assert_error(await post_raw(platform, headers, padded), 413)

    async def chunks() -> AsyncIterator[bytes]:  # no Content-Length: counted as it arrives
        for start in range(0, len(padded), 32 * 1024):
            yield padded[start : start + 32 * 1024]

    typed = {**headers, "content-type": "application/json"}
    streamed = await platform.client.post("/sensor-data", content=chunks(), headers=typed)
    assert_error(streamed, 413)


async def test_a_smaller_configured_reading_limit_is_a_422(platform: Platform) -> None:
    _, headers = await register_and_login(platform.client, "limited")
    platform.app.state.settings.motion_max_readings = 2
    try:
        response = await post(platform, headers, body(a_phone(), [reading(n) for n in range(3)]))
    finally:
        platform.app.state.settings.motion_max_readings = 1000
    assert "at most 2" in str(assert_error(response, 422)["message"])


async def test_past_his_hourly_quota_of_readings_a_user_gets_a_429_and_others_do_not(
    platform: Platform,
) -> None:
    _, heavy = await register_and_login(platform.client, "heavy")
    _, light = await register_and_login(platform.client, "light")
    shared = platform.app.state.motion_quota
    platform.app.state.motion_quota = CreationLimit(
        platform.app.state.redis.commands,
        CreationSettings(max_creates=5, window=3600),
        prefix=f"test-quota-{uuid.uuid4().hex}",
        refusal="too many sensor readings this hour, retry later",
    )
    phone = a_phone()
    try:
        first = await post(platform, heavy, body(phone, [reading(n) for n in range(3)]))
        refused = await post(platform, heavy, body(phone, [reading(n) for n in range(3)], "m-2"))
        other = await post(platform, light, body(a_phone(), [reading()]))
    finally:
        platform.app.state.motion_quota = shared
    assert first.json()["accepted"] == 3
    assert "too many sensor readings" in str(assert_error(refused, 429)["message"])
    assert 0 < int(refused.headers["Retry-After"]) <= 3600
    assert other.status_code == 202, other.text


async def test_a_user_past_his_device_limit_gets_a_429_and_keeps_his_phones(
    platform: Platform,
) -> None:
    _, headers = await register_and_login(platform.client, "collector")
    phones = [a_phone() for _ in range(10)]
    for phone in phones:
        assert (await post(platform, headers, body(phone, [reading()]))).status_code == 202
    assert_error(await post(platform, headers, body(a_phone(), [reading()])), 429)
    again = await post(platform, headers, body(phones[0], [reading()], "m-2"))
    assert again.status_code == 202, again.text


async def test_another_users_phone_is_a_403_and_stores_nothing(
    platform: Platform, redis_server: str
) -> None:
    _, victim = await register_and_login(platform.client, "victim")
    _, mallory = await register_and_login(platform.client, "mallory")
    phone = a_phone()
    assert (await post(platform, victim, body(phone, [reading()]))).status_code == 202
    assert_error(await post(platform, mallory, body(phone, [reading(1)], "m-evil")), 403)
    assert [m.message_id for m in stored(redis_server, phone)] == ["m-1"]
    for read in READS:
        assert_error(await platform.client.get(f"/devices/{phone}/{read}", headers=mallory), 403)
    assert (await platform.client.get("/devices", headers=mallory)).json() == {"devices": []}


async def test_an_admin_reads_any_phone_and_an_unknown_phone_is_a_404(platform: Platform) -> None:
    _, owner = await register_and_login(platform.client, "phoneowner")
    _, admin = await register_admin(platform.client, platform.user_database_url, "boss")
    phone = a_phone()
    assert (await post(platform, owner, body(phone, [reading()]))).status_code == 202
    for read in READS:
        response = await platform.client.get(f"/devices/{phone}/{read}", headers=admin)
        assert response.status_code == 200, (read, response.text)
        assert_error(await platform.client.get(f"/devices/{a_phone()}/{read}", headers=owner), 404)


@pytest.mark.parametrize(
    ("method", "url"),
    [("POST", "/sensor-data"), ("GET", "/devices"), *[("GET", f"/devices/p/{r}") for r in READS]],
)
async def test_without_a_token_every_motion_route_is_a_401(
    platform: Platform, method: str, url: str
) -> None:
    payload = body("p", [reading()]) if method == "POST" else None
    assert_error(await platform.client.request(method, url, json=payload), 401)


async def test_before_any_window_the_activity_is_unknown(platform: Platform) -> None:
    _, headers = await register_and_login(platform.client, "fresh")
    phone = a_phone()
    assert (await post(platform, headers, body(phone, [reading()]))).status_code == 202
    response = await platform.client.get(f"/devices/{phone}/activity", headers=headers)
    assert response.json() == {
        "device_id": phone,
        "activity": "unknown",
        "confidence": 0.0,
        "since": None,
        "window_end": None,
    }
    seconds = await platform.client.get(f"/devices/{phone}/activity/distribution", headers=headers)
    assert seconds.json()["seconds"] == {"stationary": 0, "walking": 0, "running": 0, "unknown": 0}


async def processed(
    platform: Platform, redis_server: str, name: str
) -> tuple[str, dict[str, str], int]:
    """A phone of a new user, with what the processor would have written for it: windows
    of walking (20 s), then running (10 s), an hour ago, and the current state."""
    _, headers = await register_and_login(platform.client, name)
    phone = a_phone()
    assert (await post(platform, headers, body(phone, [reading()]))).status_code == 202
    start = (now_ms() - HOUR_MS) // 1000 * 1000
    client = blocking_client(redis_server, 5.0)
    put_record, put_state = redis_writers(client)
    for n in range(12):
        activity = Activity.WALKING if n < 8 else Activity.RUNNING
        put_record(a_record(start + n * 2500, activity, device_id=phone, confidence=0.8))
    put_state(ActivityState(phone, Activity.RUNNING, 0.8, start + 20_000, start + 32_500))
    client.close()
    return phone, headers, start


def at(ms: int) -> float:
    """Seconds since the epoch of an RFC 3339 answer, for comparing instants."""
    return ms / 1000


async def test_the_timeline_merges_windows_into_segments_page_by_page(
    platform: Platform, redis_server: str
) -> None:
    phone, headers, start = await processed(platform, redis_server, "timeline")
    url = f"/devices/{phone}/activity/timeline"
    whole = await platform.client.get(url, headers=headers)
    assert whole.status_code == 200, whole.text
    segments = whole.json()["segments"]
    assert [s["activity"] for s in segments] == ["walking", "running"]
    assert [parse_time(s["start"]).timestamp() for s in segments] == [at(start), at(start + 20_000)]
    assert parse_time(segments[1]["end"]).timestamp() == at(start + 30_000)
    assert segments[0]["confidence"] == pytest.approx(0.8)
    paged: list[dict[str, Any]] = []
    params: dict[str, str | int] = {"page_size": 1, "page_token": ""}
    while True:
        page = (await platform.client.get(url, params=params, headers=headers)).json()
        paged.extend(page["segments"])
        if not page["next_page_token"]:
            break
        params["page_token"] = page["next_page_token"]
    assert paged == segments


async def test_the_distribution_and_the_current_activity_follow_the_records(
    platform: Platform, redis_server: str
) -> None:
    phone, headers, start = await processed(platform, redis_server, "distributed")
    seconds = await platform.client.get(f"/devices/{phone}/activity/distribution", headers=headers)
    assert seconds.json()["seconds"] == {
        "stationary": 0,
        "walking": 20,
        "running": 10,
        "unknown": 0,
    }
    clipped = await platform.client.get(
        f"/devices/{phone}/activity/distribution",
        params={"from": _rfc(start + 15_000), "to": _rfc(start + 25_000)},
        headers=headers,
    )
    assert clipped.json()["seconds"] == {"stationary": 0, "walking": 5, "running": 5, "unknown": 0}
    current = (await platform.client.get(f"/devices/{phone}/activity", headers=headers)).json()
    assert (current["activity"], current["confidence"]) == ("running", 0.8)
    assert parse_time(current["since"]).timestamp() == at(start + 20_000)


def _rfc(ms: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ms / 1000)) + f".{ms % 1000:03d}Z"


async def test_records_come_in_pages_with_the_seed_fields(
    platform: Platform, redis_server: str
) -> None:
    phone, headers, start = await processed(platform, redis_server, "recorded")
    url = f"/devices/{phone}/activity/records"
    first = (await platform.client.get(url, params={"page_size": 5}, headers=headers)).json()
    assert len(first["records"]) == 5
    record = first["records"][0]
    assert set(record) == {
        "window_key",
        "messageId",
        "sessionId",
        "deviceId",
        "timestamp",
        "window_end",
        "magnitude",
        "dynamic_rms",
        "cadence_hz",
        "rate_hz",
        "samples",
        "activity",
        "confidence",
    }
    assert (record["deviceId"], record["sessionId"], record["activity"]) == (phone, "s1", "walking")
    assert parse_time(record["timestamp"]).timestamp() == at(start)
    keys = [r["window_key"] for r in first["records"]]
    token = first["next_page_token"]
    while token:
        page = (
            await platform.client.get(
                url, params={"page_token": token, "page_size": 5}, headers=headers
            )
        ).json()
        keys.extend(r["window_key"] for r in page["records"])
        token = page["next_page_token"]
    assert keys == [f"s1/{start + n * 2500}" for n in range(12)]


@pytest.mark.parametrize(
    ("read", "params"),
    [
        ("activity/timeline", {"from": "2030-01-02T00:00:00Z", "to": "2030-01-01T00:00:00Z"}),
        ("activity/timeline", {"from": "2030-01-01T00:00:00Z", "to": "2030-01-09T00:00:00Z"}),
        ("activity/timeline", {"from": "yesterday"}),
        ("activity/timeline", {"to": "2030-01-01T10:00:00"}),
        ("activity/timeline", {"to": "0001-01-01T00:00:00Z"}),
        ("activity/timeline", {"page_size": 0}),
        ("activity/records", {"page_size": 1001}),
        ("activity/records", {"page_token": "not a token!"}),
        ("activity/distribution", {"from": "2030-01-01T00:00:00Z", "to": "2030-01-01T00:00:00Z"}),
    ],
)
async def test_bad_read_parameters_are_422s(
    platform: Platform, read: str, params: dict[str, Any]
) -> None:
    _, headers = await register_and_login(platform.client, "strict")
    phone = a_phone()
    assert (await post(platform, headers, body(phone, [reading()]))).status_code == 202
    assert_error(
        await platform.client.get(f"/devices/{phone}/{read}", params=params, headers=headers), 422
    )


@pytest.mark.parametrize("device", ["phone 1", "p" * 65, "ph%00one", "ph%E2%80%AEone"])
async def test_a_malformed_device_id_in_the_path_is_a_422(platform: Platform, device: str) -> None:
    _, headers = await register_and_login(platform.client, "pathy")
    assert_error(await platform.client.get(f"/devices/{device}/activity", headers=headers), 422)


async def test_a_page_token_the_service_cannot_read_is_a_400(platform: Platform) -> None:
    _, headers = await register_and_login(platform.client, "tokens")
    phone = a_phone()
    assert (await post(platform, headers, body(phone, [reading()]))).status_code == 202
    for read in ("activity/timeline", "activity/records"):
        response = await platform.client.get(
            f"/devices/{phone}/{read}", params={"page_token": "bm90LWEtdG9rZW4"}, headers=headers
        )
        assert_error(response, 400)


# Whatever JSON (and non-JSON) a client sends, the answer is a documented 2xx or 4xx.
JSON_LEAVES = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**80), max_value=2**80)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=12)
)
JSON_VALUES = st.recursive(
    JSON_LEAVES,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)


def readings_strategy(now: int) -> st.SearchStrategy[Any]:
    """Lists of valid readings, readings near the valid shape with any part replaced by
    any JSON value, and any JSON value at all."""
    valid = st.fixed_dictionaries(
        {
            "name": st.just("accelerometer"),
            "timestamp": st.integers(now - 3_600_000, now),
            "values": st.lists(st.floats(-50, 50), min_size=3, max_size=3),
        }
    )
    near = st.fixed_dictionaries(
        {
            "name": st.sampled_from(["accelerometer", "gyroscope", "Bad", ""]) | JSON_VALUES,
            "timestamp": st.integers(now - 2 * 86_400_000, now + 3_600_000) | JSON_VALUES,
            "values": st.lists(
                st.floats(allow_nan=True, allow_infinity=True) | st.integers(-(10**30), 10**30),
                max_size=18,
            )
            | JSON_VALUES,
        }
    )
    return st.lists(valid | near | JSON_VALUES, min_size=1, max_size=12) | JSON_VALUES


def bodies(now: int, phone: str) -> st.SearchStrategy[Any]:
    """Messages near the seed's shape, and anything else."""
    ids = st.sampled_from(["m-1", "m-2", "s.1:x_y-z"]) | st.text(max_size=70) | JSON_VALUES
    message = st.fixed_dictionaries(
        {
            "messageId": ids,
            "sessionId": ids,
            "deviceId": st.just(phone) | ids,
            "sensorReadings": readings_strategy(now),
        }
    )
    return message | JSON_VALUES


def never_a_5xx(base_url: str, headers: dict[str, str], phone: str) -> tuple[list[str], set[int]]:
    """Post generated bodies; every answer that is not a documented 202/4xx, as text, and
    the statuses seen."""
    failures: list[str] = []
    seen: set[int] = set()

    @settings(
        max_examples=150,
        derandomize=True,
        database=None,
        deadline=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(payload=bodies(now_ms(), phone), raw=st.booleans())
    def check(payload: Any, raw: bool) -> None:
        text = json.dumps(payload, allow_nan=True, ensure_ascii=raw)
        with httpx.Client(base_url=base_url, timeout=30) as client:
            response = client.post(
                "/sensor-data",
                content=text.encode("utf-8", "surrogatepass"),
                headers={**headers, "content-type": "application/json"},
            )
        seen.add(response.status_code)
        error = response.json().get("error") if response.status_code >= 400 else None
        shaped = error is None or (error["code"] == response.status_code and error["message"])
        if response.status_code not in (202, 400, 403, 413, 422, 429) or not shaped:
            failures.append(f"{response.status_code} {response.text[:300]} for {text[:300]}")

    check()
    return failures, seen


@pytest.mark.timeout(300)
async def test_generated_sensor_messages_never_get_a_5xx(platform: Platform) -> None:
    _, headers = await register_and_login(platform.client, "fuzzer")
    phone = a_phone()
    async with served(platform.app) as base_url:
        failures, seen = await asyncio.to_thread(never_a_5xx, base_url, headers, phone)
    assert failures == [], "\n".join(failures[:10])
    # The generator reaches the store (202) as well as every kind of refusal.
    assert {202, 422} <= seen, seen


async def test_without_a_motion_service_the_routes_answer_503_with_retry_after(
    platform: Platform,
) -> None:
    _, headers = await register_and_login(platform.client, "stranded")
    assert platform.motion is not None
    await platform.motion.stop(grace=0)
    refused = await post(platform, headers, body(a_phone(), [reading()]))
    assert_error(refused, 503)
    assert int(refused.headers["Retry-After"]) >= 1
    assert_error(await platform.client.get("/devices", headers=headers), 503)
