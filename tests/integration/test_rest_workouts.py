"""REST contract of workout sessions and statistics, through the gateway to the activity service."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest

from services.common.timeutil import format_time, parse_time
from tests.helpers import assert_error, register_and_login
from tests.integration.platform import Platform


async def start(
    platform: Platform, headers: dict[str, str], workout_type: str = "running"
) -> dict[str, str]:
    """Start a session and return its JSON."""
    response = await platform.client.post(
        "/workouts/start", headers=headers, json={"workout_type": workout_type}
    )
    assert response.status_code == 201, response.text
    return dict(response.json())


def later(start_time: str, minutes: float) -> str:
    """A timestamp some minutes after an RFC 3339 one."""
    return format_time(parse_time(start_time) + timedelta(minutes=minutes))


async def test_start_returns_the_seed_fields(platform: Platform) -> None:
    user_id, headers = await register_and_login(platform.client, "ann")
    body = {"user_id": user_id, "workout_type": "running"}
    response = await platform.client.post("/workouts/start", headers=headers, json=body)
    assert response.status_code == 201
    assert {"session_id", "start_time"} <= set(response.json())
    assert isinstance(datetime.fromisoformat(response.json()["start_time"]), datetime)


async def test_ending_computes_duration_and_met_calories_from_the_weight(
    platform: Platform,
) -> None:
    _, headers = await register_and_login(platform.client, "ben", weight_kg=80)
    session = await start(platform, headers, "running")
    end_time = later(session["start_time"], 4)
    response = await platform.client.post(
        f"/workouts/{session['session_id']}/end", headers=headers, json={"end_time": end_time}
    )
    assert response.status_code == 200, response.text
    ended = response.json()
    assert ended["duration"] == 240.0
    assert ended["calories_burned"] == pytest.approx(9.8 * 80 * 240 / 3600, abs=0.06)
    assert ended["end_time"] == end_time


async def test_a_user_without_weight_gets_the_documented_default(platform: Platform) -> None:
    _, headers = await register_and_login(platform.client, "cat")
    session = await start(platform, headers, "walking")
    ended = await platform.client.post(
        f"/workouts/{session['session_id']}/end",
        headers=headers,
        json={"end_time": later(session["start_time"], 3)},
    )
    assert ended.json()["calories_burned"] == pytest.approx(3.5 * 70 * 180 / 3600, abs=0.06)


async def test_end_without_a_body_ends_now(platform: Platform) -> None:
    _, headers = await register_and_login(platform.client, "dan")
    session = await start(platform, headers)
    response = await platform.client.post(f"/workouts/{session['session_id']}/end", headers=headers)
    assert response.status_code == 200
    assert response.json()["end_time"] >= session["start_time"]


async def test_ending_twice_is_a_409(platform: Platform) -> None:
    _, headers = await register_and_login(platform.client, "eva")
    session = await start(platform, headers)
    url = f"/workouts/{session['session_id']}/end"
    assert (await platform.client.post(url, headers=headers)).status_code == 200
    assert_error(await platform.client.post(url, headers=headers), 409)


@pytest.mark.parametrize(
    ("end_time", "status"),
    [
        ("2001-01-01T00:00:00Z", 400),
        ("2999-01-01T00:00:00Z", 400),
        ("yesterday", 422),
        ("2030-01-01T00:00:00", 422),
        (12345, 422),
    ],
)
async def test_bad_end_times_are_refused_and_the_session_keeps_running(
    platform: Platform, end_time: object, status: int
) -> None:
    user_id, headers = await register_and_login(platform.client, "fay")
    session = await start(platform, headers)
    url = f"/workouts/{session['session_id']}/end"
    assert_error(
        await platform.client.post(url, headers=headers, json={"end_time": end_time}), status
    )
    page = (await platform.client.get(f"/users/{user_id}/workouts", headers=headers)).json()
    assert page["workouts"][0]["end_time"] is None


async def test_an_unknown_session_is_404(platform: Platform) -> None:
    _, headers = await register_and_login(platform.client, "gus")
    assert_error(await platform.client.post("/workouts/no-such-session/end", headers=headers), 404)


@pytest.mark.parametrize(
    "body",
    [
        {"workout_type": "sleeping"},
        {"workout_type": ""},
        {},
        {"workout_type": 3},
        {"workout_type": "yoga", "x": 1},
    ],
)
async def test_start_rejects_unknown_types_and_bad_bodies(
    platform: Platform, body: dict[str, object]
) -> None:
    _, headers = await register_and_login(platform.client, "hal")
    response = await platform.client.post("/workouts/start", headers=headers, json=body)
    assert response.status_code in (400, 422)
    assert_error(response, response.status_code)


async def test_workout_routes_need_a_token(platform: Platform) -> None:
    assert_error(await platform.client.post("/workouts/start", json={"workout_type": "yoga"}), 401)
    assert_error(await platform.client.post("/workouts/any/end"), 401)
    assert_error(await platform.client.get("/workout-types"), 401)


async def test_statistics_add_up_ended_sessions_only(platform: Platform) -> None:
    user_id, headers = await register_and_login(platform.client, "ivy", weight_kg=60)
    for minutes in (2, 4):
        session = await start(platform, headers, "cycling")
        await platform.client.post(
            f"/workouts/{session['session_id']}/end",
            headers=headers,
            json={"end_time": later(session["start_time"], minutes)},
        )
    await start(platform, headers, "yoga")  # still running: not counted
    stats = (await platform.client.get(f"/users/{user_id}/statistics", headers=headers)).json()
    assert stats["total_workouts"] == 2
    assert stats["total_duration"] == 360.0
    assert stats["average_session_duration"] == 180.0
    assert stats["total_calories_burned"] == pytest.approx(7.5 * 60 * 360 / 3600, abs=0.1)


async def test_statistics_of_a_new_user_are_zero(platform: Platform) -> None:
    user_id, headers = await register_and_login(platform.client, "jon")
    stats = (await platform.client.get(f"/users/{user_id}/statistics", headers=headers)).json()
    assert stats == {
        "total_workouts": 0,
        "total_duration": 0.0,
        "total_calories_burned": 0.0,
        "average_session_duration": 0.0,
    }


async def test_workouts_are_listed_newest_first_page_by_page(platform: Platform) -> None:
    user_id, headers = await register_and_login(platform.client, "kim")
    started = [
        (await start(platform, headers, t))["session_id"] for t in ("yoga", "rowing", "hiit")
    ]
    url = f"/users/{user_id}/workouts"
    first = (await platform.client.get(url, headers=headers, params={"page_size": 2})).json()
    token = first["next_page_token"]
    second = (
        await platform.client.get(
            url, headers=headers, params={"page_size": 2, "page_token": token}
        )
    ).json()
    listed = [w["session_id"] for w in first["workouts"] + second["workouts"]]
    assert listed == list(reversed(started))
    assert second["next_page_token"] == ""


@pytest.mark.parametrize(
    "params", [{"page_size": 0}, {"page_size": 101}, {"page_size": "x"}, {"page_token": "%%%"}]
)
async def test_bad_paging_parameters_are_client_errors(
    platform: Platform, params: dict[str, Any]
) -> None:
    user_id, headers = await register_and_login(platform.client, "lou")
    response = await platform.client.get(
        f"/users/{user_id}/workouts", headers=headers, params=params
    )
    assert response.status_code in (400, 422)
    assert_error(response, response.status_code)


async def test_workout_types_list_met_values(platform: Platform) -> None:
    _, headers = await register_and_login(platform.client, "max")
    types = {
        t["name"]: t["met"]
        for t in (await platform.client.get("/workout-types", headers=headers)).json()
    }
    assert types["running"] == 9.8
    assert types["yoga"] == 2.5
