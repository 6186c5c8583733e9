"""End to end: answers to changes cut off by a coordinator crash never lie about the outcome.

Real processes behind the real gateway. The coordinator is frozen at a step boundary
(SAGA_FREEZE_AT), SIGKILLed by PID while the gateway waits for it, and restarted. Every
answer must be a 2xx whose outcome holds, a 202 whose Location ends up telling the
outcome that was applied, or a 503 for a change that was not (and never will be) applied.
"""

from __future__ import annotations

import hashlib
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from deploy.local import ProcessSpec, Supervisor, build_topology, prepare, settings_on_free_ports
from tests.helpers import server_reachable_dir

SOON = (datetime.now(UTC).date() + timedelta(days=13)).isoformat()
SAGA_POOL = "fitness.saga.v1.SagaCoordinatorService"


@dataclass
class Running:
    """The platform, its gateway client and a scratch folder."""

    supervisor: Supervisor
    gateway: httpx.Client
    root: Path

    def restart_coordinator(self, **env: str) -> None:
        """SIGKILL the coordinator and start it again with ``env`` added."""
        self.supervisor.kill("saga")
        self.until_coordinator(healthy=False)  # else "healthy" may be the old process's
        spec = self.supervisor.spec("saga")
        self.supervisor.start(ProcessSpec("saga", spec.argv, {**spec.env, **env}, spec.ports))
        self.until_coordinator(healthy=True)

    def until_coordinator(self, healthy: bool, within: float = 30.0) -> None:
        """Wait until the gateway's health checks see the coordinator (un)healthy."""
        deadline = time.monotonic() + within
        metrics_url = self.supervisor.topology.gateway_metrics_url
        while time.monotonic() < deadline:
            samples = [
                sample.value
                for family in text_string_to_metric_families(httpx.get(metrics_url).text)
                if family.name == "gateway_upstream_healthy"
                for sample in family.samples
                if sample.labels.get("service") == SAGA_POOL
            ]
            if samples and all(value == float(healthy) for value in samples):
                return
            time.sleep(0.1)
        raise TimeoutError(f"the gateway never saw the coordinator healthy={healthy}")

    def crash_during(self, boundary: str, request: Callable[[], httpx.Response]) -> httpx.Response:
        """Send the request to a coordinator frozen at ``boundary``; SIGKILL it there."""
        marker = self.root / f"frozen-{uuid.uuid4().hex}"
        self.restart_coordinator(SAGA_FREEZE_AT=boundary, SAGA_FREEZE_MARKER=str(marker))
        with ThreadPoolExecutor(1) as pool:
            answer = pool.submit(request)
            try:
                wait_for_file(marker)
            except TimeoutError:
                raise AssertionError(f"never frozen; answered {answer.result().text}") from None
            self.supervisor.kill("saga")
            return answer.result(timeout=30)

    def outcome(self, location: str, headers: dict[str, str], within: float = 30.0) -> Any:
        """Follow a 202's Location until the change is done (503 while nothing can tell)."""
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            told = self.gateway.get(location, headers=headers)
            if told.status_code == 200 and told.json()["done"]:
                return told.json()
            assert told.status_code in (200, 503), told.text
            time.sleep(0.1)
        raise TimeoutError(f"{location} never told an outcome")


def wait_for_file(path: Path, within: float = 20.0) -> None:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if path.exists() and path.read_text():
            return
        time.sleep(0.05)
    raise TimeoutError(f"{path} never appeared")


@pytest.fixture(scope="module")
def running() -> Iterator[Running]:
    # Outside pytest's temp root: the warehouse's PostgreSQL, which holds the health-metrics
    # database, runs as its own user (see server_reachable_dir).
    with server_reachable_dir("e2e-outcomes-") as root:
        topology = build_topology(settings_on_free_ports(root / "data", instances=1))
        topology.specs = [s for s in topology.specs if s.name != "etl"]
        gateway = next(s for s in topology.specs if s.name == "gateway")
        gateway.env.update(GATEWAY_HEALTH_INTERVAL="0.2", GATEWAY_BREAKER_RESET_TIMEOUT="1")
        prepare(topology)
        supervisor = Supervisor(topology, log_dir=root / "logs")
        supervisor.start_all()
        try:
            supervisor.wait_ready(timeout=60)
            with httpx.Client(base_url=topology.gateway_url, timeout=15) as client:
                yield Running(supervisor, client, root)
        finally:
            supervisor.stop_all()


def account(running: Running) -> tuple[str, dict[str, str], dict[str, str]]:
    """A new user: his id, Authorization header and login body."""
    name = f"u{uuid.uuid4().hex[:10]}"
    body = {"username": name, "email": f"{name}@example.com", "password": "s3cret-pass"}
    assert running.gateway.post("/users/register", json=body).status_code == 201
    credentials = {"email": body["email"], "password": body["password"]}
    login = running.gateway.post("/users/login", json=credentials).json()
    return login["user_id"], {"Authorization": f"Bearer {login['token']}"}, credentials


def new_goal(running: Running, user_id: str, headers: dict[str, str]) -> str:
    body = {"goal_type": "active_minutes", "target_value": 300, "target_date": SOON}
    created = running.gateway.post(f"/users/{user_id}/goals", headers=headers, json=body)
    assert created.status_code == 201, created.text
    return str(created.json()["goal_id"])


def saga_id_of(user_id: str, key: str) -> str:
    """The saga id the gateway derives from an Idempotency-Key (gateway.edge.dependencies)."""
    return "idem-" + hashlib.sha256(f"{user_id}\0{key}".encode()).hexdigest()[:32]


def test_a_goal_change_cut_off_by_a_coordinator_crash_is_a_202_whose_location_tells_it_applied(
    running: Running,
) -> None:
    user_id, headers, _credentials = account(running)
    goal_id = new_goal(running, user_id, headers)
    url = f"/users/{user_id}/goals/{goal_id}"
    answer = running.crash_during(
        "update_goal/prepare_goal_change/action/after",
        lambda: running.gateway.patch(url, headers=headers, json={"target_value": 450}),
    )
    assert answer.status_code == 202, answer.text
    location = answer.headers["Location"]
    assert location == answer.json()["change_url"]
    assert answer.json()["goal_url"] == url
    running.restart_coordinator()
    outcome = running.outcome(location, headers)
    assert (outcome["status"], outcome["applied"], outcome["kind"]) == (
        "completed",
        True,
        "update_goal",
    )
    goal = running.gateway.get(url, headers=headers).json()
    assert (goal["target_value"], goal["pending"]) == (450, None)


def test_a_503_is_given_only_for_a_change_that_was_not_and_will_not_be_applied(
    running: Running,
) -> None:
    user_id, headers, _credentials = account(running)
    goal_id = new_goal(running, user_id, headers)
    url = f"/users/{user_id}/goals/{goal_id}"
    running.supervisor.kill("saga")
    running.until_coordinator(healthy=False)
    keyed = {**headers, "Idempotency-Key": "patch-while-down"}
    refused = running.gateway.patch(url, headers=keyed, json={"target_value": 999})
    assert refused.status_code == 503, refused.text
    assert refused.json()["error"]["status"] == "UNAVAILABLE"
    running.restart_coordinator()
    # Nothing was sent, so there is no change to tell of, and the goal is as it was...
    change = f"/users/{user_id}/changes/{saga_id_of(user_id, 'patch-while-down')}"
    assert running.gateway.get(change, headers=headers).status_code == 404
    assert running.gateway.get(url, headers=headers).json()["target_value"] == 300
    # ...and the same key may be sent again once the coordinator is back.
    retried = running.gateway.patch(url, headers=keyed, json={"target_value": 999})
    assert retried.status_code == 200, retried.text
    assert running.gateway.get(url, headers=headers).json()["target_value"] == 999


def test_an_account_deletion_cut_off_by_a_coordinator_crash_completes_after_the_restart(
    running: Running,
) -> None:
    user_id, headers, credentials = account(running)
    _, coach, _ = account(running)
    body = {"title": "Row", "workout_type": "rowing"}
    live = running.gateway.post("/group-sessions", headers=coach, json=body).json()["session_id"]
    new_goal(running, user_id, headers)
    started = running.gateway.post(
        "/workouts/start", headers=headers, json={"workout_type": "yoga"}
    )
    assert started.status_code == 201
    answer = running.crash_during(
        "delete_user/delete_activity_data/action/after",
        lambda: running.gateway.delete(f"/users/{user_id}", headers=headers),
    )
    assert answer.status_code == 202, answer.text
    running.restart_coordinator()
    outcome = running.outcome(answer.headers["Location"], headers)
    assert (outcome["kind"], outcome["status"]) == ("delete_user", "completed")
    assert running.gateway.get(f"/users/{user_id}", headers=headers).status_code == 404
    assert running.gateway.post("/users/login", json=credentials).status_code == 401
    workouts = running.gateway.get(f"/users/{user_id}/workouts", headers=headers).json()
    assert workouts["workouts"] == []
    # The deleted user's token outlives him but can no longer act.
    again = running.gateway.post("/workouts/start", headers=headers, json={"workout_type": "yoga"})
    assert again.status_code == 404
    group = running.gateway.post(
        "/group-sessions", headers=headers, json={"title": "HIIT", "workout_type": "hiit"}
    )
    assert group.status_code == 401
    socket_url = running.supervisor.topology.gateway_url.replace("http", "ws")
    # Joining the live class is refused at the handshake, like a session that does not exist.
    with pytest.raises(InvalidStatus) as refused:
        connect(f"{socket_url}/ws/sessions/{live}", additional_headers=headers).close()
    assert refused.value.response.status_code == 403
