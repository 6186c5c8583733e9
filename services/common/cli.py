"""The command line every gRPC service shares: ``python -m services.X [serve|migrate]``."""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Callable, Coroutine, Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol

from prometheus_client import start_http_server

from services.common.db import make_engine, migrate
from services.common.heap import freeze_startup_heap
from services.common.logs import configure_logging


class ServerSettings(Protocol):
    """The settings fields every server process reads as it starts."""

    host: str
    metrics_port: int
    log_level: str


class ServiceSettings(ServerSettings, Protocol):
    """The settings fields the shared command line reads."""

    database_url: str


def serve_process(
    component: str, settings: ServerSettings, serve: Callable[[], Coroutine[Any, Any, None]]
) -> None:
    """Serve with JSON logs, a metrics port (if configured) and the startup heap frozen."""
    configure_logging(component, settings.log_level)
    if settings.metrics_port:
        start_http_server(settings.metrics_port, addr=settings.host)
    freeze_startup_heap()
    asyncio.run(serve())


def run_service(
    component: str,
    settings: ServiceSettings,
    migrations: Path,
    serve: Callable[[], Coroutine[Any, Any, None]],
    prog: str = "",
    commands: Mapping[str, Callable[[Sequence[str]], int]] | None = None,
) -> None:
    """Migrate the database, or serve with JSON logs and (if configured) a metrics port.

    ``commands`` adds service-specific subcommands, each given the arguments after its name
    and returning the exit status.
    """
    extra = dict(commands or {})
    parser = argparse.ArgumentParser(prog=prog or f"python -m services.{component.split('-')[0]}")
    choices = ["serve", "migrate", *extra]
    parser.add_argument("command", choices=choices, nargs="?", default="serve")
    parser.add_argument("arguments", nargs=argparse.REMAINDER, help=argparse.SUPPRESS)
    parsed = parser.parse_args()
    command = parsed.command
    if command in extra:
        raise SystemExit(extra[command](parsed.arguments))
    if parsed.arguments:
        parser.error(f"unexpected arguments: {' '.join(parsed.arguments)}")
    if command == "migrate":
        configure_logging(component, settings.log_level)
        migrate(make_engine(settings.database_url), migrations)
        return
    serve_process(component, settings, serve)
