"""DELETE /users/{user_id} through the in-process platform: who may, what goes, what stays."""

from __future__ import annotations

import hashlib
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Table, func, select
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from gateway.routes.changes import LostChanges
from services.common.db import make_engine
from services.user.tables import goal_deletions, goals, user_deletions, users
from tests.helpers import register_admin, register_and_login
from tests.integration.platform import Platform, served

SOON = (datetime.now(UTC).date() + timedelta(days=13)).isoformat()


def user_db(tmp_path: Path) -> str:
    """The platform fixture's user store (see tests/integration/conftest.py)."""
    return f"sqlite:///{tmp_path / 'user.db'}"


async def with_goal_and_workout(platform: Platform, user_id: str, headers: dict[str, str]) -> str:
    body = {"goal_type": "workouts_count", "target_value": 5, "target_date": SOON}
    goal = await platform.client.post(f"/users/{user_id}/goals", headers=headers, json=body)
    assert goal.status_code == 201, goal.text
    started = await platform.client.post(
        "/workouts/start", headers=headers, json={"workout_type": "yoga"}
    )
    assert started.status_code == 201, started.text
    ended = await platform.client.post(
        f"/workouts/{started.json()['session_id']}/end", headers=headers, json={}
    )
    assert ended.status_code == 200, ended.text
    return str(goal.json()["goal_id"])


def count(url: str, table: Table, user_id: str) -> int:
    engine = make_engine(url)
    with engine.connect() as conn:
        found = conn.execute(
            select(func.count()).select_from(table).where(table.c.user_id == user_id)
        ).scalar_one()
    engine.dispose()
    return int(found)


async def test_a_user_who_deletes_his_account_leaves_nothing_behind_in_either_service(
    platform: Platform, tmp_path: Path
) -> None:
    user_id, headers = await register_and_login(platform.client, "dana", weight_kg=80)
    goal_id = await with_goal_and_workout(platform, user_id, headers)
    deleted = await platform.client.delete(f"/users/{user_id}", headers=headers)
    assert deleted.status_code == 204, deleted.text
    assert (await platform.client.get(f"/users/{user_id}", headers=headers)).status_code == 404
    login = {"email": "dana@example.com", "password": "s3cret-pass"}
    assert (await platform.client.post("/users/login", json=login)).status_code == 401
    workouts = await platform.client.get(f"/users/{user_id}/workouts", headers=headers)
    assert workouts.json()["workouts"] == []
    stats = await platform.client.get(f"/users/{user_id}/statistics", headers=headers)
    assert stats.json()["total_workouts"] == 0
    url = user_db(tmp_path)
    assert (count(url, users, user_id), count(url, goals, user_id)) == (0, 0)
    # Tombstones: the ETL sees the account and its goal go.
    assert count(url, user_deletions, user_id) == 1
    assert count(url, goal_deletions, user_id) == 1
    engine = make_engine(url)
    with engine.connect() as conn:
        tombstone = conn.execute(select(goal_deletions.c.goal_id)).scalars().all()
    engine.dispose()
    assert tombstone == [goal_id]


async def test_a_deleted_users_old_token_can_neither_work_out_nor_open_a_group_session(
    platform: Platform,
) -> None:
    user_id, headers = await register_and_login(platform.client, "omar")
    assert (await platform.client.delete(f"/users/{user_id}", headers=headers)).status_code == 204
    started = await platform.client.post(
        "/workouts/start", headers=headers, json={"workout_type": "yoga"}
    )
    assert started.status_code == 404
    assert started.json()["error"]["status"] == "NOT_FOUND"
    opened = await platform.client.post(
        "/group-sessions", headers=headers, json={"title": "HIIT", "workout_type": "hiit"}
    )
    assert opened.status_code == 401
    assert opened.json()["error"]["message"] == "this account no longer exists"
    goal = {"goal_type": "workouts_count", "target_value": 5, "target_date": SOON}
    created = await platform.client.post(f"/users/{user_id}/goals", headers=headers, json=goal)
    assert created.status_code == 404


async def test_a_deleted_users_old_token_no_longer_opens_the_notification_socket(
    platform: Platform,
) -> None:
    user_id, headers = await register_and_login(platform.client, "wes")
    async with served(platform.app) as base:
        url = base.replace("http", "ws", 1) + "/ws/notifications"
        async with connect(url, additional_headers=headers):
            pass  # while the account exists, its token opens the socket
        assert (
            await platform.client.delete(f"/users/{user_id}", headers=headers)
        ).status_code == 204
        with pytest.raises(InvalidStatus) as refused:
            async with connect(url, additional_headers=headers):
                pass
    # Closed before it was accepted (1008, "this account no longer exists"): a 403.
    assert refused.value.response.status_code == 403


async def test_an_admin_may_delete_any_account_but_another_user_may_not(
    platform: Platform, tmp_path: Path
) -> None:
    victim, victim_headers = await register_and_login(platform.client, "vera")
    _, other = await register_and_login(platform.client, "otis")
    refused = await platform.client.delete(f"/users/{victim}", headers=other)
    assert refused.status_code == 403
    assert (
        await platform.client.get(f"/users/{victim}", headers=victim_headers)
    ).status_code == 200
    _, admin = await register_admin(platform.client, user_db(tmp_path), "root")
    assert (await platform.client.delete(f"/users/{victim}", headers=admin)).status_code == 204
    assert (
        await platform.client.get(f"/users/{victim}", headers=victim_headers)
    ).status_code == 404
    unknown = await platform.client.delete("/users/nobody", headers=admin)
    assert unknown.status_code == 404


async def test_a_repeated_deletion_replays_with_its_key_and_is_not_found_without(
    platform: Platform,
) -> None:
    user_id, headers = await register_and_login(platform.client, "ray")
    keyed = {**headers, "Idempotency-Key": "delete-me-once"}
    first = await platform.client.delete(f"/users/{user_id}", headers=keyed)
    again = await platform.client.delete(f"/users/{user_id}", headers=keyed)
    assert (first.status_code, again.status_code) == (204, 204)
    assert again.headers["Idempotent-Replayed"] == "true"
    fresh = await platform.client.delete(f"/users/{user_id}", headers=headers)
    assert fresh.status_code == 404


async def test_a_changes_outcome_is_told_at_its_change_url(platform: Platform) -> None:
    user_id, headers = await register_and_login(platform.client, "cleo")
    body = {"goal_type": "workouts_count", "target_value": 5, "target_date": SOON}
    keyed = {**headers, "Idempotency-Key": "new-goal"}
    created = await platform.client.post(f"/users/{user_id}/goals", headers=keyed, json=body)
    assert created.status_code == 201
    saga_id = "idem-" + hashlib.sha256(f"{user_id}\0new-goal".encode()).hexdigest()[:32]
    told = await platform.client.get(f"/users/{user_id}/changes/{saga_id}", headers=headers)
    assert told.status_code == 200, told.text
    assert told.json() == {
        "saga_id": saga_id,
        "kind": "create_goal",
        "status": "completed",
        "done": True,
        "applied": True,
        "goal_id": created.json()["goal_id"],
        "goal_url": f"/users/{user_id}/goals/{created.json()['goal_id']}",
        "error": None,
    }
    _, other = await register_and_login(platform.client, "carl")
    assert (
        await platform.client.get(f"/users/{user_id}/changes/{saga_id}", headers=other)
    ).status_code == 403


async def test_a_change_the_coordinator_never_received_is_told_as_not_accepted_for_good(
    platform: Platform,
) -> None:
    user_id, headers = await register_and_login(platform.client, "nell")
    saga_id = uuid.uuid4().hex
    # What the gateway does when a start's answer is lost (gateway.routes.changes.start_saga).
    await LostChanges(platform.app.state.live.store.redis).remember(saga_id, user_id)
    url = f"/users/{user_id}/changes/{saga_id}"
    other_id, other = await register_and_login(platform.client, "otto")
    others = await platform.client.get(f"/users/{other_id}/changes/{saga_id}", headers=other)
    assert others.status_code == 404, others.text  # not his lost change: nothing fenced
    told = (await platform.client.get(url, headers=headers)).json()
    assert (told["status"], told["done"], told["applied"]) == ("not_accepted", True, False)
    assert told["error"]["status"] == "UNAVAILABLE"
    # The fence holds: the same id can no longer start a saga.
    assert (await platform.client.get(url, headers=headers)).json() == told
    # A keyed id is fenced too once its key was claimed (here by a request that is no saga).
    keyed = {**headers, "Idempotency-Key": "claimed"}
    body = {"workout_type": "yoga"}
    started = await platform.client.post("/workouts/start", headers=keyed, json=body)
    assert started.status_code == 201, started.text
    saga_id = "idem-" + hashlib.sha256(f"{user_id}\0claimed".encode()).hexdigest()[:32]
    fenced = await platform.client.get(f"/users/{user_id}/changes/{saga_id}", headers=headers)
    assert fenced.json()["status"] == "not_accepted", fenced.text


async def test_an_id_the_gateway_never_issues_is_not_found_and_leaves_no_saga_behind(
    platform: Platform, tmp_path: Path
) -> None:
    user_id, headers = await register_and_login(platform.client, "nora")
    _, admin = await register_admin(platform.client, user_db(tmp_path), "root")
    unused_key = "idem-" + hashlib.sha256(f"{user_id}\0never-sent".encode()).hexdigest()[:32]
    never_answered = uuid.uuid4().hex  # the gateway's form, but no 202 ever named it
    ids = ["lost-request", "x" * 128, uuid.uuid4().hex.upper(), f"idem-{'0' * 31}", unused_key]
    ids.append(never_answered)
    for saga_id in ids:
        told = await platform.client.get(f"/users/{user_id}/changes/{saga_id}", headers=headers)
        assert told.status_code == 404, told.text
        assert told.json()["error"]["status"] == "NOT_FOUND"
        looked_up = await platform.client.get(f"/admin/sagas/{saga_id}", headers=admin)
        assert looked_up.status_code == 404, looked_up.text
    listed = await platform.client.get("/admin/sagas?status=not_accepted", headers=admin)
    assert listed.status_code == 200, listed.text
    assert listed.json()["sagas"] == []
