"""Redis Streams consumer groups for any service: create, read, take over, dead-letter, ack.

Blocking (redis-py's ``Redis`` or ``RedisCluster``): consumers run on their own threads.
Reads never BLOCK: a consumer polls and pauses when a round found nothing. (If BLOCK is
ever used, the client's socket timeout must exceed it, or every idle read is an error.)
On a cluster every call names one stream, so it goes to the one node that owns it.

An entry is delivered to one consumer; if that consumer dies before acking, the entry
stays pending and, once idle ``claim_idle_ms``, another consumer takes it over
(XAUTOCLAIM). An entry delivered ``max_deliveries`` times without an ack is moved to a
dead-letter stream (which must share the stream's hash tag: one script moves it) and
acked, so one poison entry cannot stall the group.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from redis.exceptions import ResponseError

from services.common.redis import BlockingClient

T = TypeVar("T")

# Moves entries to the dead-letter stream and acks them; only an entry this call acks (XACK
# returns 1) is moved, so two consumers dead-lettering the same entry move it once. An
# entry already trimmed from the stream is only acked.
# KEYS: stream, dead-letter stream. ARGV: group, reason, max dead-letter length, ids...
_DEAD_LETTER = """
local moved = 0
for i = 4, #ARGV do
  local id = ARGV[i]
  local found = redis.call('XRANGE', KEYS[1], id, id)
  if redis.call('XACK', KEYS[1], ARGV[1], id) == 1 and #found > 0 then
    local fields = {'dead_origin_id', id, 'dead_reason', ARGV[2]}
    for _, value in ipairs(found[1][2]) do fields[#fields + 1] = value end
    redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[3], '*', unpack(fields))
    moved = moved + 1
  end
end
return moved
"""


@dataclass(frozen=True)
class Delivery:
    """One entry handed to a consumer; ``deliveries`` counts this one."""

    stream: str
    entry_id: str
    fields: Mapping[str, str]
    deliveries: int


@dataclass
class ConsumerGroup:
    """One consumer of one group, over any number of streams."""

    client: BlockingClient
    group: str
    consumer: str
    dead_letter_key: Callable[[str], str]  # the dead-letter stream of a stream
    claim_idle_ms: int
    max_deliveries: int
    dead_letter_max: int = 100_000
    _claim_from: dict[str, str] = field(default_factory=dict, init=False, repr=False)
    _script: Any = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        self._script = self.client.register_script(_DEAD_LETTER)

    def ensure(self, stream: str) -> None:
        """Create the group (and the stream) at id 0 unless it exists: it sees every entry."""
        try:
            self.client.xgroup_create(stream, self.group, id="0", mkstream=True)
        except ResponseError as error:
            if "BUSYGROUP" not in str(error):
                raise

    def _with_group(self, stream: str, call: Callable[[], T]) -> T:
        """Run ``call``; if the group is missing (the stream was deleted), create it, rerun."""
        try:
            return call()
        except ResponseError as error:
            if "NOGROUP" not in str(error):
                raise
            self.ensure(stream)
            return call()

    def read_new(self, stream: str, count: int) -> list[Delivery]:
        """Up to ``count`` entries never delivered to this group (creating it if missing)."""
        reply = self._with_group(stream, lambda: self._read(stream, count))
        return [
            Delivery(stream, entry_id, fields, 1)
            for _, entries in reply
            for entry_id, fields in entries
            if fields is not None
        ]

    def _read(self, stream: str, count: int) -> Any:
        return self.client.xreadgroup(self.group, self.consumer, {stream: ">"}, count=count)

    def take_over(self, stream: str, count: int) -> tuple[list[Delivery], int]:
        """Stale pending entries now this consumer's, and how many went to dead letters.

        Entries idle ``claim_idle_ms`` and delivered ``max_deliveries`` times are
        dead-lettered; the other idle ones are claimed (XAUTOCLAIM) to be processed again.
        """
        rows: Any = self._with_group(
            stream,
            lambda: self.client.xpending_range(
                stream, self.group, min="-", max="+", count=count, idle=self.claim_idle_ms
            ),
        )
        delivered = {str(row["message_id"]): int(row["times_delivered"]) for row in rows}
        spent = [entry for entry, times in delivered.items() if times >= self.max_deliveries]
        dead = self.dead_letter(stream, spent, "delivered too often")
        start = self._claim_from.get(stream, "0-0")
        reply = self.client.xautoclaim(
            stream, self.group, self.consumer, self.claim_idle_ms, start_id=start, count=count
        )
        self._claim_from[stream] = reply[0]  # "0-0" when the scan of the pending list wrapped
        claimed = [
            Delivery(stream, entry_id, fields, delivered.get(entry_id, 1) + 1)
            for entry_id, fields in reply[1]
            if entry_id is not None and fields is not None
        ]
        return claimed, dead

    def dead_letter(self, stream: str, entry_ids: Sequence[str], reason: str) -> int:
        """Move entries to the dead-letter stream and ack them; how many this call moved."""
        if not entry_ids:
            return 0
        keys = [stream, self.dead_letter_key(stream)]
        args = [self.group, reason, self.dead_letter_max, *entry_ids]
        return int(self._script(keys=keys, args=args))

    def forget_idle_consumers(self, stream: str, idle_ms: int) -> list[str]:
        """Drop other consumers idle ``idle_ms`` with nothing pending (dead processes' names)."""
        consumers: Any = self._with_group(
            stream, lambda: self.client.xinfo_consumers(stream, self.group)
        )
        gone = [
            str(c["name"])
            for c in consumers
            if c["name"] != self.consumer and int(c["pending"]) == 0 and int(c["idle"]) >= idle_ms
        ]
        for name in gone:
            self.client.xgroup_delconsumer(stream, self.group, name)
        return gone

    def ack(self, stream: str, entry_ids: Sequence[str]) -> int:
        """Acknowledge entries; how many were still pending (others were acked already)."""
        return int(self.client.xack(stream, self.group, *entry_ids)) if entry_ids else 0
