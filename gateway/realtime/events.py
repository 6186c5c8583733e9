"""Session events as every participant receives them."""

from __future__ import annotations

import time
from typing import Any

from gateway.realtime.views import stamp


def make_event(kind: str, session_id: str, user_id: str, **payload: Any) -> dict[str, Any]:
    """A session event (the store adds its seq when it logs and publishes it)."""
    return {
        "type": kind,
        "session_id": session_id,
        "user_id": user_id,
        "ts": stamp(time.time()),
        **payload,
    }
