"""Hash tags that spread a service's partitions over every master of a Redis Cluster.

Pure. Partition i of P gets the first tag ``<stem><i>-<k>`` whose slot lies in the i-th
of P equal ranges of the 16384 slots: a cluster created with equal contiguous ranges
(``redis-cli --cluster create``'s default) then holds partitions on every master.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from functools import cached_property

from redis.crc import REDIS_CLUSTER_HASH_SLOTS, key_slot

# Enough candidates for the narrowest range (16 slots at 1024 partitions) many times over.
_MAX_TAG_TRIES = 1_000_000


def slot_range(index: int, count: int) -> range:
    """The i-th of ``count`` equal ranges of the cluster's slots."""
    return range(
        index * REDIS_CLUSTER_HASH_SLOTS // count, (index + 1) * REDIS_CLUSTER_HASH_SLOTS // count
    )


def tag_for(stem: str, index: int, count: int) -> str:
    """The first tag ``<stem><index>-<k>`` whose slot lies in the partition's range."""
    wanted = slot_range(index, count)
    for k in range(_MAX_TAG_TRIES):
        tag = f"{stem}{index}-{k}"
        if key_slot(tag.encode()) in wanted:
            return tag
    raise ValueError(f"no tag found for partition {index} of {count}")  # pragma: no cover


def check_count(count: int) -> None:
    """Refuse a partition count no cluster can spread."""
    if not 1 <= count <= REDIS_CLUSTER_HASH_SLOTS:
        raise ValueError(f"partitions must be 1..{REDIS_CLUSTER_HASH_SLOTS}")


@dataclass(frozen=True)
class Spread:
    """``count`` partitions' hash tags (``<stem><i>-<k>``) and a stable hash of keys onto them."""

    count: int
    stem: str

    def __post_init__(self) -> None:
        check_count(self.count)

    @cached_property
    def tags(self) -> tuple[str, ...]:
        """Each partition's tag, by index."""
        return tuple(tag_for(self.stem, i, self.count) for i in range(self.count))

    def index_of(self, key: str) -> int:
        """The partition of ``key``: CRC-32, the same in every process."""
        return zlib.crc32(key.encode()) % self.count
