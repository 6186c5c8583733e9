"""Start a small real platform for benchmarks, reusing the local launcher."""

from __future__ import annotations

import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from deploy.local import (
    Supervisor,
    add_gateway,
    build_topology,
    free_port,
    prepare,
    python_module,
    settings_on_free_ports,
)


@contextmanager
def running_platform(
    gateway_module: str = "gateway",
    extra_gateways: int = 0,
    gateway_env: dict[str, str] | None = None,
    extra_gateway_env: dict[str, str] | None = None,
    settings_changes: dict[str, object] | None = None,
) -> Iterator[Supervisor]:
    """One user and one activity instance, gateways and Redis on free ports; stopped on exit.

    Extra gateways are named gateway-2, gateway-3, ... and get ``extra_gateway_env`` on top
    of the first one's environment; ``settings_changes`` alter the topology (e.g. an
    existing ``redis_url``).
    """
    with tempfile.TemporaryDirectory(prefix="fitness-bench-") as root:
        settings = settings_on_free_ports(Path(root) / "data", instances=1)
        topology = build_topology(settings.model_copy(update=settings_changes or {}))
        gateway = next(s for s in topology.specs if s.name == "gateway")
        gateway.argv = python_module(gateway_module)
        gateway.env.update(gateway_env or {})
        for n in range(extra_gateways):
            extra = add_gateway(topology, f"gateway-{n + 2}", free_port())
            extra.env.update(extra_gateway_env or {})
        prepare(topology)
        supervisor = Supervisor(topology, log_dir=Path(root) / "logs")
        supervisor.start_all()
        try:
            supervisor.wait_ready(timeout=60)
            time.sleep(1.0)  # the extra gateways finish starting
            yield supervisor
        finally:
            supervisor.stop_all()


PASSWORD = "bench-password"


def register(gateway_url: str, name: str) -> None:
    """Register the account ``name`` (its email is ``name@example.com``)."""
    body = {"username": name, "email": f"{name}@example.com", "password": PASSWORD}
    httpx.post(f"{gateway_url}/users/register", json=body, timeout=10).raise_for_status()


def sign_in(gateway_url: str, name: str) -> tuple[str, str]:
    """Log the registered account ``name`` in: (user_id, a fresh 15-minute bearer token)."""
    credentials = {"email": f"{name}@example.com", "password": PASSWORD}
    reply = httpx.post(f"{gateway_url}/users/login", json=credentials, timeout=10)
    reply.raise_for_status()
    return reply.json()["user_id"], reply.json()["token"]


def login(gateway_url: str, name: str = "bench") -> tuple[str, str]:
    """Register an account and return (user_id, bearer token)."""
    register(gateway_url, name)
    return sign_in(gateway_url, name)
