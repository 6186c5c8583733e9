"""Composition root of the gateway: ``python -m gateway``."""

from __future__ import annotations

import contextlib

import uvicorn
from fastapi import FastAPI
from prometheus_client import start_http_server

from gateway.app import create_app
from gateway.config import GatewaySettings
from gateway.edge.http_protocol import OneWriteHttpProtocol
from gateway.realtime.lane import WebSocketLane
from gateway.realtime.wire import FramesProtocol
from services.common.heap import freeze_startup_heap
from services.common.logs import configure_logging


def main() -> None:
    """Serve the gateway with uvicorn on the configured address."""
    settings = GatewaySettings()
    configure_logging("gateway", settings.log_level)
    serve(create_app(settings), settings)


def serve(app: FastAPI, settings: GatewaySettings) -> None:
    """Serve ``app`` as the gateway: metrics on their own port, the startup heap frozen."""
    if settings.metrics_port:
        # Its own port, like the services': metrics stay off the public API.
        start_http_server(
            settings.metrics_port, addr=settings.host, registry=app.state.metrics.registry
        )
    freeze_startup_heap()
    # uvicorn.run() swallows the Ctrl-C that ends a server; Server.run() does not.
    with contextlib.suppress(KeyboardInterrupt):
        uvicorn.Server(server_config(app, settings)).run()


def server_config(app: FastAPI, settings: GatewaySettings) -> uvicorn.Config:
    """How uvicorn serves the app: proxy headers are believed only from trusted proxies."""
    return uvicorn.Config(
        # WebSockets skip the HTTP layers, which would stay in memory per connection (lane.py).
        WebSocketLane(app),
        host=settings.host,
        port=settings.port,
        log_config=None,
        access_log=False,
        timeout_graceful_shutdown=5,
        # A response's head and body go out in one write (http_protocol.py).
        http=OneWriteHttpProtocol,
        ws_max_size=settings.ws_max_message_bytes,
        # Frames for many sockets are written straight to their transports (wire.py).
        ws=FramesProtocol,
        ws_per_message_deflate=settings.ws_per_message_deflate,
        server_header=False,  # no "server: uvicorn" banner
        # uvicorn's default believes X-Forwarded-For from 127.0.0.1, so any local client
        # could pick the address the login throttle counts against.
        proxy_headers=bool(settings.trusted_proxies),
        forwarded_allow_ips=list(settings.trusted_proxies),
    )


if __name__ == "__main__":
    main()
