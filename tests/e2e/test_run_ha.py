"""`make run-ha`'s launcher for real: the Redis Cluster, the PostgreSQL formation, two
gateways over two instances of each service; an account made through one gateway is read
through the other; Ctrl-C leaves no process of it behind.

The launcher runs in a session of its own, so the Ctrl-C (SIGINT to its process group, as
a terminal sends it) and the clean-up reach exactly the processes this test started.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path

import httpx
import psutil
import pytest

from deploy.local import free_port
from services.common.timeutil import format_time, utc_now

READY_LINE = "Press Ctrl-C to stop."
# Bounds, not figures: from `python -m deploy.local --ha` to the ready line (the formation,
# the cluster, migrations, 10 processes), and from Ctrl-C to the last process gone. On an
# idle 2-core machine the start takes about 25 s; on ours, shared, 60 to 80 s at times.
# The stop takes 2-6 s; under other test runs' load it once took over 10 s.
START_BUDGET = 90.0
STOP_BUDGET = 20.0
TIMINGS = ("PostgreSQL formation ready in", "Redis Cluster ready in")


def watch_sample() -> dict[str, object]:
    """One walking sample taken a minute ago."""
    return {
        "message_id": "hana-1",
        "device_id": "watch-1",
        "device_model": "Venu 3",
        "firmware": "12.1",
        "timestamp": format_time(utc_now() - timedelta(minutes=1)),
        "activity": "walking",
        "duration_s": 60,
        "steps": 90,
        "calories": 4.0,
        "distance_m": 70.0,
        "battery": 80,
    }


def ports(count: int) -> str:
    """``count`` free ports, comma-separated."""
    return ",".join(str(free_port()) for _ in range(count))


def ha_env(data: Path) -> dict[str, str]:
    """A launcher environment on free ports and a private data directory."""
    return {
        **os.environ,
        "LOCAL_DATA_DIR": str(data),
        "LOCAL_GATEWAY_PORT": ports(1),
        "LOCAL_GATEWAY_METRICS_PORT": ports(1),
        "LOCAL_HA_GATEWAY_PORT": ports(1),
        "LOCAL_USER_PORTS": ports(2),
        "LOCAL_ACTIVITY_PORTS": ports(2),
        "LOCAL_USER_METRICS_PORTS": ports(2),
        "LOCAL_ACTIVITY_METRICS_PORTS": ports(2),
        "LOCAL_SAGA_PORT": ports(1),
        "LOCAL_SAGA_METRICS_PORT": ports(1),
        "LOCAL_WATCH_LOG_PORTS": ports(2),
        "LOCAL_WATCH_LOG_METRICS_PORTS": ports(2),
        "LOCAL_MOTION_PORTS": ports(2),
        "LOCAL_MOTION_METRICS_PORTS": ports(2),
        "LOCAL_MOTION_PROCESSOR_METRICS_PORT": ports(1),
        "LOCAL_MOTION_SINK_METRICS_PORT": ports(1),
        "LOCAL_HEALTH_PORTS": ports(2),
        "LOCAL_HEALTH_METRICS_PORTS": ports(2),
        "LOCAL_HEALTH_INGESTER_METRICS_PORT": ports(1),
        "LOCAL_WAREHOUSE_PORT": ports(1),
        "LOCAL_REDIS_PORT": ports(1),
        "LOCAL_HA_REDIS_PORTS": ports(6),
        "LOCAL_HA_REDIS_BUS_PORTS": ports(6),
        "LOCAL_HA_POSTGRES_PORTS": ports(4),
        "LOCAL_HA_START_TIMEOUT": str(START_BUDGET),
        "LOCAL_STARTUP_TIMEOUT": str(START_BUDGET),
    }


class Launcher:
    """A running ``python -m deploy.local --ha`` and what it printed so far."""

    def __init__(self, env: dict[str, str]) -> None:
        self.env = env
        self.lines: list[str] = []
        self.process = subprocess.Popen(
            [sys.executable, "-m", "deploy.local", "--ha"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )

    def collect(self) -> None:
        """Read its merged output in the background."""
        stream = self.process.stdout
        assert stream is not None
        reader = threading.Thread(target=lambda: self.lines.extend(iter(stream.readline, "")))
        reader.daemon = True
        reader.start()

    @property
    def output(self) -> str:
        return "".join(self.lines)

    def said(self) -> str:
        """What the launcher itself said, without the children's JSON logs."""
        return "".join(line for line in self.lines if not line.startswith("{"))[-4000:]

    def gateway(self, variable: str) -> str:
        return f"http://127.0.0.1:{self.env[variable]}"

    def descendants(self) -> list[psutil.Process]:
        """Every process under the launcher now: supervised children and the data tier's."""
        found: list[psutil.Process] = psutil.Process(self.process.pid).children(recursive=True)
        return found

    def kill_everything(self) -> None:
        """Clean-up: SIGKILL whatever is left under it or in its session."""
        # Under it too: PostgreSQL's processes leave the session (setsid).
        under = self.descendants() if self.process.poll() is None else []
        for process in [*under, *session_members(self.process.pid)]:
            try:
                process.kill()
            except psutil.NoSuchProcess:
                continue
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait(timeout=30)


def session_members(sid: int) -> list[psutil.Process]:
    """The live processes of session ``sid`` (the launcher's, and all it started)."""
    members = []
    for process in psutil.process_iter():
        try:
            if os.getsid(process.pid) == sid and process.status() != psutil.STATUS_ZOMBIE:
                members.append(process)
        except (ProcessLookupError, psutil.NoSuchProcess):
            continue
    return members


def alive(process: psutil.Process) -> bool:
    try:
        return bool(process.is_running() and process.status() != psutil.STATUS_ZOMBIE)
    except psutil.NoSuchProcess:
        return False


def names_of(processes: list[psutil.Process]) -> set[str]:
    """The names of those still running (a data tier's short-lived helpers come and go)."""
    names = set()
    for process in processes:
        with contextlib.suppress(psutil.NoSuchProcess):
            names.add(process.name())
    return names


def readable_by_others(data: Path) -> list[str]:
    """What under ``data`` another user could read or list, walking only where they can
    pass (the formation's folders are its server user's, 0700, and hold the rest)."""
    found = [str(data)] if data.stat().st_mode & stat.S_IROTH else []
    for root, folders, files in os.walk(data):
        names = [*folders, *files]
        modes = {name: _mode(Path(root, name)) for name in names}
        found += [str(Path(root, n)) for n, m in modes.items() if m & stat.S_IROTH]
        folders[:] = [name for name in folders if modes[name] & stat.S_IXOTH]
    return found


def _mode(path: Path) -> int:
    try:
        return path.lstat().st_mode
    except FileNotFoundError:  # a server's file gone meanwhile
        return 0


def wait_until(condition: Callable[[], bool], deadline: float) -> bool:
    """Poll ``condition`` until it holds (True) or the monotonic ``deadline`` passes (False)."""
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)
    return True


@pytest.fixture
def launcher() -> Iterator[Launcher]:
    """The HA launcher, started; everything of it killed afterwards, whatever happened.

    Its data directory is in the system's temporary folder, not pytest's: pytest makes
    /tmp/pytest-of-USER private again whenever another session starts, and the formation's
    keepers, running as another user, must still reach their data directories then.
    """
    with tempfile.TemporaryDirectory(prefix="run-ha-") as data:
        Path(data).chmod(0o711)  # the formation's servers' user passes through, as in /work
        running = Launcher(ha_env(Path(data) / "run"))
        running.collect()
        try:
            yield running
        finally:
            running.kill_everything()


def test_an_account_made_through_one_gateway_is_read_through_the_other_and_ctrl_c_ends_all(
    launcher: Launcher,
) -> None:
    started = time.monotonic()
    wait_until(
        lambda: READY_LINE in launcher.output or launcher.process.poll() is not None,
        started + START_BUDGET,
    )
    assert READY_LINE in launcher.output, f"not ready in {START_BUDGET:.0f} s:\n{launcher.said()}"
    ready_after = time.monotonic() - started
    first = launcher.gateway("LOCAL_GATEWAY_PORT")
    second = launcher.gateway("LOCAL_HA_GATEWAY_PORT")
    assert f"REST API        {second}" in launcher.output
    assert "redis-cluster://" in launcher.output
    assert "target_session_attrs" in launcher.output

    body = {"username": "hana", "email": "hana@example.com", "password": "s3cret-pass"}
    with (
        httpx.Client(base_url=first, timeout=10) as one,
        httpx.Client(base_url=second, timeout=10) as two,
    ):
        registered = one.post("/users/register", json=body)
        assert registered.status_code == 201, registered.text
        login = two.post("/users/login", json={"email": body["email"], "password": "s3cret-pass"})
        assert login.status_code == 200, login.text
        token = login.json()
        headers = {"Authorization": f"Bearer {token['token']}"}
        read = two.get(f"/users/{token['user_id']}", headers=headers)
        # A watch log through either gateway lands once in the cluster (acknowledged
        # after WAIT 1): the retry through the other gateway is a duplicate.
        batch = {"logs": [watch_sample()]}
        stored = one.post("/watch-logs", json=batch, headers=headers)
        again = two.post("/watch-logs", json=batch, headers=headers)
    assert read.status_code == 200, read.text
    assert read.json()["username"] == "hana"
    assert stored.status_code == 200, stored.text
    assert (stored.json()["accepted"], again.json()["duplicates"]) == (1, 1), again.text

    data = Path(f"{launcher.env['LOCAL_DATA_DIR']}-ha")  # beside make run's
    assert f"data            {data}" in launcher.output
    assert readable_by_others(data) == []

    everything = launcher.descendants()
    names = names_of(everything)
    assert {"redis-server", "pg_autoctl", "postgres"} <= names, names
    os.killpg(launcher.process.pid, signal.SIGINT)
    stopping = time.monotonic()
    assert launcher.process.wait(timeout=STOP_BUDGET) == 0, launcher.said()
    gone = wait_until(
        lambda: not any(map(alive, everything)) and not session_members(launcher.process.pid),
        stopping + STOP_BUDGET,
    )
    assert gone, f"outlived the launcher: {[p for p in everything if alive(p)]}"
    stopped_after = time.monotonic() - stopping
    phases = [line.strip() for line in launcher.lines if line.startswith(TIMINGS)]
    print(
        f"\nready in {ready_after:.1f} s ({'; '.join(phases)}); {len(everything)} processes, "
        f"all gone {stopped_after:.1f} s after Ctrl-C"
    )
    assert "Traceback" not in launcher.output, launcher.said()


def test_a_taken_data_tier_port_stops_it_before_anything_starts_or_is_removed() -> None:
    with tempfile.TemporaryDirectory(prefix="run-ha-") as folder, socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        taken = holder.getsockname()[1]
        env = ha_env(Path(folder) / "run")
        env["LOCAL_HA_POSTGRES_PORTS"] = f"{taken},{ports(3)}"
        earlier = Path(f"{env['LOCAL_DATA_DIR']}-ha") / "kept"
        earlier.mkdir(parents=True)
        result = subprocess.run(
            [sys.executable, "-m", "deploy.local", "--ha"],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert earlier.exists()  # a running HA platform's data is never emptied
    assert result.returncode == 2
    assert f"port(s) already in use: {taken}" in result.stderr
    assert "LOCAL_HA_POSTGRES_PORTS" in result.stderr
