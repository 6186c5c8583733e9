"""Live group sessions: two real gateway instances sharing one Redis, real WebSocket clients."""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
from typing import Any

import pytest
import redis
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.typing import Subprotocol

from gateway.realtime.quota import TOO_MANY_SOCKETS
from gateway.realtime.redis_keys import TO_PERSIST, key
from gateway.realtime.settings import LiveSettings
from gateway.realtime.store import LiveStore
from services.common.redis import command_client, publish
from tests.helpers import sync_redis
from tests.integration.live_cluster import (
    ORIGIN,
    Cluster,
    frames_until,
    join,
    next_of,
    open_session,
    start_poll,
    summary_of,
)


async def test_sessions_are_created_listed_and_read_over_rest(cluster: Cluster) -> None:
    session_id = await open_session(cluster)
    _, headers = await cluster.user("viewer")
    listed = (await cluster.http.get("/group-sessions", headers=headers)).json()["sessions"]
    assert [s["session_id"] for s in listed] == [session_id]
    snapshot = (await cluster.http.get(f"/group-sessions/{session_id}", headers=headers)).json()
    assert (snapshot["state"], snapshot["participants"], snapshot["last_seq"]) == ("active", [], 0)


async def test_session_answers_show_unset_times_as_null_and_set_ones_in_rfc_3339(
    cluster: Cluster,
) -> None:
    _, headers = await cluster.user("coach")
    unscheduled = {"title": "Drop-in", "workout_type": "yoga"}
    scheduled = {**unscheduled, "scheduled_at": "2030-01-31T11:30:00+01:00"}
    created = [
        await cluster.http.post("/group-sessions", headers=headers, json=body)
        for body in (unscheduled, scheduled)
    ]
    assert [c.status_code for c in created] == [201, 201]
    assert created[0].json()["scheduled_at"] is None
    assert created[1].json()["scheduled_at"] == "2030-01-31T10:30:00.000Z"
    assert created[0].json()["ended_at"] is None
    assert created[0].json()["summary"] is None
    explicit = {**unscheduled, "scheduled_at": None}
    assert (await cluster.http.post("/group-sessions", headers=headers, json=explicit)).json()[
        "scheduled_at"
    ] is None


async def test_the_openapi_document_declares_every_group_session_answer_body(
    cluster: Cluster,
) -> None:
    document = (await cluster.http.get("/openapi.json")).json()
    paths, schemas = document["paths"], document["components"]["schemas"]
    answers = {
        ("post", "/group-sessions", "201"): "GroupSessionResponse",
        ("get", "/group-sessions", "200"): "GroupSessionList",
        ("get", "/group-sessions/{session_id}", "200"): "GroupSessionResponse",
        ("post", "/group-sessions/{session_id}/end", "200"): "GroupSessionResponse",
    }
    for (method, path, status), model in answers.items():
        content = paths[path][method]["responses"][status]["content"]["application/json"]
        assert content["schema"] == {"$ref": f"#/components/schemas/{model}"}, (method, path)
    snapshot = schemas["GroupSessionResponse"]
    assert set(snapshot["required"]) >= {"session_id", "state", "participants", "last_seq"}
    create = schemas["CreateGroupSession"]
    scheduled = create["properties"]["scheduled_at"]
    assert "scheduled_at" not in create.get("required", [])
    assert scheduled.get("default") is None  # not "", which is no date-time
    assert {"type": "null"} in scheduled["anyOf"]
    assert {"string", "null"} == {
        option["type"] for option in snapshot["properties"]["scheduled_at"]["anyOf"]
    }


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"title": "x", "workout_type": "napping"}, 422),
        ({"title": "", "workout_type": "yoga"}, 422),
        ({"workout_type": "yoga"}, 422),
        ({"title": "x", "workout_type": "yoga", "extra": 1}, 422),
    ],
)
async def test_bad_session_bodies_are_refused(
    cluster: Cluster, body: dict[str, Any], status: int
) -> None:
    _, headers = await cluster.user("coach")
    assert (
        await cluster.http.post("/group-sessions", headers=headers, json=body)
    ).status_code == status


async def test_rest_routes_need_a_token_and_only_the_owner_ends(cluster: Cluster) -> None:
    session_id = await open_session(cluster)
    _, other = await cluster.user("other")
    _, owner = await cluster.user("coach")
    assert (await cluster.http.get("/group-sessions")).status_code == 401
    assert (await cluster.http.get("/group-sessions/nope", headers=other)).status_code == 404
    assert (
        await cluster.http.post(f"/group-sessions/{session_id}/end", headers=other)
    ).status_code == 403
    assert (
        await cluster.http.post(f"/group-sessions/{session_id}/end", headers=owner)
    ).status_code == 200
    assert (
        await cluster.http.post(f"/group-sessions/{session_id}/end", headers=owner)
    ).status_code == 409


async def test_handshakes_without_a_valid_token_or_origin_are_refused(cluster: Cluster) -> None:
    session_id = await open_session(cluster)
    _, headers = await cluster.user("ann")
    url = cluster.ws_url(0, session_id)
    attempts: list[dict[str, Any]] = [
        {"origin": ORIGIN},
        {"origin": ORIGIN, "additional_headers": {"Authorization": "Bearer forged.token.value"}},
        {"origin": "http://evil.example", "additional_headers": headers},
    ]
    for options in attempts:
        with pytest.raises(InvalidStatus) as refused:
            await connect(url, **options)
        assert refused.value.response.status_code == 403
    with pytest.raises(InvalidStatus):
        await connect(
            cluster.ws_url(0, "no-such-session"), origin=ORIGIN, additional_headers=headers
        )


async def test_the_token_may_come_as_a_subprotocol(cluster: Cluster) -> None:
    session_id = await open_session(cluster)
    user_id, headers = await cluster.user("sub")
    token = headers["Authorization"].removeprefix("Bearer ")
    async with connect(
        cluster.ws_url(0, session_id),
        origin=ORIGIN,
        subprotocols=[Subprotocol("bearer"), Subprotocol(token)],
    ) as ws:
        assert ws.subprotocol == "bearer"
        await ws.send(json.dumps({"type": "join_session", "session_id": session_id}))
        snapshot = await next_of(ws, "session_snapshot")
        assert snapshot["participants"] == [user_id]


async def test_participants_on_different_instances_see_each_others_events_in_order(
    cluster: Cluster,
) -> None:
    session_id = await open_session(cluster)
    ann = await join(cluster, "ann", session_id, instance=0)
    await next_of(ann, "session_snapshot")
    bob = await join(cluster, "bob", session_id, instance=1)
    bob_snapshot = await next_of(bob, "session_snapshot")
    ann_id, _ = await cluster.user("ann")
    bob_id, _ = await cluster.user("bob")
    assert bob_snapshot["participants"] == sorted([ann_id, bob_id])
    joins = await frames_until(
        ann, lambda f: f["type"] == "join_session" and bob_id in f["user_ids"]
    )
    assert joins[-1]["user_ids"] == [bob_id]
    for n in range(3):
        await ann.send(json.dumps({"type": "chat_message", "message": f"set {n}"}))
    await bob.send(
        json.dumps(
            {"type": "exercise_update", "exercise": "burpees", "reps": 12, "heart_rate": 150}
        )
    )
    chats = [await next_of(bob, "chat_message") for _ in range(3)]
    assert [c["message"] for c in chats] == ["set 0", "set 1", "set 2"]
    assert [c["seq"] for c in chats] == sorted(c["seq"] for c in chats)
    update = await next_of(ann, "exercise_update")
    assert (update["user_id"], update["reps"], update["heart_rate"]) == (bob_id, 12, 150)
    await ann.close()
    left = await next_of(bob, "leave_session")
    assert left["user_id"] == ann_id
    await bob.close()


async def test_a_user_on_two_devices_counts_once(cluster: Cluster) -> None:
    session_id = await open_session(cluster)
    watcher = await join(cluster, "watcher", session_id, instance=1)
    await next_of(watcher, "session_snapshot")
    phone = await join(cluster, "dual", session_id, instance=0)
    await next_of(phone, "session_snapshot")
    watch = await join(cluster, "dual", session_id, instance=1)
    snapshot = await next_of(watch, "session_snapshot")
    dual_id, _ = await cluster.user("dual")
    assert snapshot["participants"].count(dual_id) == 1
    seen = await frames_until(
        watcher, lambda f: f["type"] == "join_session" and dual_id in f["user_ids"]
    )
    assert [f["user_ids"] for f in seen if f["type"] == "join_session"].count([dual_id]) == 1
    await phone.close()
    await asyncio.sleep(0.5)  # longer than the presence window: a leave would be out by now
    await watcher.send(json.dumps({"type": "chat_message", "message": "still here?"}))
    before_chat = await frames_until(watcher, lambda f: f["type"] == "chat_message")
    assert [f for f in before_chat if f["type"] == "leave_session"] == []
    await watch.close()
    assert (await next_of(watcher, "leave_session"))["user_ids"] == [dual_id]
    await watcher.close()


async def test_a_reconnecting_client_gets_exactly_what_it_missed(cluster: Cluster) -> None:
    session_id = await open_session(cluster)
    ann = await join(cluster, "ann", session_id, instance=0)
    await next_of(ann, "session_snapshot")
    bob = await join(cluster, "bob", session_id, instance=1)
    last_seen = (await next_of(bob, "session_snapshot"))["last_seq"]
    await bob.close()
    await next_of(ann, "leave_session")
    for n in range(3):
        await ann.send(json.dumps({"type": "chat_message", "message": f"missed {n}"}))
        await next_of(ann, "chat_message")
    bob = await join(cluster, "bob", session_id, instance=0, last_seq=last_seen)
    replayed = []
    async with asyncio.timeout(5):
        while (frame := json.loads(await bob.recv()))["type"] != "resumed":
            replayed.append(frame)
    seqs = [f["seq"] for f in replayed]
    assert seqs == list(range(last_seen + 1, last_seen + 1 + len(seqs)))
    assert [f["message"] for f in replayed if f["type"] == "chat_message"] == [
        "missed 0",
        "missed 1",
        "missed 2",
    ]
    await bob.close()
    await ann.close()


async def test_an_unknown_position_is_told_to_reload_the_snapshot(cluster: Cluster) -> None:
    session_id = await open_session(cluster)
    ws = await join(cluster, "ann", session_id, last_seq=10_000)
    resync = await next_of(ws, "resync_required")
    assert resync["reason"]
    assert (await next_of(ws, "session_snapshot"))["state"] == "active"
    await ws.close()


def code_and_reason(frame: dict[str, Any]) -> tuple[str, str]:
    """What an error frame says went wrong: the REST status name and the precise reason."""
    assert frame["message"]
    return frame["code"], frame["reason"]


@pytest.mark.parametrize(
    ("frame", "code", "reason"),
    [
        ("not json", "INVALID_ARGUMENT", "MALFORMED_JSON"),
        (json.dumps({"type": "dance"}), "INVALID_ARGUMENT", "UNKNOWN_TYPE"),
        (json.dumps(["chat_message"]), "INVALID_ARGUMENT", "UNKNOWN_TYPE"),
        (
            json.dumps({"type": "chat_message", "message": "x" * 1001}),
            "INVALID_ARGUMENT",
            "INVALID_FRAME",
        ),
        (
            json.dumps({"type": "exercise_update", "heart_rate": 900}),
            "INVALID_ARGUMENT",
            "INVALID_FRAME",
        ),
        (
            json.dumps({"type": "chat_message", "message": "hi", "user_id": "someone-else"}),
            "PERMISSION_DENIED",
            "NOT_YOUR_USER_ID",
        ),
        (
            '{"type": "chat_message", "message": ' + "[" * 20_000 + "]" * 20_000 + "}",
            "INVALID_ARGUMENT",
            "INVALID_FRAME",
        ),
        (
            json.dumps({"type": "vote", "poll_id": "\ud800", "option": 0}),
            "INVALID_ARGUMENT",
            "INVALID_FRAME",
        ),
        (
            json.dumps({"type": "join_session", "session_id": "again"}),
            "FAILED_PRECONDITION",
            "ALREADY_JOINED",
        ),
    ],
)
async def test_bad_frames_get_an_error_frame_and_the_connection_survives(
    cluster: Cluster, frame: str, code: str, reason: str
) -> None:
    session_id = await open_session(cluster)
    ws = await join(cluster, "ann", session_id)
    await next_of(ws, "session_snapshot")
    await ws.send(frame)
    assert code_and_reason(await next_of(ws, "error")) == (code, reason)
    await ws.send(json.dumps({"type": "chat_message", "message": "still fine"}))
    assert (await next_of(ws, "chat_message"))["message"] == "still fine"
    await ws.close()


async def test_frames_before_joining_are_refused(cluster: Cluster) -> None:
    session_id = await open_session(cluster)
    _, headers = await cluster.user("early")
    async with connect(
        cluster.ws_url(0, session_id), additional_headers=headers, origin=ORIGIN
    ) as ws:
        await ws.send(json.dumps({"type": "chat_message", "message": "hello?"}))
        error = await next_of(ws, "error")
        assert code_and_reason(error) == ("FAILED_PRECONDITION", "NOT_JOINED")


async def test_oversized_and_binary_frames_close_the_connection(cluster: Cluster) -> None:
    session_id = await open_session(cluster)
    big = await join(cluster, "big", session_id)
    await next_of(big, "session_snapshot")
    await big.send("x" * (65 * 1024))
    with pytest.raises(ConnectionClosed):
        await next_of(big, "never")
    assert big.close_code == 1009
    binary = await join(cluster, "bin", session_id)
    await next_of(binary, "session_snapshot")
    await binary.send(b"\x00\x01")
    with pytest.raises(ConnectionClosed):
        await next_of(binary, "never")
    assert binary.close_code == 1003


async def test_ending_the_session_tells_everyone_and_closes_their_sockets(cluster: Cluster) -> None:
    session_id = await open_session(cluster)
    ws = await join(cluster, "ann", session_id, instance=1)
    await next_of(ws, "session_snapshot")
    _, owner = await cluster.user("coach")
    await cluster.http.post(f"/group-sessions/{session_id}/end", headers=owner)
    assert (await next_of(ws, "session_ended"))["session_id"] == session_id
    with pytest.raises(ConnectionClosed):
        await next_of(ws, "never")
    assert ws.close_code == 1000


def _stalled_client(url: str, token: str, session_id: str) -> socket.socket:
    """A raw client that joins, then never reads, with a tiny receive buffer."""
    raw = _stalled_socket(url, token)
    payload = json.dumps({"type": "join_session", "session_id": session_id}).encode()
    mask = b"\x00\x00\x00\x00"
    raw.sendall(bytes([0x81, 0x80 | len(payload)]) + mask + payload)
    return raw


def _stalled_socket(url: str, token: str) -> socket.socket:
    """A raw WebSocket handshake, then nothing read, with a tiny receive buffer."""
    host, port = url.removeprefix("ws://").split("/")[0].split(":")
    raw = socket.socket()
    raw.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 2048)
    raw.connect((host, int(port)))
    path = "/" + url.split("/", 3)[3]
    raw.sendall(
        (
            f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\n"
            "Upgrade: websocket\r\nConnection: Upgrade\r\n"
            "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
            f"Origin: {ORIGIN}\r\nAuthorization: Bearer {token}\r\n\r\n"
        ).encode()
    )
    return raw


# An unmasked close frame: 1008 (0x03f0) "too slow".
TOO_SLOW_CLOSE = bytes([0x88, 10, 0x03, 0xF0]) + b"too slow"


def _read_until_closed(raw: socket.socket, within: float = 10.0) -> tuple[bytes, bool]:
    """What the server sent, up to its close frame or its cutting the connection, and
    whether either came (bounded: False if the server still held it open after ``within``)."""
    raw.settimeout(within)
    received = b""
    try:
        while TOO_SLOW_CLOSE not in received and (chunk := raw.recv(65536)):
            received += chunk
    except ConnectionResetError:
        return received, True
    except TimeoutError:
        return received, False
    return received, True


async def test_a_stalled_client_is_dropped_without_slowing_the_others(cluster: Cluster) -> None:
    session_id = await open_session(cluster)
    _, headers = await cluster.user("stalled")
    stalled = _stalled_client(
        cluster.ws_url(0, session_id), headers["Authorization"].split()[1], session_id
    )
    ann = await join(cluster, "ann", session_id, instance=0)
    await next_of(ann, "session_snapshot")
    sent = 400

    async def send_all() -> None:
        for n in range(sent):
            await ann.send(json.dumps({"type": "chat_message", "message": f"{n:04d} " + "x" * 900}))

    sending = asyncio.create_task(send_all())
    received = [await next_of(ann, "chat_message") for _ in range(sent)]
    await sending
    assert [int(r["message"][:4]) for r in received] == list(range(sent))
    stalled_id, _ = await cluster.user("stalled")
    _, headers = await cluster.user("coach")
    for _ in range(50):
        snapshot = (await cluster.http.get(f"/group-sessions/{session_id}", headers=headers)).json()
        if stalled_id not in snapshot["participants"]:
            break
        await asyncio.sleep(0.1)
    assert stalled_id not in snapshot["participants"]
    stalled.close()
    await ann.close()


async def test_a_stalled_notification_socket_is_dropped_without_slowing_the_others(
    cluster: Cluster,
) -> None:
    user_id, headers = await cluster.user("noted")
    url = cluster.urls[0].replace("http", "ws") + "/ws/notifications"
    stalled = _stalled_socket(url, headers["Authorization"].split()[1])
    reader = await connect(url, additional_headers=headers, origin=ORIGIN)
    # More than the kernel's socket buffers take (a few MB), so the stalled socket's sends stall.
    published, size = 400, 25_000
    async with command_client(cluster.redis_url, timeout=5) as client:
        # Both sockets are registered once a first notification reaches the reader.
        async with asyncio.timeout(10):
            while True:
                await publish(client, f"notifications:{user_id}", json.dumps({"n": -1}))
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(0.2):
                        await reader.recv()
                        break
        await asyncio.sleep(0.1)  # the stalled socket's registration, made before the reader's
        for n in range(published):
            note = {"type": "goal_achieved", "n": n, "message": "x" * size}
            await publish(client, f"notifications:{user_id}", json.dumps(note))
    received: list[int] = []
    async with asyncio.timeout(10):
        while len(received) < published:
            frame = json.loads(await reader.recv())
            if frame["n"] >= 0:
                received.append(frame["n"])
    assert received == list(range(published))
    # The server gave up on the stalled socket, and not everything was queued for it. It
    # says 1008 "too slow" if the client reads within the goodbye's 1 s; by the time this
    # client starts reading (after the reader got all 400 notes, slow on a loaded machine)
    # the server may have cut the connection instead, its farewell unread: both are ends.
    sent_to_stalled, ended = await asyncio.to_thread(_read_until_closed, stalled)
    assert ended, "the server still held the stalled socket open"
    assert sent_to_stalled.count(b'"goal_achieved"') < published
    if b"too slow" in sent_to_stalled:
        assert sent_to_stalled.endswith(TOO_SLOW_CLOSE)
    stalled.close()
    await reader.close()


async def test_votes_are_tallied_live_once_per_user_and_may_change(cluster: Cluster) -> None:
    session_id = await open_session(cluster)
    coach = await join(cluster, "coach", session_id, instance=0)
    await next_of(coach, "session_snapshot")
    ann = await join(cluster, "ann", session_id, instance=1)
    await next_of(ann, "session_snapshot")
    poll = await start_poll(coach, ["squats", "lunges", "rest"])
    assert (await next_of(ann, "start_poll"))["poll_id"] == poll["poll_id"]
    tallies = []
    for voter, option in ((ann, 0), (coach, 0), (ann, 1)):  # one after the other: ordered
        await voter.send(json.dumps({"type": "vote", "poll_id": poll["poll_id"], "option": option}))
        tallies.append((await next_of(ann, "vote"))["tally"])
    assert tallies == [[1, 0, 0], [2, 0, 0], [1, 1, 0]]
    snapshot = (
        await cluster.http.get(
            f"/group-sessions/{session_id}", headers=(await cluster.user("coach"))[1]
        )
    ).json()
    assert snapshot["polls"][0]["tally"] == [1, 1, 0]
    await coach.send(json.dumps({"type": "close_poll", "poll_id": poll["poll_id"]}))
    closed = await next_of(ann, "close_poll")
    assert closed["tally"] == [1, 1, 0]
    await ann.send(json.dumps({"type": "vote", "poll_id": poll["poll_id"], "option": 2}))
    assert code_and_reason(await next_of(ann, "error")) == ("FAILED_PRECONDITION", "POLL_CLOSED")
    await ann.close()
    await coach.close()


async def test_bad_votes_and_foreign_closes_are_refused(cluster: Cluster) -> None:
    session_id = await open_session(cluster)
    coach = await join(cluster, "coach", session_id)
    await next_of(coach, "session_snapshot")
    ann = await join(cluster, "ann", session_id)
    await next_of(ann, "session_snapshot")
    poll = await start_poll(coach, ["yes", "no"])
    cases = [
        (
            {"type": "vote", "poll_id": poll["poll_id"], "option": 5},
            "INVALID_ARGUMENT",
            "BAD_OPTION",
        ),
        ({"type": "vote", "poll_id": "nope", "option": 0}, "NOT_FOUND", "NO_SUCH_POLL"),
        ({"type": "close_poll", "poll_id": "nope"}, "NOT_FOUND", "NO_SUCH_POLL"),
        (
            {"type": "close_poll", "poll_id": poll["poll_id"]},
            "PERMISSION_DENIED",
            "NOT_CREATOR_OR_OWNER",
        ),
        (
            {"type": "start_poll", "question": "?", "options": ["only one"]},
            "INVALID_ARGUMENT",
            "INVALID_FRAME",
        ),
    ]
    for frame, code, reason in cases:
        await ann.send(json.dumps(frame))
        assert code_and_reason(await next_of(ann, "error")) == (code, reason)
    await ann.close()
    await coach.close()


async def test_a_poll_closes_itself_at_its_deadline(cluster: Cluster) -> None:
    session_id = await open_session(cluster)
    coach = await join(cluster, "coach", session_id)
    await next_of(coach, "session_snapshot")
    poll = await start_poll(coach, ["a", "b"], seconds=5)
    await coach.send(json.dumps({"type": "vote", "poll_id": poll["poll_id"], "option": 1}))
    closed = await next_of(coach, "close_poll", within=10)
    assert (closed["poll_id"], closed["reason"], closed["tally"]) == (
        poll["poll_id"],
        "deadline",
        [0, 1],
    )
    await coach.close()


async def workouts_of(cluster: Cluster, name: str) -> int:
    user_id, headers = await cluster.user(name)
    stats = await cluster.http.get(f"/users/{user_id}/statistics", headers=headers)
    return int(stats.json()["total_workouts"])


async def test_an_ended_session_becomes_each_participants_workout(cluster: Cluster) -> None:
    session_id = await open_session(cluster)
    ann = await join(cluster, "ann", session_id, instance=0)
    await next_of(ann, "session_snapshot")
    bob = await join(cluster, "bob", session_id, instance=1)
    await next_of(bob, "session_snapshot")
    await ann.send(json.dumps({"type": "chat_message", "message": "go"}))
    await bob.send(json.dumps({"type": "exercise_update", "exercise": "squats", "reps": 15}))
    await next_of(ann, "exercise_update")
    _, owner = await cluster.user("coach")
    await cluster.http.post(f"/group-sessions/{session_id}/end", headers=owner)
    summary = await summary_of(cluster, session_id)
    by_user = {p["user_id"]: p for p in summary["participants"]}
    ann_id, _ = await cluster.user("ann")
    bob_id, _ = await cluster.user("bob")
    assert set(by_user) == {ann_id, bob_id}
    assert (by_user[ann_id]["chat_messages"], by_user[bob_id]["reps"]) == (1, 15)
    assert await workouts_of(cluster, "ann") == 1
    assert await workouts_of(cluster, "bob") == 1


async def test_a_session_everyone_left_ends_by_itself_and_is_recorded(cluster: Cluster) -> None:
    session_id = await open_session(cluster)
    ann = await join(cluster, "ann", session_id)
    await next_of(ann, "session_snapshot")
    await ann.close()
    summary = await summary_of(cluster, session_id)
    assert [p["user_id"] for p in summary["participants"]] == [(await cluster.user("ann"))[0]]
    assert await workouts_of(cluster, "ann") == 1


async def test_a_session_held_by_a_dead_instance_is_still_recorded_exactly_once(
    cluster: Cluster,
) -> None:
    session_id = await open_session(cluster)
    ann = await join(cluster, "ann", session_id)
    await next_of(ann, "session_snapshot")
    client = sync_redis(cluster.redis_url)
    # An instance that took the lease and then died: its lease outlives it for a second.
    client.set(key(session_id, "persist-lease"), "dead-instance", ex=1)
    _, owner = await cluster.user("coach")
    await cluster.http.post(f"/group-sessions/{session_id}/end", headers=owner)
    await summary_of(cluster, session_id)
    # Replaying the same summary (a second instance racing, or a retry) adds nothing.
    client.sadd(TO_PERSIST, session_id)
    client.delete(key(session_id, "persist-lease"))
    for _ in range(50):
        if not client.sismember(TO_PERSIST, session_id):
            break
        await asyncio.sleep(0.1)
    assert not client.sismember(TO_PERSIST, session_id)
    assert await workouts_of(cluster, "ann") == 1


async def test_connections_held_by_a_dead_instance_are_dropped(cluster: Cluster) -> None:
    session_id = await open_session(cluster)
    watcher = await join(cluster, "watcher", session_id)
    await next_of(watcher, "session_snapshot")
    ghost_id, _ = await cluster.user("ghost")
    async with command_client(cluster.redis_url, timeout=5) as client:
        dead = LiveStore(client, instance_id="instance-that-dies")
        await dead.heartbeat(ttl=1)  # its last sign of life
        await dead.connect(session_id, ghost_id, "ghost-connection")
        _, headers = await cluster.user("watcher")
        snapshot = await cluster.http.get(f"/group-sessions/{session_id}", headers=headers)
        assert ghost_id in snapshot.json()["participants"]
        left = await next_of(watcher, "leave_session", within=15)
    assert left["user_id"] == ghost_id
    snapshot = await cluster.http.get(f"/group-sessions/{session_id}", headers=headers)
    assert ghost_id not in snapshot.json()["participants"]
    await watcher.close()


async def test_a_burst_of_joins_is_announced_in_few_events(cluster: Cluster) -> None:
    session_id = await open_session(cluster)
    watcher = await join(cluster, "watcher", session_id, instance=1)
    await next_of(watcher, "session_snapshot")
    names = [f"member{n}" for n in range(12)]
    for name in names:  # accounts first: the burst under test is of joins, not of logins
        await cluster.user(name)
    members = await asyncio.gather(*(join(cluster, name, session_id, instance=0) for name in names))
    expected = {(await cluster.user(name))[0] for name in names}
    announced: set[str] = set()
    events = 0
    while not expected <= announced:
        joined_event = await next_of(watcher, "join_session")
        announced |= set(joined_event["user_ids"])
        events += 1
    assert events < len(names)
    for ws in [*members, watcher]:
        await ws.close()


async def test_events_published_while_an_instance_lost_redis_still_reach_its_clients(
    cluster: Cluster,
) -> None:
    session_id = await open_session(cluster)
    ann = await join(cluster, "ann", session_id, instance=0)
    await next_of(ann, "session_snapshot")
    bob = await join(cluster, "bob", session_id, instance=1)
    await next_of(bob, "session_snapshot")
    # Every node's subscriber connections are cut (on a cluster, each shard's).
    with sync_redis(cluster.redis_url) as client:
        if isinstance(client, redis.RedisCluster):
            client.client_kill_filter(_type="pubsub", target_nodes=redis.RedisCluster.ALL_NODES)
        else:
            client.client_kill_filter(_type="pubsub")
    for n in range(3):
        await ann.send(json.dumps({"type": "chat_message", "message": f"gap {n}"}))
    received = [await next_of(bob, "chat_message", within=10) for _ in range(3)]
    assert [r["message"] for r in received] == ["gap 0", "gap 1", "gap 2"]
    assert [r["seq"] for r in received] == sorted({r["seq"] for r in received})
    await ann.close()
    await bob.close()


async def join_when_admitted(
    cluster: Cluster, name: str, session_id: str
) -> tuple[dict[str, Any], ClientConnection]:
    """Join on instance 0 once the server has counted a closed socket out (bounded)."""
    for _ in range(50):
        socket_ = await join(cluster, name, session_id, instance=0)
        try:
            return await next_of(socket_, "session_snapshot"), socket_
        except ConnectionClosed:
            await asyncio.sleep(0.1)
    raise AssertionError("a closed socket never gave its place back")


async def test_one_user_may_hold_only_so_many_sockets_per_instance(cluster: Cluster) -> None:
    limit = LiveSettings(allowed_origins=[]).max_sockets_per_user
    session_id = await open_session(cluster)
    user_id, headers = await cluster.user("hoarder")
    notifications = cluster.urls[0].replace("http", "ws") + "/ws/notifications"
    held = [
        await connect(notifications, additional_headers=headers, origin=ORIGIN)
        for _ in range(limit)
    ]
    session = cluster.ws_url(0, session_id)
    refused = [
        await connect(url, additional_headers=headers, origin=ORIGIN)
        for url in (notifications, session)
    ]
    for socket_ in refused:
        with pytest.raises(ConnectionClosed) as closed:
            await asyncio.wait_for(socket_.recv(), 5)
        assert closed.value.rcvd is not None
        assert (closed.value.rcvd.code, closed.value.rcvd.reason) == (1008, TOO_MANY_SOCKETS)
    # The other instance counts its own sockets; and one closed here frees a place.
    elsewhere = await join(cluster, "hoarder", session_id, instance=1)
    assert (await next_of(elsewhere, "session_snapshot"))["session_id"] == session_id
    await held.pop().close()
    snapshot, joined = await join_when_admitted(cluster, "hoarder", session_id)
    assert user_id in snapshot["participants"]
    for socket_ in [*held, elsewhere, joined]:
        await socket_.close()
