"""`make run`'s launcher as a user meets it: taken ports, supervision, file modes, Ctrl-C.

Each launcher runs in a session of its own, so a Ctrl-C (SIGINT to the foreground
process group, as a terminal sends it) reaches exactly the processes this test started.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import stat
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import psutil
import pytest
from prometheus_client.parser import text_string_to_metric_families

from deploy.local import free_port
from tests.helpers import linger_in_time_wait, server_reachable_dir

READY_LINE = "Press Ctrl-C to stop."
DEMO_EMAILS = ["demo1@example.com", "demo2@example.com", "demo3@example.com"]
# redis, 2 user, 2 activity, 2 watch-log, saga coordinator, warehouse, ETL scheduler,
# 2 motion, the motion processor and sink, 2 health metrics and their ingester, gateway
CHILDREN = 18


@pytest.fixture
def data_home() -> Iterator[Path]:
    """Where a launcher's data directory goes (not under pytest's temp root: see helper)."""
    with server_reachable_dir("e2e-launcher-") as folder:
        yield folder


def launcher_env(folder: Path, gateway_port: int, **extra: str) -> dict[str, str]:
    """Environment for a launcher on free ports and a private data directory."""
    ports = [free_port() for _ in range(21)]
    return {
        **os.environ,
        "LOCAL_DATA_DIR": str(folder / "run"),
        "LOCAL_GATEWAY_PORT": str(gateway_port),
        "LOCAL_GATEWAY_METRICS_PORT": str(ports[12]),
        "LOCAL_USER_PORTS": f"{ports[0]},{ports[1]}",
        "LOCAL_ACTIVITY_PORTS": f"{ports[2]},{ports[3]}",
        "LOCAL_USER_METRICS_PORTS": f"{ports[4]},{ports[5]}",
        "LOCAL_ACTIVITY_METRICS_PORTS": f"{ports[6]},{ports[7]}",
        "LOCAL_REDIS_PORT": str(ports[8]),
        "LOCAL_SAGA_PORT": str(ports[9]),
        "LOCAL_SAGA_METRICS_PORT": str(ports[10]),
        "LOCAL_WAREHOUSE_PORT": str(ports[11]),
        "LOCAL_WATCH_LOG_PORTS": f"{ports[13]},{ports[14]}",
        "LOCAL_WATCH_LOG_METRICS_PORTS": f"{ports[15]},{ports[16]}",
        "LOCAL_MOTION_PORTS": f"{ports[17]},{ports[18]}",
        "LOCAL_MOTION_METRICS_PORTS": f"{ports[19]},{ports[20]}",
        "LOCAL_MOTION_PROCESSOR_METRICS_PORT": str(free_port()),
        "LOCAL_MOTION_SINK_METRICS_PORT": str(free_port()),
        "LOCAL_HEALTH_PORTS": f"{free_port()},{free_port()}",
        "LOCAL_HEALTH_METRICS_PORTS": f"{free_port()},{free_port()}",
        "LOCAL_HEALTH_INGESTER_METRICS_PORT": str(free_port()),
        # A ceiling only: 15 processes starting on a shared 2-core machine took 41 s once.
        "LOCAL_STARTUP_TIMEOUT": "90",
        **extra,
    }


@dataclass
class Launch:
    """A running ``python -m deploy.local`` and everything it printed so far."""

    process: subprocess.Popen[str]
    env: dict[str, str]
    lines: list[str] = field(default_factory=list)

    @property
    def gateway(self) -> str:
        return f"http://127.0.0.1:{self.env['LOCAL_GATEWAY_PORT']}"

    @property
    def output(self) -> str:
        return "".join(self.lines)

    def launcher_lines(self) -> str:
        """What the launcher itself said, without the children's JSON logs."""
        return "".join(line for line in self.lines if not line.startswith("{"))[-5000:]

    def wait_for(self, text: str, timeout: float = 120.0) -> None:
        deadline = time.monotonic() + timeout
        while text not in self.output:
            assert self.process.poll() is None or text in self.output, self.output[-3000:]
            assert time.monotonic() < deadline, f"no {text!r} in:\n{self.output[-3000:]}"
            time.sleep(0.1)

    def children(self) -> list[psutil.Process]:
        children: list[psutil.Process] = psutil.Process(self.process.pid).children()
        return children

    def ctrl_c(self) -> int:
        """SIGINT to the launcher and all its children at once, as a terminal does."""
        os.killpg(self.process.pid, signal.SIGINT)
        return self.process.wait(timeout=60)

    def kill_everything(self) -> None:
        """Clean-up: SIGKILL our own process group."""
        if self.process.poll() is None or _group_members(self.process.pid):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=30)


def launch(env: dict[str, str]) -> Launch:
    """Start the launcher in a new session; a thread collects its merged output."""
    process = subprocess.Popen(
        [sys.executable, "-m", "deploy.local"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    running = Launch(process, env)
    assert process.stdout is not None
    stream = process.stdout

    def collect() -> None:
        running.lines.extend(iter(stream.readline, ""))

    threading.Thread(target=collect, daemon=True).start()
    return running


def _alive(process: psutil.Process) -> bool:
    try:
        return bool(process.is_running() and process.status() != psutil.STATUS_ZOMBIE)
    except psutil.NoSuchProcess:
        return False


def _group_members(pgid: int) -> list[psutil.Process]:
    members = []
    for process in psutil.process_iter():
        try:
            if os.getpgid(process.pid) == pgid and process.status() != psutil.STATUS_ZOMBIE:
                members.append(process)
        except (ProcessLookupError, psutil.NoSuchProcess):
            continue
    return members


def _wait_until(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, what
        time.sleep(0.1)


def test_a_taken_port_stops_the_launcher_with_a_clear_message(data_home: Path) -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        taken = holder.getsockname()[1]
        result = subprocess.run(
            [sys.executable, "-m", "deploy.local"],
            env=launcher_env(data_home, taken),
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert result.returncode == 2
    assert f"port(s) already in use: {taken}" in result.stderr


# Two launches of 15 processes each: on a loaded 2-core machine one takes ~45 s to be ready.
@pytest.mark.timeout(300)
def test_ctrl_c_stops_every_child_without_a_traceback_and_a_relaunch_starts_at_once(
    data_home: Path,
) -> None:
    env = launcher_env(data_home, free_port())
    first = launch(env)
    try:
        first.wait_for(READY_LINE)
        assert f"{first.gateway}/health/live" in first.output
        assert "one processor worker, one sink worker into the warehouse" in first.output
        children = first.children()
        assert len(children) == CHILDREN, first.launcher_lines()
        assert first.ctrl_c() == 0
        _wait_until(
            lambda: (
                not any(c.is_running() and c.status() != psutil.STATUS_ZOMBIE for c in children)
            ),
            10,
            "children outlived the launcher",
        )
    finally:
        first.kill_everything()
    assert "Traceback" not in first.output, first.launcher_lines()
    after_ready = first.output.split(READY_LINE)[1].splitlines()
    assert [line for line in after_ready if line.startswith("error")] == []  # nobody failed
    assert "stopping..." in first.output

    linger_in_time_wait(int(env["LOCAL_GATEWAY_PORT"]))
    second = launch(env)
    try:
        second.wait_for(READY_LINE)
        # The demo users of the first run sign in with their kept passwords.
        assert f"demo users      {', '.join(DEMO_EMAILS)}" in second.output
        second.process.send_signal(signal.SIGTERM)
        assert second.process.wait(timeout=60) == 0
    finally:
        second.kill_everything()
    assert "already in use" not in second.output


def test_a_child_that_always_dies_makes_the_launcher_give_up_with_a_clear_message(
    data_home: Path,
) -> None:
    # An invalid ETL setting: the scheduler exits at every start, the rest runs fine.
    env = launcher_env(
        data_home,
        free_port(),
        ETL_RETRY_MINUTES="-1",
        LOCAL_RESTART_LIMIT="2",
        LOCAL_RESTART_BACKOFF="0.2",
    )
    running = launch(env)
    try:
        code = running.process.wait(timeout=180)
        _wait_until(lambda: not _group_members(running.process.pid), 15, "children outlived it")
    finally:
        running.kill_everything()
    assert code == 1
    assert "launcher: etl exited with code 1; restarting in 0.2 s" in running.output
    assert "error: etl exited 3 times within 60 s (last: code 1); giving up" in running.output


@pytest.fixture(scope="module")
def platform() -> Iterator[Launch]:
    """One launcher shared by the tests below, stopped with Ctrl-C afterwards."""
    with server_reachable_dir("e2e-launcher-") as folder:
        yield from _shared_launch(folder)


def _shared_launch(folder: Path) -> Iterator[Launch]:
    """A launcher with its data in ``folder``, until the module's tests are done."""
    running = launch(launcher_env(folder, free_port()))
    try:
        running.wait_for(READY_LINE)
        yield running
        assert running.ctrl_c() == 0
    finally:
        running.kill_everything()


@pytest.fixture(scope="module")
def account(platform: Launch) -> tuple[str, dict[str, str]]:
    body = {"username": "kim", "email": "kim@example.com", "password": "s3cret-pass"}
    with httpx.Client(base_url=platform.gateway, timeout=10) as client:
        assert client.post("/users/register", json=body).status_code == 201
        login = client.post("/users/login", json={k: body[k] for k in ("email", "password")})
    token = login.json()
    return token["user_id"], {"Authorization": f"Bearer {token['token']}"}


def _child(platform: Launch, variable: str, value: str) -> psutil.Process | None:
    for child in platform.children():
        try:
            if child.environ().get(variable) == value and child.is_running():
                return child
        except psutil.NoSuchProcess:
            continue
    return None


def _gateway_sees_healthy(platform: Launch, address: str) -> bool:
    url = f"http://127.0.0.1:{platform.env['LOCAL_GATEWAY_METRICS_PORT']}/metrics"
    text = httpx.get(url, timeout=2).text
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == "gateway_upstream_healthy" and sample.labels["instance"] == address:
                return sample.value == 1.0
    return False


def test_a_killed_user_instance_is_restarted_while_the_gateway_keeps_answering(
    platform: Launch, account: tuple[str, dict[str, str]]
) -> None:
    user_id, headers = account
    port = platform.env["LOCAL_USER_PORTS"].split(",")[0]
    victim = _child(platform, "USER_PORT", port)
    assert victim is not None
    others = {c.pid for c in platform.children()} - {victim.pid}
    statuses: list[int] = []
    reading = threading.Event()
    reading.set()

    def read() -> None:
        with httpx.Client(base_url=platform.gateway, timeout=10) as client:
            while reading.is_set():
                try:
                    # Goals: GET /users/{id} may be answered by the shared cache.
                    url = f"/users/{user_id}/goals"
                    statuses.append(client.get(url, headers=headers).status_code)
                except httpx.HTTPError:
                    statuses.append(0)

    readers = [threading.Thread(target=read) for _ in range(2)]
    for reader in readers:
        reader.start()
    _wait_until(lambda: len(statuses) > 20, 30, "no reads before the kill")
    killed_at = time.monotonic()
    victim.kill()
    try:
        _wait_until(
            lambda: (
                (new := _child(platform, "USER_PORT", port)) is not None and new.pid != victim.pid
            ),
            30,
            "user-1 was not restarted",
        )
        _wait_until(lambda: _gateway_sees_healthy(platform, f"127.0.0.1:{port}"), 60, "not back")
        recovered = time.monotonic() - killed_at
    finally:
        reading.clear()
        for reader in readers:
            reader.join()
    failed = [s for s in statuses if s != 200]
    print(f"\n{len(statuses)} reads, {len(failed)} failed, serving again in {recovered:.1f} s")
    assert failed == []
    assert "launcher: user-1 exited with signal SIGKILL; restarting in 0.5 s" in platform.output
    assert "launcher: user-1 restarted (pid" in platform.output
    assert others <= {c.pid for c in platform.children()}  # nobody else was touched


def test_every_file_under_the_data_dir_is_private(
    platform: Launch, account: tuple[str, dict[str, str]]
) -> None:
    data = Path(platform.env["LOCAL_DATA_DIR"])
    modes = {
        path: stat.S_IMODE(path.lstat().st_mode)
        for root, folders, files in os.walk(data)
        for path in (Path(root, name) for name in [*folders, *files])
    }
    open_to_others = {str(path): oct(mode) for path, mode in modes.items() if mode & 0o077}
    assert open_to_others == {}
    names = {path.name for path in modes}
    assert {"user.db", "user.db-wal", "user.db-shm", "jwt_private.pem", "jwt_public.pem"} <= names
    assert any(name.startswith("appendonly") for name in names)  # Redis' AOF
    # Only when we are root may the embedded PostgreSQL's user pass through (never list).
    assert stat.S_IMODE(data.stat().st_mode) == (0o711 if os.geteuid() == 0 else 0o700)


def test_the_demo_users_sign_in_with_their_kept_passwords_and_have_a_simulated_fitbit(
    platform: Launch,
) -> None:
    kept = Path(platform.env["LOCAL_DATA_DIR"]) / "demo-users.json"
    accounts = json.loads(kept.read_text())
    assert sorted(account["email"] for account in accounts.values()) == DEMO_EMAILS
    assert f"demo users      {', '.join(DEMO_EMAILS)}" in platform.output
    with httpx.Client(base_url=platform.gateway, timeout=10) as client:
        for account in accounts.values():
            login = client.post("/users/login", json=account).json()
            headers = {"Authorization": f"Bearer {login['token']}"}
            path = f"/users/{login['user_id']}/health-metrics/simulator"
            linked = client.post(path, headers=headers)
            assert (linked.status_code, linked.json()["created"]) == (200, False)


def test_the_running_gateway_tells_the_public_only_whether_it_is_up(platform: Launch) -> None:
    with httpx.Client(base_url=platform.gateway, timeout=5) as client:
        live, ready = client.get("/health/live"), client.get("/health/ready")
        detail, metrics = client.get("/health"), client.get("/metrics")
    assert (live.json(), ready.json()) == ({"status": "ok"}, {"status": "ok"})
    assert (detail.status_code, metrics.status_code) == (401, 404)
    assert "server" not in live.headers
