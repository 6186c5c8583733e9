"""`make run`'s launcher as a user meets it: taken ports, startup, Ctrl-C."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import psutil

from deploy.local import free_port

READY_LINE = "Press Ctrl-C to stop."


def launcher_env(tmp_path: Path, gateway_port: int) -> dict[str, str]:
    """Environment for a launcher on free ports and a private data directory."""
    ports = [free_port() for _ in range(12)]
    return {
        **os.environ,
        "LOCAL_DATA_DIR": str(tmp_path / "run"),
        "LOCAL_GATEWAY_PORT": str(gateway_port),
        "LOCAL_USER_PORTS": f"{ports[0]},{ports[1]}",
        "LOCAL_ACTIVITY_PORTS": f"{ports[2]},{ports[3]}",
        "LOCAL_USER_METRICS_PORTS": f"{ports[4]},{ports[5]}",
        "LOCAL_ACTIVITY_METRICS_PORTS": f"{ports[6]},{ports[7]}",
        "LOCAL_REDIS_PORT": str(ports[8]),
        "LOCAL_SAGA_PORT": str(ports[9]),
        "LOCAL_SAGA_METRICS_PORT": str(ports[10]),
        "LOCAL_WAREHOUSE_PORT": str(ports[11]),
    }


def test_a_taken_port_stops_the_launcher_with_a_clear_message(tmp_path: Path) -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        taken = holder.getsockname()[1]
        result = subprocess.run(
            [sys.executable, "-m", "deploy.local"],
            env=launcher_env(tmp_path, taken),
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert result.returncode == 2
    assert f"port(s) already in use: {taken}" in result.stderr


def test_the_launcher_serves_then_stops_every_child_on_ctrl_c(tmp_path: Path) -> None:
    gateway_port = free_port()
    launcher = subprocess.Popen(
        [sys.executable, "-m", "deploy.local"],
        env=launcher_env(tmp_path, gateway_port),
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert launcher.stdout is not None
        printed = [launcher.stdout.readline()]
        while READY_LINE not in printed[-1] and printed[-1] and len(printed) < 30:
            printed.append(launcher.stdout.readline())
        assert READY_LINE in printed[-1], printed
        assert f"http://127.0.0.1:{gateway_port}" in "".join(printed)
        health = httpx.get(f"http://127.0.0.1:{gateway_port}/health", timeout=5).json()
        assert health["status"] == "ok"
        assert health["redis"] == "ok"
        children = psutil.Process(launcher.pid).children()
        # redis, 2 user, 2 activity, saga coordinator, warehouse, ETL scheduler, gateway
        assert len(children) == 9
        launcher.send_signal(signal.SIGINT)
        assert launcher.wait(timeout=30) == 0
        deadline = time.monotonic() + 10
        while any(c.is_running() and c.status() != psutil.STATUS_ZOMBIE for c in children):
            assert time.monotonic() < deadline, "children outlived the launcher"
            time.sleep(0.1)
    finally:
        if launcher.poll() is None:
            launcher.kill()
