"""RedisMotionStore: device claims, deduplicated appends, and reads of what was recognised.

A device's keys live in its partition's slot, a user's device list in the user's: on a
cluster they are different slots, so claiming a new device is two scripts, not one. The
list is reserved first (a count-and-add script that never overfills it), then the device
is claimed (set-if-absent); a claim lost to another user takes its reservation back. A
crash between the two leaves a listed device nobody owns: it is hidden from the list,
and pruned once it is older than PRUNE_GRACE_MS when the list is full, so it costs at
most a place for that long and never lets a user exceed the bound.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from functools import partial
from typing import Any, cast

from services.common.redis import BlockingClient, outage_as
from services.motion import entries, records
from services.motion.config import MotionSettings
from services.motion.domain import (
    ActivityRecord,
    ActivityState,
    Device,
    DeviceOwnedByAnother,
    IngestResult,
    ReadingRejection,
    RecordCursor,
    SensorMessage,
    StoreUnavailable,
    TimeRange,
    TooManyDevices,
)
from services.motion.keys import Partitions
from services.motion.redis_store import scripts

log = logging.getLogger(__name__)
HOUR_MS = 3_600_000
# A reservation younger than this may be a claim still running: never pruned.
PRUNE_GRACE_MS = 60_000


# Every Redis failure inside becomes the domain's StoreUnavailable.
_outage = partial(outage_as, StoreUnavailable)


def encode_answer(result: IngestResult) -> str:
    """The first answer of a message, as its dedup key keeps it."""
    rejected = [[r.index, r.reason] for r in result.rejected]
    return json.dumps({"a": result.accepted, "r": rejected}, separators=(",", ":"))


def decode_answer(text: str) -> IngestResult:
    """The answer ``encode_answer`` kept, marked as a duplicate."""
    raw = json.loads(text)
    rejected = tuple(ReadingRejection(int(i), str(reason)) for i, reason in raw["r"])
    return IngestResult(int(raw["a"]), True, rejected)


class RedisMotionStore:
    """The MotionStore on Redis: P partitions, one hash tag each."""

    def __init__(
        self,
        client: BlockingClient,
        *,
        partitions: int = 16,
        dedup_ms: int = 24 * HOUR_MS,
        raw_retention_ms: int = 24 * HOUR_MS,
    ) -> None:
        self.client = client
        self.partitions = Partitions(partitions)
        self.dedup_ms = max(1, dedup_ms)
        self.raw_retention_ms = raw_retention_ms
        self._append: Any = client.register_script(scripts.APPEND)
        self._reserve: Any = client.register_script(scripts.RESERVE)
        self._claim: Any = client.register_script(scripts.CLAIM)

    @classmethod
    def from_settings(cls, client: BlockingClient, settings: MotionSettings) -> RedisMotionStore:
        """The store the service's settings describe."""
        # A reading may be up to the skew ahead, so a message stays acceptable for age +
        # skew after its ingest: its id must be remembered that long.
        dedup = settings.max_reading_age_hours * HOUR_MS + settings.max_clock_skew_seconds * 1000
        return cls(
            client,
            partitions=settings.partitions,
            dedup_ms=int(dedup),
            raw_retention_ms=int(settings.raw_retention_hours * HOUR_MS),
        )

    def claim_device(self, user_id: str, device_id: str, max_devices: int, now_ms: int) -> Device:
        """The device, claimed for the user if nobody owns it (see the module's docstring)."""
        known = self.device(device_id)
        if known is not None:
            return _owned_by(known, user_id)
        with _outage("claiming the device"):
            if not self._reserved(user_id, device_id, max_devices, now_ms):
                raise TooManyDevices(f"a user may own at most {max_devices} devices")
            owner, first_seen = self._claim(
                keys=[self.partitions.of_device(device_id).device(device_id)],
                args=[user_id, now_ms],
            )
            if owner != user_id:
                self.client.zrem(self.partitions.of_user(user_id).devices_of(user_id), device_id)
        return _owned_by(Device(device_id, str(owner), int(first_seen)), user_id)

    def _reserved(self, user_id: str, device_id: str, max_devices: int, now_ms: int) -> bool:
        key = self.partitions.of_user(user_id).devices_of(user_id)
        if self._reserve(keys=[key], args=[device_id, now_ms, max_devices]):
            return True
        return self._pruned(user_id, now_ms) and bool(
            self._reserve(keys=[key], args=[device_id, now_ms, max_devices])
        )

    def _pruned(self, user_id: str, now_ms: int) -> bool:
        """Drop listed devices the user does not own (a claim that died or was lost)."""
        key = self.partitions.of_user(user_id).devices_of(user_id)
        listed = _strings(self.client.zrangebyscore(key, "-inf", now_ms - PRUNE_GRACE_MS))
        owners = self._owners(listed)
        stale = [d for d, owner in owners.items() if owner is None or owner.user_id != user_id]
        if stale:
            self.client.zrem(key, *stale)
        return bool(stale)

    def _owners(self, device_ids: Sequence[str]) -> dict[str, Device | None]:
        pipe = self.client.pipeline(transaction=False)
        for device_id in device_ids:
            pipe.hgetall(self.partitions.of_device(device_id).device(device_id))
        return {d: _device(d, h) for d, h in zip(device_ids, pipe.execute(), strict=True)}

    def append(self, message: SensorMessage, result: IngestResult, now_ms: int) -> IngestResult:
        """One entry per message id: a retry gets the first answer, marked duplicate."""
        part = self.partitions.of_device(message.device_id)
        fields = entries.encode_message(message, now_ms)
        args: list[str | int] = [
            max(0, now_ms - self.raw_retention_ms),
            self.dedup_ms,
            encode_answer(result),
            *(item for pair in fields.items() for item in pair),
        ]
        keys = [part.seen(message.device_id, message.message_id), part.raw]
        with _outage("storing the message"):
            first = self._append(keys=keys, args=args)
        return result if first is None else decode_answer(first)

    def device(self, device_id: str) -> Device | None:
        """The device and its owner, or None."""
        with _outage("reading the device"):
            fields: Any = self.client.hgetall(
                self.partitions.of_device(device_id).device(device_id)
            )
        return _device(device_id, fields)

    def devices_of(self, user_id: str) -> list[Device]:
        """The user's devices (those he really owns), most recently first seen first."""
        key = self.partitions.of_user(user_id).devices_of(user_id)
        with _outage("listing devices"):
            owners = self._owners(_strings(self.client.zrange(key, 0, -1)))
        mine = [d for d in owners.values() if d is not None and d.user_id == user_id]
        return sorted(mine, key=lambda d: (-d.first_seen_ms, d.device_id))

    def current(self, device_id: str) -> ActivityState | None:
        """The state the processor keeps, or None before any window."""
        with _outage("reading the current activity"):
            fields: Any = self.client.hgetall(self.partitions.of_device(device_id).state(device_id))
        if not fields:
            return None
        try:
            return records.decode_state(device_id, fields)
        except (KeyError, ValueError):
            log.warning("unreadable activity state", extra={"device_id": device_id})
            return None

    def records(
        self, device_id: str, window_ends: TimeRange, after: RecordCursor | None, limit: int
    ) -> list[ActivityRecord]:
        """Up to ``limit`` records by (window end, key) after the cursor, within the range."""
        found: list[ActivityRecord] = []
        with _outage("reading records"):
            # A window whose record has expired is skipped: read on until the page is full.
            while len(found) < limit:
                wanted = limit - len(found)
                keys = self._window_keys(device_id, window_ends, after, wanted)
                found.extend(self._decoded(device_id, [key for key, _ in keys]))
                if len(keys) < wanted:
                    break
                after = RecordCursor(keys[-1][1], keys[-1][0])
        return found

    def _window_keys(
        self, device_id: str, ends: TimeRange, after: RecordCursor | None, limit: int
    ) -> list[tuple[str, int]]:
        """(window key, end) of the next ``limit`` windows after the cursor, in order."""
        index = self.partitions.of_device(device_id).window_ends(device_id)
        high = f"({ends.end_ms}"
        if after is None or after.window_end_ms < ends.start_ms:
            rows: Any = self.client.zrangebyscore(
                index, ends.start_ms, high, start=0, num=limit, withscores=True
            )
            return [(str(key), int(score)) for key, score in rows]
        if after.window_end_ms >= ends.end_ms:  # a token from a longer range: nothing is left
            return []
        pipe = self.client.pipeline(transaction=False)
        pipe.zrangebyscore(index, after.window_end_ms, after.window_end_ms, withscores=True)
        pipe.zrangebyscore(
            index, f"({after.window_end_ms}", high, start=0, num=limit, withscores=True
        )
        same, later = cast(list[Any], pipe.execute())
        rows = [row for row in same if str(row[0]) > after.window_key] + list(later)
        return [(str(key), int(score)) for key, score in rows[:limit]]

    def _decoded(self, device_id: str, keys: list[str]) -> list[ActivityRecord]:
        if not keys:
            return []  # HMGET of no field is an error
        texts: Any = self.client.hmget(
            self.partitions.of_device(device_id).windows(device_id), keys
        )
        found = []
        for key, text in zip(keys, texts, strict=True):
            if text is None:
                continue  # expired between the index and the hash: gone
            try:
                found.append(records.decode_record(text))
            except (KeyError, ValueError, TypeError):
                log.warning("unreadable record", extra={"device_id": device_id, "key": key})
        return found


def _strings(reply: Any) -> list[str]:
    """A reply of member names (the client decodes responses)."""
    return [str(item) for item in reply]


def _device(device_id: str, fields: dict[str, str]) -> Device | None:
    if not fields or "owner" not in fields:
        return None
    return Device(device_id, fields["owner"], int(fields.get("first_seen", 0)))


def _owned_by(device: Device, user_id: str) -> Device:
    if device.user_id != user_id:
        raise DeviceOwnedByAnother(f"device {device.device_id} belongs to another user")
    return device
