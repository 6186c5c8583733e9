"""FakeMotionStore: the MotionStore in memory, with the Redis store's semantics.

Devices claimed by the first user, at most ``max_devices`` per user; one raw entry per
(device, message id) within the dedup window, the first answer kept; records ordered by
(window end, window key). tests/integration/test_motion_store.py runs the same contract
on it and on Redis. ``put_record`` and ``put_state`` play the processor.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from services.motion.domain import (
    Activity,
    ActivityRecord,
    ActivityState,
    Device,
    DeviceOwnedByAnother,
    Features,
    IngestResult,
    RecordCursor,
    SensorMessage,
    StoreUnavailable,
    TimeRange,
    TooManyDevices,
)

HOUR_MS = 3_600_000


@dataclass
class FakeMotionStore:
    """In-memory MotionStore; set ``unavailable`` to make every call fail as an outage."""

    dedup_ms: int = 24 * HOUR_MS
    devices: dict[str, Device] = field(default_factory=dict)
    raw: list[SensorMessage] = field(default_factory=list)
    seen: dict[tuple[str, str], tuple[int, IngestResult]] = field(default_factory=dict)
    windows: dict[str, dict[str, ActivityRecord]] = field(default_factory=dict)
    states: dict[str, ActivityState] = field(default_factory=dict)
    unavailable: bool = False

    def _check(self) -> None:
        if self.unavailable:
            raise StoreUnavailable("the fake store is down")

    def claim_device(self, user_id: str, device_id: str, max_devices: int, now_ms: int) -> Device:
        """The device, claimed for the user if nobody owns it."""
        self._check()
        device = self.devices.get(device_id)
        if device is None:
            if len(self.devices_of(user_id)) >= max_devices:
                raise TooManyDevices(f"a user may own at most {max_devices} devices")
            device = self.devices[device_id] = Device(device_id, user_id, now_ms)
        if device.user_id != user_id:
            raise DeviceOwnedByAnother(f"device {device_id} belongs to another user")
        return device

    def append(self, message: SensorMessage, result: IngestResult, now_ms: int) -> IngestResult:
        """One entry per (device, message id) within the dedup window."""
        self._check()
        key = (message.device_id, message.message_id)
        if key in self.seen and self.seen[key][0] > now_ms:
            return replace(self.seen[key][1], duplicate=True)
        self.raw.append(message)
        self.seen[key] = (now_ms + self.dedup_ms, result)
        return result

    def device(self, device_id: str) -> Device | None:
        """The device, or None."""
        self._check()
        return self.devices.get(device_id)

    def devices_of(self, user_id: str) -> list[Device]:
        """The user's devices, most recently first seen first."""
        self._check()
        mine = [d for d in self.devices.values() if d.user_id == user_id]
        return sorted(mine, key=lambda d: (-d.first_seen_ms, d.device_id))

    def current(self, device_id: str) -> ActivityState | None:
        """The device's state, or None."""
        self._check()
        return self.states.get(device_id)

    def records(
        self, device_id: str, window_ends: TimeRange, after: RecordCursor | None, limit: int
    ) -> list[ActivityRecord]:
        """Records by (window end, key) after the cursor, window end in the range."""
        self._check()
        ordered = sorted(
            self.windows.get(device_id, {}).values(), key=lambda r: (r.window_end_ms, r.window_key)
        )
        found = [
            r
            for r in ordered
            if window_ends.start_ms <= r.window_end_ms < window_ends.end_ms
            and (
                after is None
                or (r.window_end_ms, r.window_key) > (after.window_end_ms, after.window_key)
            )
        ]
        return found[:limit]

    def put_record(self, record: ActivityRecord) -> None:
        """What the processor does for a classified window."""
        self.windows.setdefault(record.device_id, {})[record.window_key] = record

    def put_state(self, state: ActivityState) -> None:
        """What the processor does for a device's latest window."""
        self.states[state.device_id] = state


def a_record(
    start_ms: int,
    activity: Activity = Activity.WALKING,
    *,
    device_id: str = "phone-1",
    user_id: str = "u1",
    session_id: str = "s1",
    window_ms: int = 5000,
    slide_ms: int = 2500,
    confidence: float = 0.9,
) -> ActivityRecord:
    """A record of the window starting at ``start_ms``, owning its first slide."""
    features = Features(
        magnitude=9.9,
        dynamic_rms=1.5,
        cadence_hz=1.8,
        periodicity=0.7,
        rate_hz=50.0,
        samples=window_ms // 20,
        coverage=1.0,
    )
    return ActivityRecord(
        device_id=device_id,
        user_id=user_id,
        session_id=session_id,
        message_id=f"m-{start_ms}",
        window_start_ms=start_ms,
        window_end_ms=start_ms + window_ms,
        owned_start_ms=start_ms,
        owned_end_ms=start_ms + slide_ms,
        features=features,
        activity=activity,
        confidence=confidence,
    )
