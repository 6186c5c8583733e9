"""How many WebSockets one user may hold on this gateway instance at once.

Every socket costs a queue, a writer task and, on a Redis Cluster, a sharded
subscription to its channel: without a bound one account could hold thousands, or
churn subscriptions by opening and closing sockets in a loop.
"""

from __future__ import annotations

from collections import Counter

# The close reason a refused socket gets (with 1008, policy violation).
TOO_MANY_SOCKETS = "too many connections for this user"


class SocketQuota:
    """Open sockets per user, at most ``limit`` each."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.open: Counter[str] = Counter()

    def take(self, user_id: str) -> bool:
        """Count one more socket of ``user_id``; False (nothing counted) at the limit."""
        if self.open[user_id] >= self.limit:
            return False
        self.open[user_id] += 1
        return True

    def give_back(self, user_id: str) -> None:
        """One socket of ``user_id`` closed."""
        self.open[user_id] -= 1
        if self.open[user_id] <= 0:
            del self.open[user_id]
