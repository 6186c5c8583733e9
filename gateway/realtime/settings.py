"""Limits and origins of the gateway's WebSockets (built from GatewaySettings.live_settings)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class LiveSettings:
    """Limits and origins of the WebSocket endpoints, live sessions and notifications alike."""

    allowed_origins: list[str]
    queue_size: int = 256
    send_buffer_bytes: int = 8 * 1024 * 1024
    send_timeout: float = 5.0
    rate_per_second: float = 10.0
    rate_burst: int = 20
    max_sockets_per_user: int = 10
