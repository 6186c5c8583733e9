"""The watch-log REST API through the real gateway and the real watch-log service on Redis:
ingestion by a watch's owner, reports and exports for analysts, the one error shape."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import timedelta
from typing import Any

import httpx
import pytest
from starlette.types import Message

from gateway.edge.creation_limit import CreationLimit, CreationSettings
from gateway.routes.watch_logs.export import ExportBrokenOff
from services.common.timeutil import format_time, parse_time, utc_now
from tests.helpers import assert_error, grant_role, register_admin, register_and_login
from tests.integration.platform import Platform

ENTRY_FIELDS = (
    "message_id",
    "device_id",
    "device_model",
    "firmware",
    "timestamp",
    "activity",
    "duration_s",
    "steps",
    "heart_rate",
    "calories",
    "distance_m",
    "floors",
    "battery",
)
CSV_COLUMNS = ["user_id", "entry_id", "ingested_at", *ENTRY_FIELDS]
REPORTS = [
    "/watch-logs",
    "/watch-logs/export",
    "/watch-logs/aggregates",
    "/watch-logs/summaries?user_id=someone",
    "/watch-logs/pipeline",
]


async def eventually(
    found: Callable[[], Awaitable[list[Any] | None]], within: float, what: str
) -> list[Any]:
    """Poll until ``found`` returns a list; TimeoutError naming ``what`` after ``within`` s."""
    deadline = time.monotonic() + within
    while (result := await found()) is None:
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what} not reached within {within:.0f} s")
        await asyncio.sleep(0.1)
    return result


def entry(n: int, **changes: Any) -> dict[str, Any]:
    """A valid log entry, sampled n minutes ago (the service accepts the last 24 hours)."""
    return {
        "message_id": f"m-{n}",
        "device_id": "watch-1",
        "device_model": "Forerunner 265",
        "firmware": "20.26",
        "timestamp": format_time(utc_now() - timedelta(minutes=n + 1)),
        "activity": "walking",
        "duration_s": 60,
        "steps": 80 + n,
        "heart_rate": 95,
        "calories": 4.5,
        "distance_m": 62.5,
        "floors": 1,
        "battery": 90 - n % 50,
        **changes,
    }


async def register_analyst(platform: Platform, name: str) -> tuple[str, dict[str, str]]:
    """An account granted the analyst role by the operator's roles command, logged in again."""
    user_id, _ = await register_and_login(platform.client, name)
    grant_role(platform.user_database_url, user_id, "analyst")
    login = await platform.client.post(
        "/users/login", json={"email": f"{name}@example.com", "password": "s3cret-pass"}
    )
    assert login.status_code == 200, login.text
    return user_id, {"Authorization": f"Bearer {login.json()['token']}"}


async def ingest(
    platform: Platform, headers: dict[str, str], logs: list[dict[str, Any]], **extra: Any
) -> httpx.Response:
    """POST a batch."""
    return await platform.client.post("/watch-logs", json={"logs": logs, **extra}, headers=headers)


async def all_pages(
    platform: Platform, headers: dict[str, str], **params: Any
) -> AsyncIterator[dict[str, Any]]:
    """Every page of GET /watch-logs for these filters."""
    token = ""
    while True:
        response = await platform.client.get(
            "/watch-logs", params={**params, "page_token": token}, headers=headers
        )
        assert response.status_code == 200, response.text
        page = response.json()
        yield page
        token = page["next_page_token"]
        if not token:
            return


async def stored(platform: Platform, headers: dict[str, str], user_id: str) -> list[Any]:
    """Every stored entry of the user."""
    return [
        log async for page in all_pages(platform, headers, user_id=user_id) for log in page["logs"]
    ]


def same_entry(sent: dict[str, Any], got: dict[str, Any]) -> None:
    """A stored entry carries what was sent (timestamps compared as instants)."""
    for name in ENTRY_FIELDS:
        if name == "timestamp":
            assert parse_time(str(got[name])) == parse_time(sent[name])
        else:
            assert got[name] == sent[name], name


async def test_a_retried_batch_counts_as_duplicates_and_stores_nothing_twice(
    platform: Platform,
) -> None:
    user_id, headers = await register_and_login(platform.client, "walker")
    _, analyst = await register_analyst(platform, "analyst")
    logs = [entry(n) for n in range(3)]
    first = await ingest(platform, headers, logs)
    assert first.status_code == 200, first.text
    assert first.json() == {"accepted": 3, "duplicates": 0, "rejected": []}
    again = await ingest(platform, headers, [*logs, entry(3)])
    assert again.json() == {"accepted": 1, "duplicates": 3, "rejected": []}
    kept = await stored(platform, analyst, user_id)
    assert sorted(log["message_id"] for log in kept) == ["m-0", "m-1", "m-2", "m-3"]
    for log in kept:
        assert log["user_id"] == user_id
        same_entry(entry(int(log["message_id"][2:])) | {"timestamp": log["timestamp"]}, log)


async def test_an_idempotency_key_replays_the_first_answer(platform: Platform) -> None:
    _, headers = await register_and_login(platform.client, "keyed")
    keyed = {**headers, "Idempotency-Key": "batch-1", "content-type": "application/json"}
    first = await ingest(platform, keyed, [entry(0)])
    assert first.json() == {"accepted": 1, "duplicates": 0, "rejected": []}
    same = await platform.client.post("/watch-logs", content=first.request.content, headers=keyed)
    assert same.headers.get("idempotent-replayed") == "true"
    assert same.content == first.content
    assert_error(await ingest(platform, keyed, [entry(1)]), 422)  # the key, another batch


async def test_each_bad_entry_is_rejected_with_its_index_and_reason_and_the_rest_stored(
    platform: Platform,
) -> None:
    user_id, headers = await register_and_login(platform.client, "mixed")
    _, analyst = await register_analyst(platform, "mixed-analyst")
    old = format_time(utc_now() - timedelta(days=3))
    logs = [
        entry(0),
        entry(1, steps=100_001),
        entry(2, heart_rate=10),
        entry(3, colour="red"),
        entry(4, timestamp="yesterday"),
        entry(5, timestamp=old),
        entry(6, device_model="Fore\x00runner"),
        entry(7, message_id="has space"),
        entry(8, activity="dancing"),
        entry(9, steps=True),
        entry(10),
    ]
    response = await ingest(platform, headers, logs)
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["accepted"], body["duplicates"]) == (2, 0)
    reasons = {r["index"]: (r["message_id"], r["reason"]) for r in body["rejected"]}
    assert sorted(reasons) == list(range(1, 10))
    expected_words = {
        1: "steps",
        2: "heart_rate",
        3: "colour",
        4: "timestamp",
        5: "older",
        6: "device_model",
        7: "message_id",
        8: "activity",
        9: "steps",
    }
    for index, word in expected_words.items():
        assert reasons[index][0] == logs[index]["message_id"]
        assert word in reasons[index][1], reasons[index]
    kept = await stored(platform, analyst, user_id)
    assert sorted(log["message_id"] for log in kept) == ["m-0", "m-10"]


async def test_a_batch_of_which_nothing_is_stored_is_a_422_listing_every_rejection(
    platform: Platform,
) -> None:
    _, headers = await register_and_login(platform.client, "allbad")
    logs = [entry(0, battery=101), entry(1, timestamp=format_time(utc_now() + timedelta(hours=1)))]
    response = await ingest(platform, headers, logs)
    error = assert_error(response, 422)
    rejected = error["rejected"]
    assert isinstance(rejected, list)
    assert [(r["index"], r["message_id"]) for r in rejected] == [(0, "m-0"), (1, "m-1")]
    assert "battery" in rejected[0]["reason"]
    assert "future" in rejected[1]["reason"]


async def test_a_batch_over_64_kib_is_taken_and_one_over_256_kib_is_a_413(
    platform: Platform,
) -> None:
    _, headers = await register_and_login(platform.client, "bulky")
    logs = [entry(n, device_model="M" * 64, message_id=f"{n:064d}") for n in range(300)]
    body = json.dumps({"logs": logs}).encode()
    assert 64 * 1024 < len(body) < 256 * 1024
    typed = {**headers, "content-type": "application/json"}
    taken = await platform.client.post("/watch-logs", content=body, headers=typed)
    assert taken.status_code == 200, taken.text
    assert taken.json()["accepted"] == 300
    padded = body[:-1] + b" " * (256 * 1024) + b"}"
    assert_error(await platform.client.post("/watch-logs", content=padded, headers=typed), 413)

    async def chunks() -> AsyncIterator[bytes]:  # no Content-Length: counted as it arrives
        for start in range(0, len(padded), 32 * 1024):
            yield padded[start : start + 32 * 1024]

    streamed = await platform.client.post("/watch-logs", content=chunks(), headers=typed)
    assert_error(streamed, 413)


async def test_other_routes_keep_the_64_kib_bound(platform: Platform) -> None:
    _, headers = await register_and_login(platform.client, "small")
    body = b'{"workout_type": "yoga"' + b" " * (65 * 1024) + b"}"
    typed = {**headers, "content-type": "application/json"}
    assert_error(await platform.client.post("/workouts/start", content=body, headers=typed), 413)
    assert_error(await platform.client.post("/watch-logs/", content=body, headers=typed), 413)


@pytest.mark.parametrize(
    "body",
    [
        [],
        {"logs": {}},
        {"logs": []},
        {"logs": [1]},
        {"logs": ["m-1"]},
        {"logs": [{}] * 501},
        {"logs": [{}], "device": "x"},
        {"entries": [{}]},
    ],
    ids=["array", "logs-object", "empty", "number-item", "string-item", "501", "extra", "no-logs"],
)
async def test_a_malformed_envelope_is_a_422(platform: Platform, body: Any) -> None:
    _, headers = await register_and_login(platform.client, "envelope")
    response = await platform.client.post("/watch-logs", json=body, headers=headers)
    assert "rejected" not in assert_error(response, 422)


async def test_a_smaller_configured_batch_limit_is_a_422(platform: Platform) -> None:
    _, headers = await register_and_login(platform.client, "limited")
    platform.app.state.settings.watch_logs_max_batch = 2
    try:
        response = await ingest(platform, headers, [entry(n) for n in range(3)])
    finally:
        platform.app.state.settings.watch_logs_max_batch = 500
    assert "at most 2" in str(assert_error(response, 422)["message"])


async def test_past_his_hourly_quota_of_entries_a_user_gets_a_429_and_others_do_not(
    platform: Platform,
) -> None:
    _, heavy = await register_and_login(platform.client, "heavy")
    _, light = await register_and_login(platform.client, "light")
    shared = platform.app.state.watch_log_quota
    platform.app.state.watch_log_quota = CreationLimit(
        platform.app.state.redis.commands,
        CreationSettings(max_creates=5, window=3600),
        prefix=f"test-quota-{uuid.uuid4().hex}",
        refusal="too many watch-log entries this hour, retry later",
    )
    try:
        first = await ingest(platform, heavy, [entry(n) for n in range(3)])
        refused = await ingest(platform, heavy, [entry(n) for n in range(3, 6)])
        other = await ingest(platform, light, [entry(0)])
    finally:
        platform.app.state.watch_log_quota = shared
    assert first.json()["accepted"] == 3
    assert "too many watch-log entries" in str(assert_error(refused, 429)["message"])
    assert 0 < int(refused.headers["Retry-After"]) <= 3600
    assert other.json()["accepted"] == 1


@pytest.mark.parametrize(
    ("method", "url"), [("POST", "/watch-logs"), *[("GET", url) for url in REPORTS]]
)
async def test_without_a_token_every_watch_log_route_is_a_401(
    platform: Platform, method: str, url: str
) -> None:
    body = {"logs": [entry(0)]} if method == "POST" else None
    assert_error(await platform.client.request(method, url, json=body), 401)


async def test_a_batch_for_another_user_is_a_403_and_stores_nothing(platform: Platform) -> None:
    victim, _ = await register_and_login(platform.client, "victim")
    _, mallory = await register_and_login(platform.client, "mallory")
    _, analyst = await register_analyst(platform, "auditor")
    assert_error(await ingest(platform, mallory, [entry(0)], user_id=victim), 403)
    assert await stored(platform, analyst, victim) == []
    own = await ingest(platform, mallory, [entry(0)], user_id=None)
    assert own.status_code == 200, own.text


@pytest.mark.parametrize("url", REPORTS)
async def test_reports_are_403_without_the_analyst_or_admin_role(
    platform: Platform, url: str
) -> None:
    _, headers = await register_and_login(platform.client, "nosy")
    assert "analyst" in str(
        assert_error(await platform.client.get(url, headers=headers), 403)["message"]
    )


async def test_an_admin_may_read_reports_too(platform: Platform) -> None:
    _, admin = await register_admin(platform.client, platform.user_database_url, "boss")
    for url in REPORTS:
        response = await platform.client.get(url, headers=admin)
        assert response.status_code == 200, (url, response.text)


async def test_the_csv_export_parses_back_to_what_was_sent_with_formula_cells_defused(
    platform: Platform,
) -> None:
    user_id, headers = await register_and_login(platform.client, "csv")
    _, analyst = await register_analyst(platform, "csv-analyst")
    logs = [
        entry(0, device_model='=HYPERLINK("http://evil")'),
        entry(1, device_model="+1", firmware="-2"),
        entry(2, device_model="@SUM(A1)", activity="running", heart_rate=0),
        entry(3, device_model='Venu, "3"'),
    ]
    assert (await ingest(platform, headers, logs)).json()["accepted"] == 4
    response = await platform.client.get(
        "/watch-logs/export", params={"format": "csv", "user_id": user_id}, headers=analyst
    )
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/csv")
    assert "watch-logs.csv" in response.headers["content-disposition"]
    rows = list(csv.reader(io.StringIO(response.text)))
    assert rows[0] == CSV_COLUMNS
    got = {row[3]: dict(zip(CSV_COLUMNS, row, strict=True)) for row in rows[1:]}
    assert sorted(got) == ["m-0", "m-1", "m-2", "m-3"]
    assert got["m-0"]["device_model"] == '\'=HYPERLINK("http://evil")'
    assert (got["m-1"]["device_model"], got["m-1"]["firmware"]) == ("'+1", "'-2")
    assert got["m-2"]["device_model"] == "'@SUM(A1)"
    for sent in logs:
        row = got[sent["message_id"]]
        assert row["user_id"] == user_id
        assert row["device_model"].removeprefix("'") == sent["device_model"]
        assert row["firmware"].removeprefix("'") == sent["firmware"]
        assert parse_time(row["timestamp"]) == parse_time(sent["timestamp"])
        assert row["activity"] == sent["activity"]
        for name in ("duration_s", "steps", "heart_rate", "floors", "battery"):
            assert int(row[name]) == sent[name], name
        for name in ("calories", "distance_m"):
            assert float(row[name]) == sent[name], name


async def test_the_ndjson_export_parses_back_to_what_was_sent(platform: Platform) -> None:
    user_id, headers = await register_and_login(platform.client, "ndjson")
    _, analyst = await register_analyst(platform, "nd-analyst")
    logs = [entry(n, device_model="=1+1" if n == 0 else "Fenix 8") for n in range(5)]
    assert (await ingest(platform, headers, logs)).json()["accepted"] == 5
    response = await platform.client.get(
        "/watch-logs/export", params={"format": "ndjson", "user_id": user_id}, headers=analyst
    )
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/x-ndjson")
    lines = [json.loads(line) for line in response.text.splitlines()]
    assert {line["message_id"] for line in lines} == {log["message_id"] for log in logs}
    by_id = {line["message_id"]: line for line in lines}
    for sent in logs:
        same_entry(sent, by_id[sent["message_id"]])
        assert by_id[sent["message_id"]]["user_id"] == user_id
    listed = await stored(platform, analyst, user_id)
    assert sorted(lines, key=lambda x: x["entry_id"]) == sorted(listed, key=lambda x: x["entry_id"])


async def test_an_export_of_nothing_is_the_csv_header_alone(platform: Platform) -> None:
    _, analyst = await register_analyst(platform, "empty-analyst")
    response = await platform.client.get(
        "/watch-logs/export", params={"user_id": "nobody-at-all"}, headers=analyst
    )
    assert response.status_code == 200, response.text
    assert list(csv.reader(io.StringIO(response.text))) == [CSV_COLUMNS]


async def test_pagination_returns_each_entry_exactly_once(platform: Platform) -> None:
    user_id, headers = await register_and_login(platform.client, "pager")
    _, analyst = await register_analyst(platform, "pager-analyst")
    assert (await ingest(platform, headers, [entry(n) for n in range(25)])).json()["accepted"] == 25
    pages = [page async for page in all_pages(platform, analyst, user_id=user_id, page_size=7)]
    ids = [log["message_id"] for page in pages for log in page["logs"]]
    assert sorted(ids) == sorted(f"m-{n}" for n in range(25))
    assert all(len(page["logs"]) <= 7 for page in pages)
    assert len(pages) >= 4


async def test_filters_narrow_the_list_by_device_activity_and_time(platform: Platform) -> None:
    user_id, headers = await register_and_login(platform.client, "filtered")
    _, analyst = await register_analyst(platform, "filter-analyst")
    logs = [
        entry(0, device_id="watch-a", activity="running"),
        entry(30, device_id="watch-b", activity="running"),
        entry(60, device_id="watch-a", activity="sleep"),
    ]
    assert (await ingest(platform, headers, logs)).json()["accepted"] == 3

    async def ids(**params: Any) -> list[str]:
        pages = all_pages(platform, analyst, user_id=user_id, **params)
        return sorted([log["message_id"] async for page in pages for log in page["logs"]])

    assert await ids(device_id="watch-a") == ["m-0", "m-60"]
    assert await ids(activity="running") == ["m-0", "m-30"]
    since = format_time(utc_now() - timedelta(minutes=45))
    assert await ids(**{"from": since}) == ["m-0", "m-30"]
    assert await ids(**{"to": since}) == ["m-60"]


async def test_aggregates_roll_the_entries_up_per_user_and_bucket(platform: Platform) -> None:
    user_id, headers = await register_and_login(platform.client, "rolled")
    _, analyst = await register_analyst(platform, "roll-analyst")
    start = utc_now().replace(minute=0, second=0, microsecond=0) - timedelta(hours=3)
    logs = [
        entry(
            n,
            timestamp=format_time(start + timedelta(minutes=10 * n)),
            steps=100,
            heart_rate=90 + n,
        )
        for n in range(3)
    ]
    assert (await ingest(platform, headers, logs)).json()["accepted"] == 3
    window = {"user_id": user_id, "from": format_time(start), "to": format_time(utc_now())}
    for bucket in ("hour", "day"):
        response = await platform.client.get(
            "/watch-logs/aggregates", params={**window, "bucket": bucket}, headers=analyst
        )
        assert response.status_code == 200, response.text
        buckets = response.json()["buckets"]
        assert sum(b["samples"] for b in buckets) == 3
        assert sum(b["steps"] for b in buckets) == 300
        assert max(b["max_heart_rate"] for b in buckets) == 92
        assert {b["user_id"] for b in buckets} == {user_id}
        assert set(buckets[0]) == {
            "user_id",
            "start",
            "samples",
            "steps",
            "active_minutes",
            "calories",
            "distance_m",
            "floors",
            "mean_heart_rate",
            "max_heart_rate",
            "battery_drain",
        }
    hourly = await platform.client.get(
        "/watch-logs/aggregates", params={**window, "bucket": "hour"}, headers=analyst
    )
    first = hourly.json()["buckets"][0]
    assert parse_time(first["start"]) == start
    assert first["active_minutes"] == 3.0  # three walking minutes


async def test_daily_summaries_reach_the_analyst_and_the_user_himself(platform: Platform) -> None:
    user_id, headers = await register_and_login(platform.client, "summed")
    _, analyst = await register_analyst(platform, "sum-analyst")
    assert (await ingest(platform, headers, [entry(n) for n in range(4)])).json()["accepted"] == 4
    today = utc_now().date()
    days = {"from_date": (today - timedelta(days=1)).isoformat(), "to_date": today.isoformat()}

    async def counted() -> list[Any] | None:
        response = await platform.client.get(
            f"/users/{user_id}/watch-logs/summaries", params=days, headers=headers
        )
        assert response.status_code == 200, response.text
        found = response.json()["days"]
        return found if sum(day["samples"] for day in found) == 4 else None

    # The reporting consumer group counts new entries shortly after they are stored.
    own = await eventually(counted, 30, "the four entries counted in the daily summaries")
    assert sum(day["steps"] for day in own) == sum(80 + n for n in range(4))
    assert set(own[0]) == {
        "date",
        "samples",
        "steps",
        "active_minutes",
        "calories",
        "distance_m",
        "floors",
        "mean_heart_rate",
        "max_heart_rate",
    }
    response = await platform.client.get(
        "/watch-logs/summaries", params={**days, "user_id": user_id}, headers=analyst
    )
    assert response.json()["days"] == own


async def test_the_pipeline_status_lists_every_partition_stream(platform: Platform) -> None:
    _, headers = await register_and_login(platform.client, "piped")
    _, analyst = await register_analyst(platform, "pipe-analyst")
    assert (await ingest(platform, headers, [entry(0)])).status_code == 200
    response = await platform.client.get("/watch-logs/pipeline", headers=analyst)
    assert response.status_code == 200, response.text
    streams = response.json()["streams"]
    assert streams
    assert set(streams[0]) == {"stream", "length", "lag", "pending", "dead_letters"}
    assert sum(s["length"] for s in streams) >= 1


@pytest.mark.parametrize(
    ("url", "params"),
    [
        ("/watch-logs", {"page_size": 0}),
        ("/watch-logs", {"page_size": 1001}),
        ("/watch-logs", {"page_token": "not a token!"}),
        ("/watch-logs", {"from": "yesterday"}),
        ("/watch-logs", {"to": "2030-01-01T10:00:00"}),
        ("/watch-logs", {"from": "2030-01-02T00:00:00Z", "to": "2030-01-01T00:00:00Z"}),
        ("/watch-logs", {"from": "2030-01-01T00:00:00Z", "to": "2030-01-01T01:00:00+01:00"}),
        ("/watch-logs", {"activity": "dancing"}),
        ("/watch-logs", {"device_id": "watch 1"}),
        ("/watch-logs", {"user_id": "u\x00"}),
        ("/watch-logs", {"device_id": "d" * 65}),
        ("/watch-logs/export", {"format": "xml"}),
        ("/watch-logs/aggregates", {"bucket": "week"}),
        ("/watch-logs/summaries", {}),
        ("/watch-logs/summaries", {"user_id": "u", "from_date": "2030-02-30"}),
        (
            "/watch-logs/summaries",
            {"user_id": "u", "from_date": "2030-01-01", "to_date": "2030-02-02"},
        ),
        (
            "/watch-logs/summaries",
            {"user_id": "u", "from_date": "2030-01-02", "to_date": "2030-01-01"},
        ),
        ("/watch-logs/summaries", {"user_id": "u", "to_date": "0001-01-01"}),
        ("/watch-logs", {"to": "0001-01-01T00:00:00Z"}),
        ("/watch-logs/aggregates", {"to": "0001-01-01T00:00:00Z"}),
        ("/watch-logs", {"user_id": "u" * 65}),
    ],
)
async def test_bad_report_parameters_are_422s(
    platform: Platform, url: str, params: dict[str, Any]
) -> None:
    _, analyst = await register_analyst(platform, "strict-analyst")
    assert_error(await platform.client.get(url, params=params, headers=analyst), 422)


async def test_summaries_may_end_31_days_after_they_start(platform: Platform) -> None:
    _, analyst = await register_analyst(platform, "month-reader")
    params = {"user_id": "u", "from_date": "2030-01-01", "to_date": "2030-02-01"}
    response = await platform.client.get("/watch-logs/summaries", params=params, headers=analyst)
    assert response.status_code == 200, response.text
    assert response.json() == {"days": []}


async def test_a_page_token_the_service_cannot_read_is_a_400(platform: Platform) -> None:
    _, analyst = await register_analyst(platform, "token-analyst")
    response = await platform.client.get(
        "/watch-logs", params={"page_token": "bm90LWEtdG9rZW4"}, headers=analyst
    )
    assert_error(response, 400)


async def test_the_analyst_role_is_the_operators_to_grant_and_opens_no_admin_route(
    platform: Platform,
) -> None:
    chosen = {"username": "self-made", "email": "self@example.com", "password": "s3cret-pass"}
    refused = await platform.client.post("/users/register", json={**chosen, "roles": ["analyst"]})
    assert_error(refused, 422)
    _, analyst = await register_analyst(platform, "only-analyst")
    assert_error(await platform.client.get("/admin/sagas", headers=analyst), 403)
    assert_error(await platform.client.get("/health", headers=analyst), 403)
    assert (await platform.client.get("/watch-logs/pipeline", headers=analyst)).status_code == 200


async def test_the_openapi_document_describes_each_entry_of_a_batch(platform: Platform) -> None:
    document = platform.app.openapi()
    operation = document["paths"]["/watch-logs"]["post"]
    body = operation["requestBody"]["content"]["application/json"]["schema"]
    batch = document["components"]["schemas"][body["$ref"].rsplit("/", 1)[-1]]
    logs = batch["properties"]["logs"]
    assert (logs["minItems"], logs["maxItems"]) == (1, 500)
    item = logs["items"]
    assert tuple(item["properties"]) == ENTRY_FIELDS
    assert set(item["required"]) == set(ENTRY_FIELDS) - {"heart_rate", "floors"}
    assert item["additionalProperties"] is False
    assert item["properties"]["activity"]["enum"] == sorted(
        ["sleep", "rest", "walking", "running", "cycling", "swimming", "workout"]
    )
    assert item["properties"]["timestamp"]["format"] == "date-time"
    assert {"413", "422", "403", "401"} <= set(operation["responses"])
    assert any(p["name"] == "Idempotency-Key" for p in operation["parameters"])
    export = document["paths"]["/watch-logs/export"]["get"]["responses"]["200"]["content"]
    assert set(export) == {"text/csv", "application/x-ndjson"}


async def test_a_service_failure_between_export_pages_breaks_the_transfer_off(
    platform: Platform,
) -> None:
    user_id, headers = await register_and_login(platform.client, "longexport")
    _, analyst = await register_analyst(platform, "long-analyst")
    for start in (0, 500, 1000):  # 1001 entries: more than one page of 1000
        batch = [entry(n) for n in range(start, min(start + 500, 1001))]
        assert (await ingest(platform, headers, batch)).json()["accepted"] == len(batch)
    # Driven as ASGI directly: the app's send returns only after the service is stopped,
    # so the page after the first certainly fails.
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": "/watch-logs/export",
        "raw_path": b"/watch-logs/export",
        "root_path": "",
        "query_string": f"format=ndjson&user_id={user_id}".encode(),
        "headers": [
            (b"host", b"gateway"),
            (b"authorization", analyst["Authorization"].encode()),
        ],
        "client": ("127.0.0.1", 40000),
        "server": ("gateway", 80),
    }
    requested, finished = False, asyncio.Event()
    messages: list[Message] = []

    async def receive() -> Message:
        nonlocal requested
        if not requested:
            requested = True
            return {"type": "http.request", "body": b"", "more_body": False}
        await finished.wait()
        return {"type": "http.disconnect"}

    async def send(message: Message) -> None:
        messages.append(message)
        if message["type"] == "http.response.body" and message.get("body"):
            assert platform.watch_logs is not None
            await platform.watch_logs.stop(grace=0)

    with pytest.raises(ExportBrokenOff, match="after"):
        await platform.app(scope, receive, send)
    finished.set()
    assert messages[0]["type"] == "http.response.start"
    assert messages[0]["status"] == 200
    bodies = [m for m in messages[1:] if m["type"] == "http.response.body"]
    assert all(m.get("more_body") for m in bodies), "the transfer must not look complete"
    lines = b"".join(m["body"] for m in bodies).decode().splitlines()
    assert 0 < len(lines) < 1001
    assert {json.loads(line)["user_id"] for line in lines} == {user_id}
