"""How many things one user may create: a fixed window per user, in Redis, 429 past it.

Every create (a workout, a goal, a group session) stores rows or Redis state that stays;
without a bound one account could fill the stores. The window is shared by every gateway
instance. The limit fails open: while Redis is down creating still works (logged), since
refusing would make workouts depend on a store they do not otherwise need.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from typing import Any

from gateway.edge.errors import REDIS_OUTAGES
from gateway.edge.login_throttle import COUNT_SCRIPT, too_many
from services.common.redis import RedisClient

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class CreationSettings:
    """At most ``max_creates`` creations per user in each ``window`` seconds."""

    max_creates: int = 120
    window: float = 60.0


class CreationLimit:
    """Counts one user's creations; raises a 429 ApiError once his window is used up."""

    def __init__(
        self,
        redis: RedisClient,
        settings: CreationSettings,
        prefix: str = "creations",
        refusal: str = "too many creations, retry later",
    ) -> None:
        self._settings = settings
        self._prefix = prefix
        self._refusal = refusal
        self._count: Any = redis.register_script(COUNT_SCRIPT)

    async def check(self, user_id: str, count: int = 1) -> None:
        """Count ``count`` creations by the user, or refuse them with 429 and Retry-After."""
        s = self._settings
        try:
            waiting_ms = await self._count(
                keys=[f"{self._prefix}:{user_id}"],
                args=[s.max_creates, math.ceil(s.window * 1000), count],
            )
        except REDIS_OUTAGES as error:
            log.warning("creation limit unavailable, allowing", extra={"error": repr(error)})
            return
        if int(waiting_ms) > 0:
            raise too_many(int(waiting_ms) / 1000, self._refusal)
