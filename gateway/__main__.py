"""Composition root of the gateway: ``python -m gateway``."""

from __future__ import annotations

import uvicorn
from prometheus_client import start_http_server

from gateway.app import create_app
from gateway.config import GatewaySettings
from services.common.logs import configure_logging


def main() -> None:
    """Serve the gateway with uvicorn on the configured address."""
    settings = GatewaySettings()
    configure_logging("gateway", settings.log_level)
    app = create_app(settings)
    if settings.metrics_port:
        # Its own port, like the services': metrics stay off the public API.
        start_http_server(
            settings.metrics_port, addr=settings.host, registry=app.state.metrics.registry
        )
    uvicorn.run(
        app,
        host=settings.host,
        port=settings.port,
        log_config=None,
        access_log=False,
        timeout_graceful_shutdown=5,
        ws_max_size=settings.ws_max_message_bytes,
        server_header=False,  # no "server: uvicorn" banner
    )


if __name__ == "__main__":
    main()
