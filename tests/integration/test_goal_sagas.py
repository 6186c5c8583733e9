"""Goal changes through the saga coordinator: REST outcomes, suggestions, progress, alerts."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import uvicorn
from fitness.user.v1 import user_service_pb2 as user_pb
from fitness.user.v1 import user_service_pb2_grpc as user_grpc
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from deploy.local import free_port
from gateway.app import create_app
from gateway.config import GatewaySettings
from services.common.trust import SAGA, USER
from tests.helpers import address, channel_as, register_admin, register_and_login
from tests.integration.platform import Platform

SOON = (datetime.now(UTC).date() + timedelta(days=13)).isoformat()
LATER = (datetime.now(UTC).date() + timedelta(days=60)).isoformat()


async def new_goal(
    platform: Platform, headers: dict[str, str], user_id: str, **body: object
) -> dict[str, object]:
    payload = {"goal_type": "active_minutes", "target_value": 300, "target_date": SOON, **body}
    created = await platform.client.post(f"/users/{user_id}/goals", headers=headers, json=payload)
    assert created.status_code == 201, created.text
    return dict(created.json())


async def test_a_created_goal_is_confirmed_and_gets_a_weekly_plan(platform: Platform) -> None:
    user_id, headers = await register_and_login(platform.client, "gina")
    goal = await new_goal(platform, headers, user_id)
    assert goal["pending"] is None
    assert goal["status"] == "active"
    plan = (await platform.client.get(f"/users/{user_id}/suggestions", headers=headers)).json()
    [suggestion] = plan["suggestions"]
    # 300 minutes over 2 weeks: 150 a week, in 4 sessions of 38 minutes.
    assert suggestion["goal_id"] == goal["goal_id"]
    assert (suggestion["weeks_left"], suggestion["weekly_target"]) == (2, 150.0)
    assert (suggestion["sessions_per_week"], suggestion["minutes_per_session"]) == (4, 38)


async def test_updating_a_goal_changes_its_target_and_its_plan(platform: Platform) -> None:
    user_id, headers = await register_and_login(platform.client, "hugo")
    goal = await new_goal(platform, headers, user_id)
    url = f"/users/{user_id}/goals/{goal['goal_id']}"
    changed = await platform.client.patch(url, headers=headers, json={"target_value": 600})
    assert changed.status_code == 200, changed.text
    assert (changed.json()["target_value"], changed.json()["target_date"]) == (600.0, SOON)
    plan = (await platform.client.get(f"/users/{user_id}/suggestions", headers=headers)).json()
    assert plan["suggestions"][0]["weekly_target"] == 300.0


async def test_deleting_a_goal_removes_it_and_its_plan(platform: Platform) -> None:
    user_id, headers = await register_and_login(platform.client, "ines")
    goal = await new_goal(platform, headers, user_id)
    url = f"/users/{user_id}/goals/{goal['goal_id']}"
    deleted = await platform.client.delete(url, headers=headers)
    assert deleted.status_code == 204
    assert deleted.content == b""
    assert (await platform.client.get(url, headers=headers)).status_code == 404
    plan = (await platform.client.get(f"/users/{user_id}/suggestions", headers=headers)).json()
    assert plan["suggestions"] == []
    again = await platform.client.delete(url, headers=headers)
    assert again.status_code == 404


async def test_a_goal_the_plan_step_refuses_is_undone_and_never_appears(platform: Platform) -> None:
    user_id, headers = await register_and_login(platform.client, "jack")
    body = {"goal_type": "active_minutes", "target_value": 50_000, "target_date": SOON}
    refused = await platform.client.post(f"/users/{user_id}/goals", headers=headers, json=body)
    assert refused.status_code == 409
    error = refused.json()["error"]
    assert error["status"] == "FAILED_PRECONDITION"
    assert "sessions of" in error["message"]
    listed = (await platform.client.get(f"/users/{user_id}/goals", headers=headers)).json()
    assert listed["goals"] == []


async def test_an_infeasible_update_is_undone_and_the_goal_keeps_its_old_target(
    platform: Platform,
) -> None:
    user_id, headers = await register_and_login(platform.client, "kira")
    goal = await new_goal(platform, headers, user_id)
    url = f"/users/{user_id}/goals/{goal['goal_id']}"
    refused = await platform.client.patch(url, headers=headers, json={"target_value": 90_000})
    assert refused.status_code == 409
    after = (await platform.client.get(url, headers=headers)).json()
    assert after == goal
    plan = (await platform.client.get(f"/users/{user_id}/suggestions", headers=headers)).json()
    assert plan["suggestions"][0]["target_value"] == 300.0


async def test_a_goal_being_changed_shows_pending_and_refuses_another_change_with_409(
    platform: Platform,
) -> None:
    user_id, headers = await register_and_login(platform.client, "liam")
    goal = await new_goal(platform, headers, user_id)
    channel = channel_as(platform.certs, SAGA, USER, address(platform.user_servers[0]))
    users = user_grpc.UserServiceStub(channel)
    step: dict[str, Any] = {"saga_id": "other-saga", "user_id": user_id, "goal_id": goal["goal_id"]}
    await users.PrepareGoalChange(
        user_pb.PrepareGoalChangeRequest(
            request_id="other-saga:prepare",
            operation=user_pb.GOAL_OPERATION_UPDATE,
            target_value=10,
            target_date=LATER,
            **step,
        )
    )
    url = f"/users/{user_id}/goals/{goal['goal_id']}"
    shown = (await platform.client.get(url, headers=headers)).json()
    assert shown["pending"] == {"operation": "update", "saga_id": "other-saga"}
    busy = await platform.client.patch(url, headers=headers, json={"target_value": 400})
    assert busy.status_code == 409
    assert busy.headers["Retry-After"] == "1"
    assert busy.json()["error"]["status"] == "ABORTED"
    await users.CancelGoalChange(
        user_pb.GoalChangeStepRequest(request_id="other-saga:undo", **step)
    )
    await channel.close()
    freed = await platform.client.patch(url, headers=headers, json={"target_value": 400})
    assert freed.status_code == 200, freed.text


async def test_concurrent_updates_of_one_goal_lose_nothing(platform: Platform) -> None:
    user_id, headers = await register_and_login(platform.client, "mona")
    goal = await new_goal(platform, headers, user_id)
    url = f"/users/{user_id}/goals/{goal['goal_id']}"
    targets = [310, 320, 330, 340, 350, 360]
    answers = await asyncio.gather(
        *(platform.client.patch(url, headers=headers, json={"target_value": t}) for t in targets)
    )
    applied = [t for t, a in zip(targets, answers, strict=True) if a.status_code == 200]
    refused = [a for a in answers if a.status_code != 200]
    assert applied
    assert all(a.status_code == 409 and a.headers["Retry-After"] == "1" for a in refused)
    final = (await platform.client.get(url, headers=headers)).json()
    assert final["pending"] is None
    assert final["target_value"] in applied
    plan = (await platform.client.get(f"/users/{user_id}/suggestions", headers=headers)).json()
    assert plan["suggestions"][0]["target_value"] == final["target_value"]


async def test_an_idempotency_key_makes_a_retried_create_return_the_same_goal(
    platform: Platform,
) -> None:
    user_id, headers = await register_and_login(platform.client, "nico")
    keyed = {**headers, "Idempotency-Key": "goal-attempt-1"}
    body = {"goal_type": "workouts_count", "target_value": 3, "target_date": SOON}
    first = await platform.client.post(f"/users/{user_id}/goals", headers=keyed, json=body)
    second = await platform.client.post(f"/users/{user_id}/goals", headers=keyed, json=body)
    assert first.status_code == second.status_code == 201
    assert first.content == second.content
    listed = (await platform.client.get(f"/users/{user_id}/goals", headers=headers)).json()
    assert len(listed["goals"]) == 1
    _admin_id, admin = await register_admin(platform.client, platform.user_database_url, "ada")
    sagas = (await platform.client.get("/admin/sagas", headers=admin)).json()["sagas"]
    assert next(s["saga_id"] for s in sagas if s["user_id"] == user_id).startswith("idem-")


async def test_admins_see_sagas_with_their_history_and_others_may_not(platform: Platform) -> None:
    user_id, headers = await register_and_login(platform.client, "olga")
    await new_goal(platform, headers, user_id)
    body = {"goal_type": "active_minutes", "target_value": 50_000, "target_date": SOON}
    await platform.client.post(f"/users/{user_id}/goals", headers=headers, json=body)
    _, admin = await register_admin(platform.client, platform.user_database_url, "ada")
    assert (await platform.client.get("/admin/sagas", headers=headers)).status_code == 403
    assert (await platform.client.get("/admin/sagas")).status_code == 401
    undone = await platform.client.get("/admin/sagas?status=compensated", headers=admin)
    [saga] = [s for s in undone.json()["sagas"] if s["user_id"] == user_id]
    assert saga["failure_code"] == "FAILED_PRECONDITION"
    detail = (await platform.client.get(f"/admin/sagas/{saga['saga_id']}", headers=admin)).json()
    history = [(e["step"], e["phase"], e["outcome"]) for e in detail["events"]]
    assert history == [
        ("prepare_goal_change", "action", "completed"),
        ("plan_suggestions", "action", "failed"),
        ("prepare_goal_change", "compensation", "completed"),
    ]
    assert (await platform.client.get("/admin/sagas/nope", headers=admin)).status_code == 404
    bad = await platform.client.get("/admin/sagas?status=exploded", headers=admin)
    assert bad.status_code == 422


async def test_notification_pages_must_be_between_1_and_200(platform: Platform) -> None:
    user_id, headers = await register_and_login(platform.client, "rhea")
    for size in (0, 201, "many"):
        answer = await platform.client.get(
            f"/users/{user_id}/notifications?page_size={size}", headers=headers
        )
        assert answer.status_code == 422
    assert (await platform.client.get(f"/users/{user_id}/notifications")).status_code == 401


async def test_goal_changes_reject_bad_input(platform: Platform) -> None:
    user_id, headers = await register_and_login(platform.client, "paul")
    goal = await new_goal(platform, headers, user_id)
    url = f"/users/{user_id}/goals/{goal['goal_id']}"
    for body, status in [
        ({}, 422),
        ({"target_value": "lots"}, 422),
        ({"colour": "red"}, 422),
        ({"target_value": -5}, 422),
        ({"target_date": "2001-01-01"}, 400),
        ({"target_date": "tomorrow"}, 422),
    ]:
        answer = await platform.client.patch(url, headers=headers, json=body)
        assert answer.status_code == status, (body, answer.text)
        assert set(answer.json()["error"]) >= {"code", "status", "message"}
    missing = await platform.client.patch(
        f"/users/{user_id}/goals/nope", headers=headers, json={"target_value": 5}
    )
    assert missing.status_code == 404
    assert (await platform.client.get(url, headers=headers)).json() == goal


@asynccontextmanager
async def second_gateway(platform: Platform, settings: GatewaySettings) -> AsyncIterator[str]:
    """Another gateway over the same services and Redis, served on a real port."""
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(create_app(settings), host="127.0.0.1", port=port, log_level="warning")
    )
    task = asyncio.create_task(server.serve())
    while not server.started:  # noqa: ASYNC110 - uvicorn exposes only this flag
        await asyncio.sleep(0.01)
    try:
        yield f"ws://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task


async def test_reaching_a_goal_alerts_the_user_at_once_and_is_listed(platform: Platform) -> None:
    user_id, headers = await register_and_login(platform.client, "quinn")
    goal = await new_goal(platform, headers, user_id, goal_type="workouts_count", target_value=2)
    settings: GatewaySettings = platform.app.state.settings
    async with (
        second_gateway(platform, settings) as ws_base,
        connect(f"{ws_base}/ws/notifications", additional_headers=headers) as socket,
    ):
        for _ in range(2):
            started = await platform.client.post(
                "/workouts/start", headers=headers, json={"workout_type": "yoga"}
            )
            ended = await platform.client.post(
                f"/workouts/{started.json()['session_id']}/end", headers=headers, json={}
            )
            assert ended.status_code == 200
        alert = json.loads(await asyncio.wait_for(socket.recv(), 5))
    assert alert["type"] == "goal_achieved", alert  # an error frame says why
    assert alert["goal_id"] == goal["goal_id"]
    reached = (
        await platform.client.get(f"/users/{user_id}/goals/{goal['goal_id']}", headers=headers)
    ).json()
    assert (reached["status"], reached["current_progress"]) == ("achieved", 2)
    assert reached["achieved_at"] is not None
    listed = (await platform.client.get(f"/users/{user_id}/notifications", headers=headers)).json()
    assert [n["notification_id"] for n in listed["notifications"]] == [alert["notification_id"]]


async def test_the_notification_socket_refuses_a_missing_or_bad_token(platform: Platform) -> None:
    settings: GatewaySettings = platform.app.state.settings
    async with second_gateway(platform, settings) as ws_base:
        for headers in ({}, {"Authorization": "Bearer not-a-token"}):
            with pytest.raises(InvalidStatus) as refused:
                await connect(f"{ws_base}/ws/notifications", additional_headers=headers)
            assert refused.value.response.status_code == 403
