"""The storage port of the motion service (the processor's is processor/ports.py)."""

from __future__ import annotations

from typing import Protocol

from services.motion.domain import (
    ActivityRecord,
    ActivityState,
    Device,
    IngestResult,
    RecordCursor,
    SensorMessage,
    TimeRange,
)


class MotionStore(Protocol):
    """Devices, raw messages and what the processor recognised (Redis; a fake in unit tests)."""

    def claim_device(self, user_id: str, device_id: str, max_devices: int, now_ms: int) -> Device:
        """The device, claimed for ``user_id`` if nobody owns it yet.

        Raises DeviceOwnedByAnother if another user owns it, TooManyDevices if claiming it
        would give the user more than ``max_devices``, StoreUnavailable if Redis fails.
        """
        ...

    def append(self, message: SensorMessage, result: IngestResult, now_ms: int) -> IngestResult:
        """Store the message's (valid) readings as one raw-stream entry, with its answer.

        If the device already sent this message id (within the dedup window), store
        nothing and return the first answer with ``duplicate`` set.
        """
        ...

    def device(self, device_id: str) -> Device | None:
        """The device and its owner, or None if it never sent a message."""
        ...

    def devices_of(self, user_id: str) -> list[Device]:
        """The user's devices, most recently first seen first."""
        ...

    def current(self, device_id: str) -> ActivityState | None:
        """The device's latest recognised activity; None before any window."""
        ...

    def records(
        self, device_id: str, window_ends: TimeRange, after: RecordCursor | None, limit: int
    ) -> list[ActivityRecord]:
        """Up to ``limit`` records whose window end is in the range, after the cursor,
        ordered by (window end, window key)."""
        ...
