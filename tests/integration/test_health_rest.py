"""The health-metrics REST API through the real gateway and the real health-metrics service
on PostgreSQL: points, series (raw, rollups, pages, filled gaps), deletes, sleep, a day's
summary and the simulator link, by the owner or an admin; every refusal in the one shape."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from services.common.timeutil import format_time, parse_time
from tests.helpers import KeyFiles, ServiceCerts, assert_error, register_admin, register_and_login
from tests.integration.platform import Platform, sqlite_platform
from tests.integration.test_rest_watch_logs import eventually

# A past day (the service takes times from 2000-01-01 to five minutes from now).
DAY = datetime(2024, 3, 1, tzinfo=UTC)
DAY_SPAN = "from=2024-03-01T00:00:00Z&to=2024-03-02T00:00:00Z"


@pytest.fixture
async def owner(health_platform: Platform) -> tuple[str, dict[str, str]]:
    """A signed-in user: his id and Authorization header."""
    return await register_and_login(health_platform.client, "wearer")


def at(minutes: float) -> str:
    """RFC 3339 text of ``minutes`` after DAY's midnight."""
    return format_time(DAY + timedelta(minutes=minutes))


def points(values: list[float], start: float = 0, step: float = 1) -> list[dict[str, Any]]:
    """One point a ``step`` minutes from ``start`` minutes after DAY's midnight."""
    return [{"time": at(start + i * step), "value": v} for i, v in enumerate(values)]


async def write(
    platform: Platform, user: str, headers: dict[str, str], metric: str, batch: list[Any]
) -> httpx.Response:
    """POST /users/{user}/health-metrics."""
    body = {"metric": metric, "points": batch}
    return await platform.client.post(f"/users/{user}/health-metrics", json=body, headers=headers)


async def series(
    platform: Platform, user: str, headers: dict[str, str], metric: str, **params: Any
) -> httpx.Response:
    """GET one page of a series over DAY unless the params say otherwise."""
    query = {"from": format_time(DAY), "to": format_time(DAY + timedelta(days=1)), **params}
    url = f"/users/{user}/health-metrics/{metric}"
    return await platform.client.get(url, params=query, headers=headers)


def refused(answer: httpx.Response, status: int, case: object) -> None:
    """The answer is ``status`` in the one error shape; a failure names the case."""
    assert answer.status_code == status, (case, answer.text)
    assert_error(answer, status)


async def rollups(
    platform: Platform, user: str, headers: dict[str, str], metric: str, count: int, **params: Any
) -> list[dict[str, Any]]:
    """The 1-minute (or ``resolution``) page once the refresh loop has made ``count`` buckets."""

    async def found() -> list[dict[str, Any]] | None:
        page = await series(platform, user, headers, metric, **{"resolution": "1m", **params})
        assert page.status_code == 200, page.text
        got: list[dict[str, Any]] = page.json()["points"]
        real = [p for p in got if not p["imputed"]]
        return got if len(real) == count else None

    return await eventually(found, 10, f"{count} {metric} buckets")


async def test_a_batch_is_stored_and_sent_again_changes_nothing(
    health_platform: Platform, owner: tuple[str, dict[str, str]]
) -> None:
    user, headers = owner
    batch = points([61, 62, 63.5])
    first = await write(health_platform, user, headers, "heart_rate", batch)
    assert first.status_code == 200, first.text
    assert first.json() == {"accepted": 3, "unchanged": 0, "rejected": []}
    again = await write(health_platform, user, headers, "heart_rate", batch)
    assert again.json() == {"accepted": 3, "unchanged": 3, "rejected": []}
    page = await series(health_platform, user, headers, "heart_rate")
    assert page.status_code == 200, page.text
    assert page.json() == {
        "metric": "heart_rate",
        "unit": "bpm",
        "resolution": "raw",
        "points": [
            {"time": at(i), "value": v, "min": v, "max": v, "count": 1, "imputed": False}
            for i, v in enumerate([61, 62, 63.5])
        ],
        "next_page_token": "",
    }


async def test_a_point_sent_with_a_new_value_is_a_correction(
    health_platform: Platform, owner: tuple[str, dict[str, str]]
) -> None:
    user, headers = owner
    await write(health_platform, user, headers, "spo2", points([97, 98]))
    corrected = await write(health_platform, user, headers, "spo2", points([97, 95]))
    assert corrected.json() == {"accepted": 2, "unchanged": 1, "rejected": []}
    page = (await series(health_platform, user, headers, "spo2")).json()
    assert [p["value"] for p in page["points"]] == [97, 95]


async def test_a_time_with_another_offset_is_the_same_instant(
    health_platform: Platform, owner: tuple[str, dict[str, str]]
) -> None:
    user, headers = owner
    await write(
        health_platform, user, headers, "hrv", [{"time": "2024-03-01T10:00:00+02:00", "value": 40}]
    )
    page = (await series(health_platform, user, headers, "hrv")).json()
    assert page["points"][0]["time"] == "2024-03-01T08:00:00.000Z"


async def test_each_bad_point_is_rejected_with_its_index_and_the_rest_stored(
    health_platform: Platform, owner: tuple[str, dict[str, str]]
) -> None:
    user, headers = owner
    future = format_time(datetime.now(UTC) + timedelta(hours=1))
    batch: list[Any] = [
        {"time": at(0), "value": 60},
        {"time": at(1), "value": 19},  # below heart_rate's 20 bpm
        {"time": "2024-03-01T00:02:00", "value": 60},  # no offset
        {"time": at(3), "value": "60"},
        {"time": at(4), "value": True},
        "not a point",
        {"time": future, "value": 60},  # the service's own rule: not in the future
        {"time": "1999-12-31T23:59:59Z", "value": 60},
        {"time": at(8), "value": 60, "extra": 1},
        {"time": at(9), "value": 250},
    ]
    answer = await write(health_platform, user, headers, "heart_rate", batch)
    assert answer.status_code == 200, answer.text
    result = answer.json()
    assert (result["accepted"], result["unchanged"]) == (2, 0)
    assert [r["index"] for r in result["rejected"]] == [1, 2, 3, 4, 5, 6, 7, 8]
    assert "20-250 bpm" in result["rejected"][0]["reason"]
    assert all(r["reason"] for r in result["rejected"])
    stored = (await series(health_platform, user, headers, "heart_rate")).json()["points"]
    assert [(p["time"], p["value"]) for p in stored] == [(at(0), 60), (at(9), 250)]


async def test_non_finite_values_are_rejected_not_stored(
    health_platform: Platform, owner: tuple[str, dict[str, str]]
) -> None:
    user, headers = owner
    values = ["NaN", "Infinity", "1e999", "12"]
    batch = ", ".join(f'{{"time": "{at(i)}", "value": {v}}}' for i, v in enumerate(values))
    text = f'{{"metric": "steps", "points": [{batch}]}}'
    typed = {**headers, "content-type": "application/json"}
    answer = await health_platform.client.post(
        f"/users/{user}/health-metrics", content=text, headers=typed
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["accepted"] == 1
    assert [r["index"] for r in answer.json()["rejected"]] == [0, 1, 2]


async def test_a_batch_of_which_nothing_is_stored_is_422_with_every_rejection(
    health_platform: Platform, owner: tuple[str, dict[str, str]]
) -> None:
    user, headers = owner
    answer = await write(health_platform, user, headers, "spo2", points([49, 101]))
    assert_error(answer, 422)
    error = answer.json()["error"]
    assert error["message"].startswith("no point was stored: points[0]")
    assert [r["index"] for r in error["rejected"]] == [0, 1]


async def test_two_points_at_one_instant_refuse_the_whole_batch(
    health_platform: Platform, owner: tuple[str, dict[str, str]]
) -> None:
    user, headers = owner
    batch = [{"time": at(0), "value": 70}, {"time": "2024-03-01T01:00:00+01:00", "value": 71}]
    assert_error(await write(health_platform, user, headers, "heart_rate", batch), 400)
    page = (await series(health_platform, user, headers, "heart_rate")).json()
    assert page["points"] == []


async def test_a_malformed_batch_is_422(
    health_platform: Platform, owner: tuple[str, dict[str, str]]
) -> None:
    user, headers = owner
    url = f"/users/{user}/health-metrics"
    for body in [
        {"metric": "blood_pressure", "points": points([1])},
        {"metric": "steps", "points": []},
        {"metric": "steps"},
        {"metric": "steps", "points": points([1]), "user": "x"},
        {"metric": 3, "points": points([1])},
        {"metric": "steps", "points": "many"},
        [],
    ]:
        refused(await health_platform.client.post(url, json=body, headers=headers), 422, body)


async def test_a_full_batch_of_10000_points_passes_and_one_more_is_422(
    health_platform: Platform, owner: tuple[str, dict[str, str]]
) -> None:
    user, headers = owner
    batch = points([float(i % 1000) for i in range(10_000)], step=1 / 60)
    answer = await write(health_platform, user, headers, "steps", batch)
    assert answer.status_code == 200, answer.text[:300]
    assert answer.json()["accepted"] == 10_000
    over = [*batch, {"time": at(-1), "value": 1}]
    assert_error(await write(health_platform, user, headers, "steps", over), 422)


async def test_the_batch_bound_and_the_hourly_point_quota_follow_the_settings(
    tmp_path: Path,
    jwt_keys: KeyFiles,
    service_certs: ServiceCerts,
    redis_server: str,
    postgres_url: str,
) -> None:
    bounds = {"health_max_points": 4, "health_max_points_per_window": 6}
    async with sqlite_platform(
        tmp_path,
        jwt_keys,
        redis_server,
        certs=service_certs,
        health_database_url=postgres_url,
        **bounds,
    ) as platform:
        user, headers = await register_and_login(platform.client, "counted")
        other, other_headers = await register_and_login(platform.client, "uncounted")
        over = await write(platform, user, headers, "steps", points([1] * 5))
        first = await write(platform, user, headers, "steps", points([1] * 4))
        refused = await write(platform, user, headers, "steps", points([1] * 3, start=10))
        theirs = await write(platform, other, other_headers, "steps", points([1] * 4))
    assert "at most 4" in str(assert_error(over, 422)["message"])
    assert first.json()["accepted"] == 4
    assert "too many health-metric points" in str(assert_error(refused, 429)["message"])
    assert 0 < int(refused.headers["Retry-After"]) <= 3600
    assert theirs.status_code == 200, theirs.text


async def test_a_body_over_the_routes_bound_is_413(
    health_platform: Platform, owner: tuple[str, dict[str, str]]
) -> None:
    user, headers = owner
    text = '{"metric": "steps", "points": []' + " " * (2 * 1024 * 1024) + "}"
    typed = {**headers, "content-type": "application/json"}
    for url in (f"/users/{user}/health-metrics", f"/users/{user}/sleep"):
        assert_error(await health_platform.client.post(url, content=text, headers=typed), 413)


async def test_pages_return_every_point_once_and_a_token_serves_only_its_query(
    health_platform: Platform, owner: tuple[str, dict[str, str]]
) -> None:
    user, headers = owner
    await write(health_platform, user, headers, "breathing_rate", points([14.0] * 25))
    seen: list[str] = []
    token = ""
    for _ in range(4):
        page = await series(
            health_platform, user, headers, "breathing_rate", page_size=10, page_token=token
        )
        assert page.status_code == 200, page.text
        seen += [p["time"] for p in page.json()["points"]]
        token = page.json()["next_page_token"]
        if not token:
            break
    assert seen == [at(i) for i in range(25)]
    first = await series(health_platform, user, headers, "breathing_rate", page_size=10)
    token = first.json()["next_page_token"]
    other = {"from": at(1), "page_size": 10, "page_token": token}
    assert_error(await series(health_platform, user, headers, "breathing_rate", **other), 400)
    forged = base64.urlsafe_b64encode(json.dumps({"t": at(5), "id": "x"}).encode()).decode()
    assert_error(await series(health_platform, user, headers, "hrv", page_token=forged), 400)


async def test_rollups_give_the_mean_or_the_sum_per_bucket(
    health_platform: Platform, owner: tuple[str, dict[str, str]]
) -> None:
    user, headers = owner
    seconds = [{"time": at(s / 60), "value": 60 + s} for s in range(0, 120, 10)]
    await write(health_platform, user, headers, "heart_rate", seconds)
    await write(health_platform, user, headers, "steps", points([10, 20, 30], step=1 / 60))
    heart = await rollups(health_platform, user, headers, "heart_rate", 2)
    assert [(p["time"], p["value"], p["min"], p["max"], p["count"]) for p in heart] == [
        (at(0), 85, 60, 110, 6),
        (at(1), 145, 120, 170, 6),
    ]
    steps = await rollups(health_platform, user, headers, "steps", 1, resolution="1h")
    assert (steps[0]["value"], steps[0]["count"]) == (60, 3)


async def test_linear_fill_flags_every_interpolated_bucket(
    health_platform: Platform, owner: tuple[str, dict[str, str]]
) -> None:
    user, headers = owner
    await write(health_platform, user, headers, "heart_rate", points([60, 90], step=3))
    filled = await rollups(health_platform, user, headers, "heart_rate", 2, fill="linear")
    assert [(p["time"], p["value"], p["count"], p["imputed"]) for p in filled] == [
        (at(0), 60, 1, False),
        (at(1), 70, 0, True),
        (at(2), 80, 0, True),
        (at(3), 90, 1, False),
    ]
    plain = await rollups(health_platform, user, headers, "heart_rate", 2)
    assert [p["imputed"] for p in plain] == [False, False]


async def test_a_bad_series_query_is_422(
    health_platform: Platform, owner: tuple[str, dict[str, str]]
) -> None:
    user, headers = owner
    queries: list[dict[str, Any]] = [
        {"resolution": "1s"},
        {"fill": "spline"},
        {"resolution": "raw", "fill": "linear"},
        {"from": "2024-03-01T00:00:00"},
        {"from": "2024-03-02T00:00:00Z", "to": "2024-03-01T00:00:00Z"},
        {"from": "2023-01-01T00:00:00Z", "to": "2024-03-01T00:00:00Z"},
        {"page_size": 0},
        {"page_size": 10_001},
        {"page_token": "not/base64+"},
    ]
    for params in queries:
        answer = await series(health_platform, user, headers, "heart_rate", **params)
        refused(answer, 422, params)


async def test_an_unknown_metric_is_422_on_every_metric_route(
    health_platform: Platform, owner: tuple[str, dict[str, str]]
) -> None:
    user, headers = owner
    span = {"from": at(0), "to": at(60)}
    for metric in ["pulse", "heart_rate%00", "HEART_RATE"]:
        url = f"/users/{user}/health-metrics/{metric}"
        refused(await health_platform.client.get(url, headers=headers), 422, metric)
        answer = await health_platform.client.delete(url, params=span, headers=headers)
        refused(answer, 422, metric)


async def test_a_delete_removes_its_range_once(
    health_platform: Platform, owner: tuple[str, dict[str, str]]
) -> None:
    user, headers = owner
    await write(health_platform, user, headers, "hrv", points([30, 31, 32, 33]))
    url = f"/users/{user}/health-metrics/hrv"
    span = {"from": at(1), "to": at(3)}
    deleted = await health_platform.client.delete(url, params=span, headers=headers)
    assert deleted.status_code == 200, deleted.text
    assert deleted.json() == {"deleted": 2}
    again = await health_platform.client.delete(url, params=span, headers=headers)
    assert again.json() == {"deleted": 0}
    left = (await series(health_platform, user, headers, "hrv")).json()["points"]
    assert [p["value"] for p in left] == [30, 33]


async def test_a_delete_needs_both_ends_of_its_range(
    health_platform: Platform, owner: tuple[str, dict[str, str]]
) -> None:
    user, headers = owner
    url = f"/users/{user}/health-metrics/hrv"
    for params in [{"from": at(0)}, {"to": at(0)}, {"from": "x", "to": "y"}]:
        answer = await health_platform.client.delete(url, params=params, headers=headers)
        refused(answer, 422, params)


def a_night(start: datetime, *stages: tuple[str, int]) -> dict[str, Any]:
    """A session starting at ``start`` of back-to-back stages (name, minutes)."""
    spans, cursor = [], start
    for stage, minutes in stages:
        end = cursor + timedelta(minutes=minutes)
        spans.append({"stage": stage, "start": format_time(cursor), "end": format_time(end)})
        cursor = end
    return {"start": format_time(start), "end": format_time(cursor), "stages": spans}


NIGHT = a_night(DAY - timedelta(hours=1), ("light", 60), ("deep", 90), ("rem", 30), ("wake", 5))
# Every route with a body it accepts.
ROUTES: list[tuple[str, str, Any]] = [
    ("POST", "/users/{user}/health-metrics", {"metric": "steps", "points": points([5])}),
    ("GET", "/users/{user}/health-metrics/heart_rate", None),
    ("DELETE", f"/users/{{user}}/health-metrics/heart_rate?{DAY_SPAN}", None),
    ("POST", "/users/{user}/sleep", {"sessions": [NIGHT]}),
    ("GET", f"/users/{{user}}/sleep?{DAY_SPAN}", None),
    ("GET", "/users/{user}/health-summary/2024-03-01", None),
    ("POST", "/users/{user}/health-metrics/simulator", None),
]


async def test_sleep_is_stored_once_and_read_with_its_minutes_per_stage(
    health_platform: Platform, owner: tuple[str, dict[str, str]]
) -> None:
    user, headers = owner
    url = f"/users/{user}/sleep"
    first = await health_platform.client.post(url, json={"sessions": [NIGHT]}, headers=headers)
    assert first.status_code == 200, first.text
    assert first.json() == {"accepted": 1, "unchanged": 0}
    again = await health_platform.client.post(url, json={"sessions": [NIGHT]}, headers=headers)
    assert again.json() == {"accepted": 1, "unchanged": 1}
    span = {"from": format_time(DAY), "to": format_time(DAY + timedelta(days=1))}
    read = await health_platform.client.get(url, params=span, headers=headers)
    assert read.status_code == 200, read.text
    (session,) = read.json()["sessions"]
    assert session["night"] == "2024-03-01"
    assert session["minutes"] == {"deep": 90, "light": 60, "rem": 30, "wake": 5}
    assert session["asleep_minutes"] == 180
    assert [s["stage"] for s in session["stages"]] == ["light", "deep", "rem", "wake"]
    assert parse_time(session["start"]) == DAY - timedelta(hours=1)


def _overlapping() -> dict[str, Any]:
    night = a_night(DAY, ("light", 60), ("deep", 60))
    night["stages"][1]["start"] = at(30)
    return night


async def test_malformed_sleep_is_422(
    health_platform: Platform, owner: tuple[str, dict[str, str]]
) -> None:
    user, headers = owner
    url = f"/users/{user}/sleep"
    for sessions in [
        [],
        [a_night(DAY, ("nap", 30))],
        [a_night(DAY, ("light", 25 * 60))],
        [_overlapping()],
        [{**a_night(DAY, ("light", 30)), "stages": []}],
        [{**a_night(DAY, ("light", 30)), "end": at(10)}],
        [a_night(DAY, ("light", 30)), a_night(DAY, ("deep", 40))],
        [{**a_night(DAY, ("light", 30)), "start": "2024-03-01T00:00:00"}],
        [a_night(DAY, ("light", 1))] * 32,
    ]:
        body = {"sessions": sessions}
        refused(await health_platform.client.post(url, json=body, headers=headers), 422, body)


async def test_a_days_summary_has_each_kind_of_data_or_null(
    health_platform: Platform, owner: tuple[str, dict[str, str]]
) -> None:
    user, headers = owner
    await write(
        health_platform,
        user,
        headers,
        "heart_rate",
        points([70.0] * 10 + [50.0] * 30 + [80.0] * 10),
    )
    await write(health_platform, user, headers, "steps", points([100, 250]))
    await health_platform.client.post(
        f"/users/{user}/sleep", json={"sessions": [NIGHT]}, headers=headers
    )
    await rollups(health_platform, user, headers, "heart_rate", 50)
    await rollups(health_platform, user, headers, "steps", 2)
    answer = await health_platform.client.get(
        f"/users/{user}/health-summary/2024-03-01", headers=headers
    )
    assert answer.status_code == 200, answer.text
    assert answer.json() == {
        "day": "2024-03-01",
        "resting_heart_rate": 50,
        "steps": 350,
        "active_zone_minutes": None,
        "spo2_mean": None,
        "hrv_mean": None,
        "breathing_rate_mean": None,
        "sleep_minutes": {"deep": 90, "light": 60, "rem": 30, "wake": 5},
    }


async def test_a_summary_of_no_calendar_date_is_422(
    health_platform: Platform, owner: tuple[str, dict[str, str]]
) -> None:
    user, headers = owner
    for day in ["2024-02-30", "2024-3-01", "yesterday", "2024-03-01T00:00"]:
        url = f"/users/{user}/health-summary/{day}"
        refused(await health_platform.client.get(url, headers=headers), 422, day)


async def test_a_simulator_is_linked_once(
    health_platform: Platform, owner: tuple[str, dict[str, str]]
) -> None:
    user, headers = owner
    url = f"/users/{user}/health-metrics/simulator"
    first = await health_platform.client.post(url, headers=headers)
    assert first.status_code == 201, first.text
    assert first.json() == {"created": True, "ingested_through": None}
    again = await health_platform.client.post(url, headers=headers)
    assert again.status_code == 200, again.text
    assert again.json()["created"] is False


async def test_every_route_needs_a_token_and_is_the_owners_or_an_admins(
    health_platform: Platform, owner: tuple[str, dict[str, str]]
) -> None:
    user, _ = owner
    _, other = await register_and_login(health_platform.client, "neighbour")
    for method, path, body in ROUTES:
        url = path.format(user=user)
        anonymous = await health_platform.client.request(method, url, json=body)
        assert_error(anonymous, 401)
        refused = await health_platform.client.request(method, url, json=body, headers=other)
        assert_error(refused, 403)


async def test_an_admin_reads_and_writes_another_users_health_data(
    health_platform: Platform, owner: tuple[str, dict[str, str]]
) -> None:
    user, headers = owner
    client = health_platform.client
    _, admin = await register_admin(client, health_platform.user_database_url, "nurse")
    await write(health_platform, user, headers, "spo2", points([96]))
    read = await series(health_platform, user, admin, "spo2")
    assert read.status_code == 200, read.text
    assert [p["value"] for p in read.json()["points"]] == [96]
    written = await write(health_platform, user, admin, "spo2", points([97], start=1))
    assert written.json()["accepted"] == 1
    posted = await client.post(f"/users/{user}/sleep", json={"sessions": [NIGHT]}, headers=admin)
    assert posted.status_code == 200, posted.text
    sleep = await client.get(
        f"/users/{user}/sleep", params={"from": at(0), "to": at(60 * 24)}, headers=admin
    )
    assert len(sleep.json()["sessions"]) == 1
    summary = await client.get(f"/users/{user}/health-summary/2024-03-01", headers=admin)
    assert summary.status_code == 200, summary.text
    owners = await series(health_platform, user, headers, "spo2")
    assert [p["value"] for p in owners.json()["points"]] == [96, 97]


async def test_times_at_the_ends_of_the_calendar_are_refused_never_a_5xx(
    health_platform: Platform, owner: tuple[str, dict[str, str]]
) -> None:
    user, headers = owner
    client = health_platform.client
    last = {"start": "9999-12-31T20:00:00Z", "end": "9999-12-31T23:59:59Z"}
    late_night = {**last, "stages": [{"stage": "deep", **last}]}
    far = {"from": "9999-12-30T00:00:00Z", "to": "9999-12-31T23:59:59.999999Z"}
    cases: list[tuple[str, str, dict[str, Any] | None, Any, int]] = [
        ("POST", "/sleep", None, {"sessions": [late_night]}, 400),
        (
            "GET",
            "/health-metrics/heart_rate",
            {**far, "resolution": "1d", "fill": "linear"},
            None,
            400,
        ),
        ("GET", "/health-metrics/heart_rate", {"to": "0001-01-01T10:00:00Z"}, None, 422),
        (
            "DELETE",
            "/health-metrics/hrv",
            {"from": "0001-01-01T00:00:00+01:00", "to": at(0)},
            None,
            422,
        ),
        ("GET", "/health-summary/9999-12-31", None, None, 400),
        ("GET", "/health-summary/0001-01-01", None, None, 400),
    ]
    for method, path, params, body, status in cases:
        url = f"/users/{user}{path}"
        answer = await client.request(method, url, params=params, json=body, headers=headers)
        refused(answer, status, (method, path, params))


async def test_a_hostile_user_id_in_the_path_is_422_not_a_lookup(
    health_platform: Platform, owner: tuple[str, dict[str, str]]
) -> None:
    _, headers = owner
    for user in ["a%00b", "a" * 65, "%E2%80%AEevil"]:
        answer = await health_platform.client.get(f"/users/{user}/sleep", headers=headers)
        assert_error(answer, 422)


async def test_without_the_service_every_route_is_503_in_the_error_shape(
    platform: Platform,
) -> None:
    user, headers = await register_and_login(platform.client, "offline")
    for method, path, body in ROUTES:
        url = path.format(user=user)
        assert_error(await platform.client.request(method, url, json=body, headers=headers), 503)
