"""Partition streams and their keys: which hash tag each partition has, whose logs go where.

Pure. A partition's keys share one hash tag, so a script touching them is one slot of a
Redis Cluster. Tags are chosen so partition i's slot lies in the i-th of P equal ranges of
the 16384 slots: a cluster created with equal contiguous ranges (``redis-cli --cluster
create``'s default) gets partitions on every master. A user's logs all go to one partition.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from functools import cached_property

from redis.crc import key_slot

from services.common.slots import Spread

PREFIX = "watchlogs"


@dataclass(frozen=True)
class Partition:
    """One partition: its index, hash tag, and the keys that share that tag."""

    index: int
    tag: str

    @property
    def stream(self) -> str:
        """The stream of this partition's logs."""
        return f"{PREFIX}:{{{self.tag}}}:log"

    @property
    def dead_letters(self) -> str:
        """The stream where entries the consumer group cannot count go."""
        return f"{PREFIX}:{{{self.tag}}}:dead"

    @property
    def slot(self) -> int:
        """The cluster slot of every key of this partition."""
        return key_slot(self.tag.encode())

    def seen(self, user_id: str, message_id: str) -> str:
        """The dedup key of one user's message id.

        Both ids may hold ':', so the user id's length comes first: user "a:b" with message
        "c" and user "a" with message "b:c" must not share a key.
        """
        return f"{PREFIX}:{{{self.tag}}}:seen:{len(user_id)}:{user_id}:{message_id}"

    def day(self, user_id: str, day: date) -> str:
        """The hash of one user's daily summary."""
        return f"{PREFIX}:{{{self.tag}}}:day:{user_id}:{day.isoformat()}"


@dataclass(frozen=True)
class Partitions(Spread):
    """The fixed set of ``count`` partitions of a store."""

    stem: str = "wl"

    @cached_property
    def all(self) -> tuple[Partition, ...]:
        """Every partition, by index."""
        return tuple(Partition(i, tag) for i, tag in enumerate(self.tags))

    def of_user(self, user_id: str) -> Partition:
        """The partition that holds every log of ``user_id``."""
        return self.all[self.index_of(user_id)]
