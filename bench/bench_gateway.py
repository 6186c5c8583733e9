"""The real gateway app plus one route that answers without the gRPC hop, for the benchmark.

``GET /bench/local/{user_id}`` does what ``GET /users/{user_id}`` does (token check,
ownership check, the same response model and middleware) but answers from memory.
"""

from __future__ import annotations

from fastapi import FastAPI

from gateway.__main__ import serve
from gateway.app import create_app
from gateway.config import GatewaySettings
from gateway.edge.auth import require_self
from gateway.edge.dependencies import Caller
from gateway.routes.schemas import UserResponse
from services.common.logs import configure_logging


def bench_app(settings: GatewaySettings) -> FastAPI:
    """The gateway with the extra no-hop route."""
    app = create_app(settings)

    @app.get("/bench/local/{user_id}", response_model=UserResponse)
    async def local_user(user_id: str, caller: Caller) -> UserResponse:
        require_self(user_id, caller)
        return UserResponse(
            user_id=user_id,
            username="bench",
            email="bench@example.com",
            display_name="",
            weight_kg=70.0,
            height_cm=None,
            birth_year=None,
            created_at="2030-01-01T00:00:00Z",
        )

    return app


def main() -> None:
    """Serve the bench app as ``python -m gateway`` serves the real one (same config, logs)."""
    settings = GatewaySettings()
    configure_logging("gateway", settings.log_level)
    serve(bench_app(settings), settings)


if __name__ == "__main__":
    main()
