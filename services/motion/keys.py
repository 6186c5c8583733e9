"""Partitions of the motion store and their Redis keys. Pure.

A device's keys (raw and processed streams, lease, dedup, state, windows) share its
partition's hash tag, so one script touches them in one slot of a Redis Cluster; a user's
device list lives in the partition of the user id. Tags spread partitions over every master
(services/common/slots.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

from services.common.slots import Spread

PREFIX = "motion"
# Processor workers' heartbeats (a sorted set by last beat): one key, any node.
WORKERS = f"{PREFIX}:workers"


@dataclass(frozen=True)
class Partition:
    """One partition: its index, hash tag, and the keys that share that tag."""

    index: int
    tag: str

    def _key(self, suffix: str) -> str:
        return f"{PREFIX}:{{{self.tag}}}:{suffix}"

    @property
    def raw(self) -> str:
        """The raw stream (the seed's ``raw_sensor_data`` topic) of this partition."""
        return self._key("raw")

    @property
    def processed(self) -> str:
        """The processed stream (the seed's ``processed_activity`` topic)."""
        return self._key("processed")

    @property
    def lease(self) -> str:
        """Which processor worker holds this partition (a token with a TTL)."""
        return self._key("lease")

    def seen(self, device_id: str, message_id: str) -> str:
        """The dedup key of one device's message id (length first: both may hold ':')."""
        return self._key(f"seen:{len(device_id)}:{device_id}:{message_id}")

    def device(self, device_id: str) -> str:
        """The hash of a device's owner and first-seen time."""
        return self._key(f"device:{device_id}")

    def state(self, device_id: str) -> str:
        """The hash of a device's current activity."""
        return self._key(f"state:{device_id}")

    def windows(self, device_id: str) -> str:
        """The hash of a device's records by window key."""
        return self._key(f"windows:{device_id}")

    def window_ends(self, device_id: str) -> str:
        """The sorted set of a device's window keys by window end (ms)."""
        return self._key(f"wends:{device_id}")

    def devices_of(self, user_id: str) -> str:
        """The sorted set of a user's device ids by first-seen time (user partitions)."""
        return self._key(f"devices:{user_id}")


def dead_letters(stream: str) -> str:
    """The dead-letter stream of a stream (same hash tag)."""
    return f"{stream}:dead"


@dataclass(frozen=True)
class Partitions(Spread):
    """The fixed set of ``count`` partitions of a motion store."""

    stem: str = "mo"

    @cached_property
    def all(self) -> tuple[Partition, ...]:
        """Every partition, by index."""
        return tuple(Partition(i, tag) for i, tag in enumerate(self.tags))

    def of_device(self, device_id: str) -> Partition:
        """The partition that holds every key of ``device_id``."""
        return self.all[self.index_of(device_id)]

    def of_user(self, user_id: str) -> Partition:
        """The partition that holds ``user_id``'s device list."""
        return self.all[self.index_of(user_id)]
