"""Start a small real platform for benchmarks, reusing the local launcher."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from deploy.local import (
    Supervisor,
    Topology,
    build_topology,
    prepare,
    python_module,
    settings_on_free_ports,
)


@contextmanager
def running_platform(gateway_module: str = "gateway") -> Iterator[Topology]:
    """One user, one activity instance and a gateway on free ports; stopped on exit."""
    with tempfile.TemporaryDirectory(prefix="fitness-bench-") as root:
        topology = build_topology(settings_on_free_ports(Path(root) / "data", instances=1))
        next(s for s in topology.specs if s.name == "gateway").argv = python_module(gateway_module)
        prepare(topology)
        supervisor = Supervisor(topology, log_dir=Path(root) / "logs")
        supervisor.start_all()
        try:
            supervisor.wait_ready(timeout=60)
            yield topology
        finally:
            supervisor.stop_all()


def login(gateway_url: str, name: str = "bench") -> tuple[str, str]:
    """Register an account and return (user_id, bearer token)."""
    body = {"username": name, "email": f"{name}@example.com", "password": "bench-password"}
    httpx.post(f"{gateway_url}/users/register", json=body, timeout=10).raise_for_status()
    credentials = {"email": body["email"], "password": body["password"]}
    reply = httpx.post(f"{gateway_url}/users/login", json=credentials, timeout=10).json()
    return reply["user_id"], reply["token"]
