"""What the realtime routes and sockets need, wired once by the app (start_realtime)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated

from fastapi import Depends, Request

from gateway.realtime.hub import Hub
from gateway.realtime.presence import PresenceAnnouncer
from gateway.realtime.quota import SocketQuota
from gateway.realtime.settings import LiveSettings
from gateway.realtime.store import LiveStore


@dataclass
class Live:
    """The live-session store, this instance's one hub, the limits of both sockets, presence."""

    store: LiveStore
    hub: Hub
    settings: LiveSettings
    presence: PresenceAnnouncer
    quota: SocketQuota = field(init=False)

    def __post_init__(self) -> None:
        self.quota = SocketQuota(self.settings.max_sockets_per_user)


async def live(request: Request) -> Live:
    """FastAPI dependency: the app's live-session container."""
    container: Live = request.app.state.live
    return container


LiveDep = Annotated[Live, Depends(live)]
