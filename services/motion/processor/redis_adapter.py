"""The processor's store on Redis (one node or a cluster): leases, the group, emission."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from redis.exceptions import ResponseError

from services.common.redis import BlockingClient, publish_blocking
from services.common.streams import ConsumerGroup
from services.motion import keys
from services.motion.domain import ActivityRecord, ActivityState
from services.motion.keys import Partition
from services.motion.processor import scripts
from services.motion.processor.ports import Emitted, RawEntry
from services.motion.records import encode_record, state_fields

GROUP = "processor"
TRIM_BOUND = 100  # expired records dropped per device per emission: each call stays short
# A quiet device's windows, index and state expire this long after the retention (wall time).
KEY_TTL_MARGIN_MS = 3_600_000
# Heartbeats older than this many lease periods are removed (workers long gone).
FORGET_BEATS_AFTER_LEASES = 10


class RedisProcessorStore:
    """One worker's view of the store; ``consumer`` names it in the processor group."""

    def __init__(
        self,
        client: BlockingClient,
        consumer: str,
        *,
        processed_max_length: int = 1_000_000,
        retention_ms: int = 48 * 3_600_000,
        continuity_ms: int = 2_500,
        group: str = GROUP,
    ) -> None:
        self.client = client
        self.consumer = consumer
        self.processed_max_length = processed_max_length
        self.retention_ms = retention_ms
        self.continuity_ms = continuity_ms  # the slide: a later window this close continues
        self.group = ConsumerGroup(
            client,
            group,
            consumer,
            dead_letter_key=keys.dead_letters,
            claim_idle_ms=0,  # the lease is exclusive: whatever is pending is ours to redo
            max_deliveries=1_000_000,
        )
        self._renew: Any = client.register_script(scripts.RENEW)
        self._release: Any = client.register_script(scripts.RELEASE)
        self._emit: Any = client.register_script(scripts.EMIT)
        self._read: Any = client.register_script(scripts.READ)
        self._claim: Any = client.register_script(scripts.CLAIM)

    def beat(self, worker: str, now_ms: int, live_ms: int) -> int:
        """ZADD the beat, drop long-dead workers, count the live ones."""
        self.client.zadd(keys.WORKERS, {worker: now_ms})
        forget = now_ms - FORGET_BEATS_AFTER_LEASES * live_ms
        self.client.zremrangebyscore(keys.WORKERS, "-inf", f"({forget}")
        return int(self.client.zcount(keys.WORKERS, now_ms - live_ms, "+inf"))

    def acquire(self, part: Partition, token: str, lease_ms: int) -> bool:
        """SET NX PX."""
        return bool(self.client.set(part.lease, token, nx=True, px=lease_ms))

    def renew(self, part: Partition, token: str, lease_ms: int) -> bool:
        """Check-and-PEXPIRE."""
        return bool(self._renew(keys=[part.lease], args=[token, lease_ms]))

    def release(self, part: Partition, token: str) -> None:
        """Check-and-DEL."""
        self._release(keys=[part.lease], args=[token])

    def claim_pending(
        self, part: Partition, token: str, count: int, start: str
    ) -> tuple[list[RawEntry], str] | None:
        """One fenced XAUTOCLAIM, min-idle 0, of up to ``count`` entries from ``start``."""
        self.group.ensure(part.raw)
        args = [token, self.group.group, self.consumer, start, count]
        reply: Any = self._claim(keys=[part.lease, part.raw], args=args)
        if not isinstance(reply, list):
            return None
        return _entries(reply[1]), str(reply[0])

    def read_new(self, part: Partition, token: str, count: int) -> list[RawEntry] | None:
        """Fenced XREADGROUP ">" (no BLOCK); creates the group if the stream lost it."""
        args = [token, self.group.group, self.consumer, count]
        try:
            text: Any = self._read(keys=[part.lease, part.raw], args=args)
        except ResponseError as error:
            if "NOGROUP" not in str(error):
                raise
            self.group.ensure(part.raw)
            text = self._read(keys=[part.lease, part.raw], args=args)
        return _entries(text) if isinstance(text, list) else None

    def emit(
        self, part: Partition, token: str, records: Sequence[ActivityRecord], now_ms: int
    ) -> list[Emitted] | None:
        """One EMIT call for every record (all of one partition's slot)."""
        if not records:
            return []
        keys_: list[str] = [part.lease, part.processed]
        ttl = self.retention_ms + KEY_TTL_MARGIN_MS
        args: list[Any] = [
            token,
            self.processed_max_length,
            now_ms - self.retention_ms,
            TRIM_BOUND,
            self.continuity_ms,
            ttl,
        ]
        for record in records:
            device = record.device_id
            keys_ += [part.windows(device), part.window_ends(device), part.state(device)]
            args += _window_args(record)
        reply = self._emit(keys=keys_, args=args)
        if not isinstance(reply, list):
            return None
        return [Emitted(int(outcome)) for outcome in reply]

    def publish(self, channel: str, message: str) -> None:
        """PUBLISH (SPUBLISH on a cluster)."""
        publish_blocking(self.client, channel, message)

    def ack(self, part: Partition, entry_ids: Sequence[str]) -> int:
        """XACK."""
        return self.group.ack(part.raw, entry_ids)

    def dead_letter(self, part: Partition, entry_ids: Sequence[str], reason: str) -> int:
        """To ``<raw>:dead``, acked."""
        return self.group.dead_letter(part.raw, entry_ids, reason)

    def lag(self, part: Partition) -> int | None:
        """The group's lag as XINFO GROUPS reports it (Redis 7; None before, or unknown)."""
        try:
            groups: Any = self.client.xinfo_groups(part.raw)
        except ResponseError as error:
            if "no such key" not in str(error):
                raise
            return 0
        for group in groups:
            if group["name"] == self.group.group and group.get("lag") is not None:
                return int(group["lag"])
        return None


def _window_args(record: ActivityRecord) -> list[Any]:
    """The six EMIT arguments of one window (the state in ``records.state_fields`` form)."""
    state = state_fields(
        ActivityState(
            record.device_id,
            record.activity,
            record.confidence,
            record.owned_start_ms,
            record.window_end_ms,
        )
    )
    return [
        record.window_key,
        encode_record(record),
        state["window_end_ms"],
        state["activity"],
        state["confidence"],
        state["since_ms"],
    ]


def _entries(rows: Any) -> list[RawEntry]:
    """Stream entries as the scripts encode them: ``[[id, [field, value, ...]], ...]``."""
    found = []
    for row in rows:
        if isinstance(row, list) and len(row) == 2 and isinstance(row[1], list):
            flat = row[1]
            found.append(RawEntry(str(row[0]), dict(zip(flat[::2], flat[1::2], strict=True))))
    return found
