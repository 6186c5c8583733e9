"""End to end: real processes (2 user, 2 activity, gateway) driven over HTTP.

The tests in this module share one platform. Those that kill instances bring them back
before they end (``instances_down``), so every test finds the whole platform up and the
tests pass in any order.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import psycopg
import pytest
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.samples import Sample
from redis.asyncio import Redis
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus
from websockets.typing import Origin

from deploy.local import Supervisor, build_topology, prepare, settings_on_free_ports
from services.common.timeutil import format_time, utc_now
from tests.helpers import server_reachable_dir


@pytest.fixture(scope="module")
def supervisor() -> Iterator[Supervisor]:
    """The whole platform on free loopback ports, stopped (by PID) afterwards."""
    with server_reachable_dir("e2e-platform-") as root:
        yield from _running_platform(root)


def _running_platform(root: Path) -> Iterator[Supervisor]:
    settings = settings_on_free_ports(root / "data")
    topology = build_topology(settings)
    gateway = next(s for s in topology.specs if s.name == "gateway")
    gateway.env.update(
        GATEWAY_HEALTH_INTERVAL="0.3",
        GATEWAY_BREAKER_RESET_TIMEOUT="1",
        GATEWAY_BREAKER_FAIL_MAX="3",
    )
    for spec in topology.specs:
        if spec.name.startswith("activity-"):  # a killed relay's events come back soon
            spec.env.update(ACTIVITY_RELAY_MAX_BACKOFF="1", ACTIVITY_RELAY_LEASE_SECONDS="2")
    prepare(topology)
    running = Supervisor(topology, log_dir=root / "logs")
    running.start_all()
    try:
        running.wait_ready(timeout=60)
        yield running
    finally:
        running.stop_all()


@contextlib.contextmanager
def instances_down(supervisor: Supervisor, *names: str) -> Iterator[None]:
    """Kill the named instances (SIGKILL, by PID); afterwards restart any still dead and wait
    until the gateway sees every instance healthy again."""
    try:
        for name in names:
            supervisor.kill(name)
        yield
    finally:
        supervisor.wait_ready(timeout=60)  # its supervision restarts the dead ones


@pytest.fixture(scope="module")
def gateway(supervisor: Supervisor) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=supervisor.topology.gateway_url, timeout=10) as client:
        yield client


@pytest.fixture(scope="module")
def account(gateway: httpx.Client) -> tuple[str, dict[str, str]]:
    body = {
        "username": "e2e",
        "email": "e2e@example.com",
        "password": "s3cret-pass",
        "weight_kg": 70,
    }
    assert gateway.post("/users/register", json=body).status_code == 201
    login = gateway.post(
        "/users/login", json={"email": body["email"], "password": body["password"]}
    ).json()
    return login["user_id"], {"Authorization": f"Bearer {login['token']}"}


def test_a_workout_flows_through_gateway_and_both_services(
    gateway: httpx.Client, account: tuple[str, dict[str, str]]
) -> None:
    user_id, headers = account
    goal = gateway.post(
        f"/users/{user_id}/goals",
        headers=headers,
        json={"goal_type": "workouts_count", "target_value": 3, "target_date": "2099-01-01"},
    )
    assert goal.status_code == 201
    started = gateway.post(
        "/workouts/start", headers=headers, json={"user_id": user_id, "workout_type": "swimming"}
    )
    assert started.status_code == 201
    ended = gateway.post(f"/workouts/{started.json()['session_id']}/end", headers=headers, json={})
    assert ended.status_code == 200
    stats = gateway.get(f"/users/{user_id}/statistics", headers=headers).json()
    assert stats["total_workouts"] == 1
    assert gateway.get("/docs").status_code == 200
    assert "/users/register" in gateway.get("/openapi.json").json()["paths"]


def test_a_watch_log_is_stored_once_and_counted_in_the_owners_daily_summary(
    gateway: httpx.Client, account: tuple[str, dict[str, str]]
) -> None:
    user_id, headers = account
    taken = utc_now() - timedelta(minutes=2)
    sample = {
        "message_id": "e2e-1",
        "device_id": "watch-1",
        "device_model": "Forerunner 265",
        "firmware": "20.26",
        "timestamp": format_time(taken),
        "activity": "running",
        "duration_s": 60,
        "steps": 170,
        "heart_rate": 150,
        "calories": 12.0,
        "distance_m": 200.0,
        "battery": 60,
    }
    stored = gateway.post("/watch-logs", headers=headers, json={"logs": [sample]})
    again = gateway.post("/watch-logs", headers=headers, json={"logs": [sample]})
    assert (stored.json()["accepted"], again.json()["duplicates"]) == (1, 1), again.text
    day = taken.date().isoformat()
    summaries = f"/users/{user_id}/watch-logs/summaries?from_date={day}&to_date={day}"
    deadline = time.monotonic() + 30  # one of the instances' consumer threads counts it
    while not (days := gateway.get(summaries, headers=headers).json()["days"]):
        assert time.monotonic() < deadline, "the reporting consumer never counted the log"
        time.sleep(0.2)
    assert (days[0]["samples"], days[0]["steps"], days[0]["max_heart_rate"]) == (1, 170, 150)


def test_the_etl_loads_that_workout_into_the_warehouse_and_reports_it(
    supervisor: Supervisor, account: tuple[str, dict[str, str]]
) -> None:
    etl = supervisor.spec("etl")
    assert supervisor.processes["etl"].poll() is None, "the nightly scheduler is running"
    today = datetime.now(UTC).date().isoformat()
    env = {**os.environ, **etl.env}

    loaded = subprocess.run(
        [sys.executable, "-m", "etl", "run", "--date", today, "--no-progress"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    report = subprocess.run(
        [sys.executable, "-m", "etl", "report", "calories-per-user-week"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert loaded.returncode == 0, loaded.stderr
    assert "'workouts': 1" in loaded.stdout
    assert report.returncode == 0, report.stderr
    assert "e2e" in report.stdout


def test_sensor_readings_posted_to_the_gateway_land_once_in_the_warehouse_with_their_windows(
    supervisor: Supervisor, gateway: httpx.Client, account: tuple[str, dict[str, str]]
) -> None:
    start = int(time.time() * 1000) - 10_000
    readings = [  # 6 s at 50 Hz: at least one whole 5 s window
        {"name": "accelerometer", "timestamp": start + 20 * i, "values": [0.1, 0.2, 9.8]}
        for i in range(300)
    ]
    body = {"messageId": "e2e-m1", "sessionId": "e2e-s1", "deviceId": "e2e-phone"}
    posted = gateway.post(
        "/sensor-data", headers=account[1], json={**body, "sensorReadings": readings}
    )
    again = gateway.post(
        "/sensor-data", headers=account[1], json={**body, "sensorReadings": readings}
    )
    assert (posted.status_code, again.status_code) == (202, 202), again.text
    url = supervisor.topology.settings.etl_warehouse_url()
    raw = "SELECT count(*) FROM raw_data.activity_records WHERE device_id = 'e2e-phone'"
    windows = (
        "SELECT count(*) FROM processed_data.user_activity_processed WHERE device_id = 'e2e-phone'"
    )
    sink = f"http://127.0.0.1:{supervisor.topology.settings.motion_sink_metrics_port}/metrics"
    # The processor closes the windows once the session is idle (3 s); the sink copies both.
    deadline = time.monotonic() + 40
    while not (_warehouse_count(url, raw) == 300 and _sink_settled(sink)):
        assert time.monotonic() < deadline, "the sink never wrote the readings"
        time.sleep(0.2)
    while _warehouse_count(url, windows) < 1:
        assert time.monotonic() < deadline, "no window of the readings reached the warehouse"
        time.sleep(0.2)


def _sink_settled(url: str) -> bool:
    """The raw sink has read and acked everything (lag and pending 0)."""
    figures = {
        s.name: s.value
        for s in _samples(url)
        if s.name in ("motion_sink_lag", "motion_sink_pending") and s.labels["sink"] == "raw"
    }
    return figures == {"motion_sink_lag": 0, "motion_sink_pending": 0}


def _warehouse_count(url: str, query: str) -> int:
    """A count from the warehouse; -1 while its table does not exist yet."""
    with psycopg.connect(url) as conn:
        try:
            row = conn.execute(query).fetchone()
        except psycopg.errors.UndefinedTable:
            return -1
    return int(row[0]) if row else 0


@pytest.mark.parametrize("name", ["motion-processor", "motion-sink"])
def test_a_motion_worker_stops_cleanly_on_sigterm_and_is_started_again(
    supervisor: Supervisor, name: str
) -> None:
    metrics = supervisor.spec(name).ports[0]
    assert supervisor.processes[name].poll() is None
    assert _samples(f"http://127.0.0.1:{metrics}/metrics")

    supervisor.kill(name, signal.SIGTERM)

    assert supervisor.processes[name].returncode == 0
    deadline = time.monotonic() + 30
    while not _answers(f"http://127.0.0.1:{metrics}/metrics"):
        supervisor.supervise()
        assert time.monotonic() < deadline, f"{name} was not started again"
        time.sleep(0.2)
    assert supervisor.processes[name].poll() is None


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=1).is_success
    except httpx.HTTPError:
        return False


def test_the_request_id_reaches_the_logs_of_every_service_on_the_path(
    supervisor: Supervisor, gateway: httpx.Client, account: tuple[str, dict[str, str]]
) -> None:
    _user_id, headers = account
    started = gateway.post("/workouts/start", headers=headers, json={"workout_type": "yoga"})
    trace = "e2e-trace-0001"
    ended = gateway.post(
        f"/workouts/{started.json()['session_id']}/end",
        headers={**headers, "X-Request-ID": trace},
        json={},
    )
    assert ended.headers["x-request-id"] == trace
    log_dir = supervisor.log_dir
    assert log_dir is not None
    components: set[str] = set()
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and not {"activity-service", "user-service"} <= components:
        for path in Path(log_dir).glob("*.log"):
            for line in path.read_text().splitlines():
                if trace in line and line.startswith("{"):
                    components.add(json.loads(line)["component"])
        time.sleep(0.1)
    assert {"activity-service", "user-service"} <= components


async def test_pages_from_localhost_or_127_0_0_1_may_open_sockets_other_sites_may_not(
    supervisor: Supervisor, account: tuple[str, dict[str, str]]
) -> None:
    _, headers = account
    port = supervisor.topology.settings.gateway_port
    url = f"ws://127.0.0.1:{port}/ws/notifications"
    for origin in (f"http://localhost:{port}", f"http://127.0.0.1:{port}"):
        async with connect(url, additional_headers=headers, origin=Origin(origin)) as ws:
            assert ws.response is not None
            assert ws.response.status_code == 101
    with pytest.raises(InvalidStatus) as refused:
        await connect(url, additional_headers=headers, origin=Origin("http://evil.example"))
    assert refused.value.response.status_code == 403


def test_the_gateway_answers_without_a_server_banner_and_forbids_sniffing(
    gateway: httpx.Client,
) -> None:
    answers = [gateway.get("/health/live"), gateway.get("/no/such/route")]
    assert [a.status_code for a in answers] == [200, 404]
    assert all("server" not in a.headers for a in answers)
    assert all(a.headers["x-content-type-options"] == "nosniff" for a in answers)


async def test_a_live_session_works_through_the_running_gateway(
    supervisor: Supervisor, account: tuple[str, dict[str, str]]
) -> None:
    user_id, headers = account
    body = {"title": "Spin", "workout_type": "cycling"}
    async with httpx.AsyncClient(base_url=supervisor.topology.gateway_url) as client:
        created = await client.post("/group-sessions", headers=headers, json=body)
        ready = await client.get("/health/ready")  # Redis answers, or it would be 503
    assert created.status_code == 201
    session_id = created.json()["session_id"]
    url = supervisor.topology.gateway_url.replace("http", "ws") + f"/ws/sessions/{session_id}"
    async with connect(
        url, additional_headers=headers, origin=Origin(supervisor.topology.gateway_url)
    ) as ws:
        await ws.send(json.dumps({"type": "join_session", "session_id": session_id}))
        await ws.send(json.dumps({"type": "chat_message", "message": "ready?"}))
        frames = [json.loads(await asyncio.wait_for(ws.recv(), 5))]
        while frames[-1]["type"] != "chat_message":
            frames.append(json.loads(await asyncio.wait_for(ws.recv(), 5)))
    assert frames[0]["type"] == "session_snapshot"
    chat = frames[-1]
    assert (chat["user_id"], chat["message"]) == (user_id, "ready?")
    assert ready.status_code == 200


async def test_reaching_a_goal_through_the_running_platform_alerts_the_user_at_once(
    supervisor: Supervisor, account: tuple[str, dict[str, str]]
) -> None:
    user_id, headers = account
    url = supervisor.topology.gateway_url
    async with httpx.AsyncClient(base_url=url, timeout=10) as client:
        body = {"goal_type": "workouts_count", "target_value": 1, "target_date": "2099-01-01"}
        goal = await client.post(f"/users/{user_id}/goals", headers=headers, json=body)
        assert goal.status_code == 201, goal.text
        ws_url = url.replace("http", "ws") + "/ws/notifications"
        async with connect(ws_url, additional_headers=headers, origin=Origin(url)) as ws:
            started = await client.post(
                "/workouts/start", headers=headers, json={"workout_type": "walking"}
            )
            session_id = started.json()["session_id"]
            await client.post(f"/workouts/{session_id}/end", headers=headers, json={})
            alerts = [json.loads(await asyncio.wait_for(ws.recv(), 5))]
            while alerts[-1]["goal_id"] != goal.json()["goal_id"]:  # others may finish too
                alerts.append(json.loads(await asyncio.wait_for(ws.recv(), 5)))
        listed = await client.get(f"/users/{user_id}/notifications", headers=headers)
    assert alerts[-1]["type"] == "goal_achieved"
    ids = [n["notification_id"] for n in listed.json()["notifications"]]
    assert alerts[-1]["notification_id"] in ids


KILLED = ("user-1", "user-2", "activity-1", "activity-2")


def restarted(supervisor: Supervisor, names: Sequence[str]) -> None:
    """Supervise until each named (killed) component runs again, then until all is ready."""
    dead = {name: supervisor.processes[name].pid for name in names}
    deadline = time.monotonic() + 60
    while any(supervisor.processes[n].pid == pid for n, pid in dead.items()):
        if time.monotonic() > deadline:
            raise TimeoutError(f"not restarted: {sorted(dead)}")
        supervisor.supervise()
        time.sleep(0.1)
    supervisor.wait_ready(timeout=60)


async def test_a_workout_ended_with_every_user_instance_down_and_relays_killed_counts_once(
    supervisor: Supervisor,
) -> None:
    url = supervisor.topology.gateway_url
    body = {"username": "outbox", "email": "outbox@example.com", "password": "s3cret-pass"}
    goal = {"goal_type": "workouts_count", "target_value": 1, "target_date": "2099-01-01"}
    redis = Redis.from_url(supervisor.topology.settings.gateway_redis_url())
    async with httpx.AsyncClient(base_url=url, timeout=10) as client:
        assert (await client.post("/users/register", json=body)).status_code == 201
        credentials = {"email": body["email"], "password": body["password"]}
        login = (await client.post("/users/login", json=credentials)).json()
        user_id, headers = login["user_id"], {"Authorization": f"Bearer {login['token']}"}
        made = await client.post(f"/users/{user_id}/goals", headers=headers, json=goal)
        started = await client.post(
            "/workouts/start", headers=headers, json={"workout_type": "yoga"}
        )
        ws_url = url.replace("http", "ws") + "/ws/notifications"
        async with connect(ws_url, additional_headers=headers, origin=Origin(url)) as ws:
            try:
                for name in KILLED[:2]:
                    supervisor.kill(name)
                end = f"/workouts/{started.json()['session_id']}/end"
                ended = await client.post(end, headers=headers, json={})
                for name in KILLED[2:]:  # the relays die holding the event
                    supervisor.kill(name)
            finally:
                # On this thread: the children die with the thread that started them.
                restarted(supervisor, KILLED)
            alert = json.loads(await asyncio.wait_for(ws.recv(), 60))
            await redis.publish(f"notifications:{user_id}", json.dumps({"type": "marker"}))
            after = json.loads(await asyncio.wait_for(ws.recv(), 10))
        reached = (
            await client.get(f"/users/{user_id}/goals/{made.json()['goal_id']}", headers=headers)
        ).json()
    await redis.aclose()
    assert ended.status_code == 200, ended.text
    assert (alert["type"], alert["goal_id"]) == ("goal_achieved", made.json()["goal_id"])
    assert after == {"type": "marker"}  # the alert came once
    assert (reached["status"], reached["current_progress"]) == ("achieved", 1)


def test_every_service_process_exposes_prometheus_metrics(
    supervisor: Supervisor, gateway: httpx.Client
) -> None:
    settings = supervisor.topology.settings
    for port in [*settings.user_metrics_ports, *settings.activity_metrics_ports]:
        samples = _samples(f"http://127.0.0.1:{port}/metrics")
        handled = [s for s in samples if s.name == "grpc_server_handled_total"]
        assert sum(s.value for s in handled) > 0  # at least the gateway's health checks
        assert {s.labels["method"] for s in handled} >= {"/grpc.health.v1.Health/Check"}
        buckets = [s for s in samples if s.name == "grpc_server_handling_seconds_bucket"]
        assert any(s.labels["le"] == "+Inf" and s.value > 0 for s in buckets)
    healthy = [
        s
        for s in _samples(supervisor.topology.gateway_metrics_url)
        if s.name == "gateway_upstream_healthy"
    ]
    instances = len(settings.user_metrics_ports) + len(settings.activity_metrics_ports)
    assert len(healthy) >= instances  # one per instance (and the saga coordinator's)
    assert all(s.value == 1 for s in healthy)
    assert gateway.get("/metrics").status_code == 404  # not on the public port


def _samples(url: str) -> list[Sample]:
    text = httpx.get(url, timeout=5).text
    return [sample for family in text_string_to_metric_families(text) for sample in family.samples]


async def _read_continuously(
    url: str, headers: dict[str, str], count: int, after_first: asyncio.Event
) -> list[int]:
    async with httpx.AsyncClient(timeout=10) as client:
        statuses = []
        for n in range(count):
            statuses.append((await client.get(url, headers=headers)).status_code)
            if n == count // 4:
                after_first.set()
        return statuses


async def test_killing_a_user_instance_mid_traffic_fails_no_reads(
    supervisor: Supervisor, account: tuple[str, dict[str, str]]
) -> None:
    user_id, headers = account
    # A user-service read the shared cache does not answer (GET /users/{id} it would).
    url = f"{supervisor.topology.gateway_url}/users/{user_id}/goals"
    warmed = asyncio.Event()
    readers = [asyncio.create_task(_read_continuously(url, headers, 80, warmed)) for _ in range(4)]
    await warmed.wait()
    with instances_down(supervisor):
        await asyncio.to_thread(supervisor.kill, "user-1")
        statuses = [s for reader in await asyncio.gather(*readers) for s in reader]
    assert statuses == [200] * len(statuses)


def test_with_every_user_instance_down_the_gateway_says_503_retry_after_then_recovers(
    supervisor: Supervisor, gateway: httpx.Client, account: tuple[str, dict[str, str]]
) -> None:
    user_id, headers = account
    with instances_down(supervisor, "user-1", "user-2"):
        _every_user_instance_down_then_one_returns(supervisor, gateway, user_id, headers)


def _every_user_instance_down_then_one_returns(
    supervisor: Supervisor, gateway: httpx.Client, user_id: str, headers: dict[str, str]
) -> None:
    # Goals: the shared cache would answer GET /users/{id} from a profile read before.
    response = gateway.get(f"/users/{user_id}/goals", headers=headers)
    assert response.status_code == 503
    assert int(response.headers["retry-after"]) >= 1
    assert response.json()["error"]["status"] == "UNAVAILABLE"
    stats = gateway.get(f"/users/{user_id}/statistics", headers=headers)
    assert stats.status_code == 200  # the activity service is unaffected

    supervisor.start(supervisor.spec("user-1"))
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if gateway.get(f"/users/{user_id}/goals", headers=headers).status_code == 200:
            break
        time.sleep(0.2)
    assert gateway.get(f"/users/{user_id}/goals", headers=headers).status_code == 200
