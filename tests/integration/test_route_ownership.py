"""Every route of the app is public, admin-only, shared by design, or guarded per user.

The route list comes from ``app.routes``: a new route that is in none of the tables
below fails ``test_every_route_of_the_app_is_classified`` until someone decides who may
call it, and every route over a user's data is then tried by another user.
"""

from __future__ import annotations

import hashlib
import time
from typing import Any

from fastapi.routing import APIRoute, APIWebSocketRoute, iter_route_contexts

from tests.helpers import assert_error, register_and_login
from tests.integration.platform import Platform

FUTURE_DATE = "2099-12-31"
# A reading the motion service accepts (taken when the module is loaded).
READING = {"name": "accelerometer", "timestamp": int(time.time() * 1000), "values": [0, 9.8, 0]}
# A heart-rate point and a night of sleep the health-metrics service accepts.
HEALTH_DAY = "from=2024-03-01T00:00:00Z&to=2024-03-02T00:00:00Z"
HEART_RATE = {"metric": "heart_rate", "points": [{"time": "2024-03-01T08:00:00Z", "value": 61}]}
NIGHT = {
    "start": "2024-03-01T00:00:00Z",
    "end": "2024-03-01T07:00:00Z",
    "stages": [{"stage": "light", "start": "2024-03-01T00:00:00Z", "end": "2024-03-01T07:00:00Z"}],
}

# Anyone may call these, with or without a token.
PUBLIC = {
    ("POST", "/users/register"),
    ("POST", "/users/login"),
    ("POST", "/users/token/refresh"),
    ("GET", "/health/live"),
    ("GET", "/health/ready"),
}
# The dashboard's HTML shell, scripts and pinned libraries: the same files for everyone,
# no user data (a page's data comes from the API routes classified here).
DASHBOARD = {("GET", "/"), ("GET", "/app"), ("GET", "/app/{name}")}
# FastAPI's documentation of the public API.
DOCS = {
    ("ANY", "/openapi.json"),
    ("ANY", "/docs"),
    ("ANY", "/docs/oauth2-redirect"),
    ("ANY", "/redoc"),
}
# Only admins (tested in test_rest_sessions.py and test_operations.py).
ADMIN = {
    ("GET", "/admin/sagas"),
    ("GET", "/admin/sagas/{saga_id}"),
    ("GET", "/admin/etl-runs"),
    ("GET", "/health"),
}
# Analysts and admins: reports over every user's watch logs, by design (their purpose);
# anyone else gets 403 (tested in test_rest_watch_logs.py).
REPORTING = {
    ("GET", "/watch-logs"),
    ("GET", "/watch-logs/export"),
    ("GET", "/watch-logs/aggregates"),
    ("GET", "/watch-logs/summaries"),
    ("GET", "/watch-logs/pipeline"),
}
# Any signed-in user, by design: the catalogue, and group classes anyone may join.
SHARED = {
    ("GET", "/workout-types"),
    ("POST", "/group-sessions"),
    ("GET", "/group-sessions"),
    ("GET", "/group-sessions/{session_id}"),
    ("WS", "/ws/sessions/{session_id}"),
}
# The token alone says whose: no id of another user can be named.
OWN_BY_TOKEN = {("POST", "/users/logout"), ("WS", "/ws/notifications"), ("GET", "/devices")}
# Routes over one user's data, each tried by another user: method, path -> body.
CROSS_USER: dict[tuple[str, str], dict[str, Any] | None] = {
    ("GET", "/users/{user_id}"): None,
    ("PATCH", "/users/{user_id}"): {"display_name": "Mallory"},
    ("DELETE", "/users/{user_id}"): None,
    ("POST", "/users/{user_id}/goals"): {
        "goal_type": "workouts_count",
        "target_value": 5,
        "target_date": FUTURE_DATE,
    },
    ("GET", "/users/{user_id}/goals"): None,
    ("GET", "/users/{user_id}/goals/{goal_id}"): None,
    ("PATCH", "/users/{user_id}/goals/{goal_id}"): {"target_value": 1},
    ("DELETE", "/users/{user_id}/goals/{goal_id}"): None,
    ("GET", "/users/{user_id}/suggestions"): None,
    ("GET", "/users/{user_id}/changes/{saga_id}"): None,
    ("GET", "/users/{user_id}/notifications"): None,
    ("GET", "/users/{user_id}/statistics"): None,
    ("GET", "/users/{user_id}/workouts"): None,
    ("POST", "/workouts/start"): {"user_id": "{user_id}", "workout_type": "running"},
    ("POST", "/workouts/{session_id}/end"): {},
    ("POST", "/group-sessions/{session_id}/end"): None,
    ("POST", "/watch-logs"): {"user_id": "{user_id}", "logs": [{"message_id": "m-1"}]},
    ("GET", "/users/{user_id}/watch-logs/summaries"): None,
    # A phone belongs to the user who first posted it.
    ("POST", "/sensor-data"): {
        "messageId": "mallory-1",
        "sessionId": "s-1",
        "deviceId": "{device_id}",
        "sensorReadings": [READING],
    },
    ("GET", "/devices/{device_id}/activity"): None,
    ("GET", "/devices/{device_id}/activity/timeline"): None,
    ("GET", "/devices/{device_id}/activity/distribution"): None,
    ("GET", "/devices/{device_id}/activity/records"): None,
    ("POST", "/users/{user_id}/health-metrics"): HEART_RATE,
    ("GET", "/users/{user_id}/health-metrics/{metric}"): None,
    ("DELETE", "/users/{user_id}/health-metrics/{metric}"): None,
    ("POST", "/users/{user_id}/health-metrics/simulator"): None,
    ("POST", "/users/{user_id}/sleep"): {"sessions": [NIGHT]},
    ("GET", "/users/{user_id}/sleep"): None,
    ("GET", "/users/{user_id}/health-summary/{day}"): None,
}
# Query strings the routes need to be valid requests (a 422 would prove nothing).
QUERIES = {
    ("GET", "/users/{user_id}/health-metrics/{metric}"): HEALTH_DAY,
    ("DELETE", "/users/{user_id}/health-metrics/{metric}"): HEALTH_DAY,
    ("GET", "/users/{user_id}/sleep"): HEALTH_DAY,
}


def app_routes(platform: Platform) -> set[tuple[str, str]]:
    """Every (method, path) the app serves: WebSockets as "WS", other routes and mounts "ANY"."""
    found: set[tuple[str, str]] = set()
    # Included routers are nested in this FastAPI: iter_route_contexts flattens them.
    for route in iter_route_contexts(platform.app.routes):
        path = route.path_format or ""
        if isinstance(route.original_route, APIRoute):
            found.update((method, path) for method in route.methods or ())
        elif isinstance(route.original_route, APIWebSocketRoute):
            found.add(("WS", path))
        else:  # Starlette routes and mounts: FastAPI's own documentation pages, or new
            found.add(("ANY", path))
    return found


async def test_every_route_of_the_app_is_classified(platform: Platform) -> None:
    classified = (
        PUBLIC | DASHBOARD | DOCS | ADMIN | REPORTING | SHARED | OWN_BY_TOKEN | set(CROSS_USER)
    )
    assert app_routes(platform) - classified == set(), "decide who may call these routes"
    assert classified - app_routes(platform) == set(), "these routes no longer exist"


async def test_no_route_lets_a_user_read_or_change_another_users_data(
    health_platform: Platform,
) -> None:
    platform = health_platform
    victim, victim_headers = await register_and_login(platform.client, "victim")
    _, mallory_headers = await register_and_login(platform.client, "mallory")
    names = await _victims_resources(platform, victim, victim_headers)
    before = await _victims_data(platform, victim, victim_headers, names)
    allowed = []
    for (method, path), body in CROSS_USER.items():
        payload = None if body is None else {k: _fill(v, names) for k, v in body.items()}
        query = QUERIES.get((method, path))
        url = _url(path, names) + (f"?{query}" if query else "")
        response = await platform.client.request(method, url, headers=mallory_headers, json=payload)
        if response.status_code not in (403, 404):
            allowed.append(f"{method} {path}: {response.status_code} {response.text}")
        else:
            assert_error(response, response.status_code)
    assert allowed == []
    assert await _victims_data(platform, victim, victim_headers, names) == before


async def _victims_resources(
    platform: Platform, victim: str, headers: dict[str, str]
) -> dict[str, str]:
    client = platform.client
    # With an Idempotency-Key the saga's id is known: the caller-scoped hash of the key.
    keyed = {**headers, "Idempotency-Key": "victims-goal"}
    goal = await client.post(
        f"/users/{victim}/goals",
        headers=keyed,
        json={"goal_type": "workouts_count", "target_value": 5, "target_date": FUTURE_DATE},
    )
    saga_id = "idem-" + hashlib.sha256(f"{victim}\0victims-goal".encode()).hexdigest()[:32]
    change = await client.get(f"/users/{victim}/changes/{saga_id}", headers=headers)
    workout = await client.post("/workouts/start", headers=headers, json={"workout_type": "yoga"})
    group = await client.post(
        "/group-sessions", headers=headers, json={"title": "Morning", "workout_type": "yoga"}
    )
    assert (goal.status_code, change.status_code, workout.status_code) == (201, 200, 201)
    assert group.status_code == 201, group.text
    phone = {"messageId": "m-1", "sessionId": "s-1", "deviceId": "victims-phone"}
    posted = await client.post(
        "/sensor-data", headers=headers, json={**phone, "sensorReadings": [READING]}
    )
    assert posted.status_code == 202, posted.text
    points = await client.post(f"/users/{victim}/health-metrics", headers=headers, json=HEART_RATE)
    night = await client.post(f"/users/{victim}/sleep", headers=headers, json={"sessions": [NIGHT]})
    assert (points.status_code, night.status_code) == (200, 200), points.text + night.text
    return {
        "metric": "heart_rate",
        "day": "2024-03-01",
        "device_id": "victims-phone",
        "user_id": victim,
        "goal_id": goal.json()["goal_id"],
        "saga_id": saga_id,
        "session_id": workout.json()["session_id"],
        "group_id": group.json()["session_id"],
    }


async def _victims_data(
    platform: Platform, victim: str, headers: dict[str, str], names: dict[str, str]
) -> list[Any]:
    reads = [
        f"/users/{victim}",
        f"/users/{victim}/goals",
        f"/users/{victim}/workouts",
        f"/group-sessions/{names['group_id']}",
        "/devices",
        f"/devices/{names['device_id']}/activity/records",
        f"/users/{victim}/health-metrics/heart_rate?{HEALTH_DAY}",
        f"/users/{victim}/sleep?{HEALTH_DAY}",
        f"/users/{victim}/health-summary/2024-03-01",
    ]
    return [(await platform.client.get(url, headers=headers)).json() for url in reads]


def _url(path: str, names: dict[str, str]) -> str:
    # {session_id} names a workout under /workouts and a group class under /group-sessions.
    if path.startswith("/group-sessions/"):
        return path.format(**{**names, "session_id": names["group_id"]})
    return path.format(**names)


def _fill(value: Any, names: dict[str, str]) -> Any:
    return value.format(**names) if isinstance(value, str) else value
