"""Event-time sliding windows per (device, session), closed into classified records. Pure.

Windows start on multiples of ``slide_ms`` and last ``window_ms``, so each reading is in
``window_ms / slide_ms`` of them. A session's window closes when its watermark (the
latest event time seen minus ``grace_ms``) reaches the window's end, or when the session
has been silent ``idle_timeout_ms`` of wall time (the injected clock): then every window
holding its readings closes, so a phone that stops mid-window has its last seconds
classified. A reading whose newest window is already closed is late: dropped, counted.

Readings are kept as one numpy chunk per message and sorted only when windows close, so
no Python runs per reading. A window is emitted only if its newest slide holds a reading
(the stretch it owns on the timeline, ``[end - slide, end)``, clipped to the first reading
in the window and the session's last reading); windows past the data are not emitted.

Acks: a message may be acked once every window holding its readings has closed (and the
records this call returns have been written), so after a crash the unacked messages
rebuild every window that was not yet emitted.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace

import numpy as np
import numpy.typing as npt

from services.motion import classifier
from services.motion.domain import ActivityRecord, Classification, Features

Int64Array = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]
# A window's samples (sorted by time) and its length -> what was measured and recognised.
Recognise = Callable[[Int64Array, FloatArray, int], tuple[Features, Classification]]
# A closed session's end is remembered this many idle timeouts, to drop its late readings.
FORGET_AFTER_IDLE_TIMEOUTS = 10
# A session holding more readings than this has its windows closed at once, as if idle:
# 100 Hz keeps ~600 in its open windows; timestamps that never advance would keep all.
MAX_HELD_READINGS = 20_000


def recognise(
    timestamps_ms: Int64Array, xyz: FloatArray, length_ms: int
) -> tuple[Features, Classification]:
    """The classifier's features and verdict for one window."""
    features = classifier.measure(timestamps_ms, xyz, length_ms)
    return features, classifier.classify(features)


@dataclass(frozen=True)
class WindowSpec:
    """Window length and slide, grace (event time) and idle timeout (wall time), in ms."""

    window_ms: int
    slide_ms: int
    grace_ms: int
    idle_timeout_ms: int
    # Thinner windows are not emitted (the classifier calls them unknown anyway): sparse
    # readings must not buy a record each.
    min_samples: int = classifier.DEFAULT.min_samples

    def __post_init__(self) -> None:
        if self.slide_ms <= 0 or self.window_ms % self.slide_ms:
            raise ValueError("slide_ms must be positive and divide window_ms")
        if self.grace_ms < 0 or self.idle_timeout_ms <= 0:
            raise ValueError("grace_ms must be >= 0 and idle_timeout_ms > 0")

    def last_end(self, timestamp_ms: int) -> int:
        """The end of the latest window holding ``timestamp_ms``."""
        return (timestamp_ms // self.slide_ms) * self.slide_ms + self.window_ms

    def newest_end(self, timestamps_ms: Int64Array) -> Int64Array:
        """The end of the latest window holding each timestamp."""
        return (timestamps_ms // self.slide_ms) * self.slide_ms + self.window_ms


@dataclass(frozen=True)
class Chunk:
    """One raw entry's accelerometer readings (m/s²), in the order the message held them."""

    entry_id: str
    user_id: str
    device_id: str
    session_id: str
    message_id: str
    timestamps_ms: Int64Array
    xyz: FloatArray  # shape (n, 3)


@dataclass(frozen=True)
class Closed:
    """Records of windows that closed, and the entries to ack once they are written."""

    records: tuple[ActivityRecord, ...]
    ackable: tuple[str, ...]


@dataclass
class _Held:
    """A chunk's readings still needed by an open window; ``last_end``: its last window."""

    chunk: Chunk
    seq: int
    last_end: int


@dataclass
class _Session:
    """One (device, session): the readings it holds, its watermark and what has closed."""

    user_id: str
    last_wall_ms: int
    max_ts: int = -(2**62)
    closed_until: int | None = None  # every window ending at or before this has closed
    held: list[_Held] = field(default_factory=list)
    held_readings: int = 0
    emitted: bool = False  # a window of it was emitted: later ones own their newest slide


class WindowEngine:
    """The open windows of every session of one partition."""

    def __init__(self, spec: WindowSpec, recognise_window: Recognise = recognise) -> None:
        self.spec = spec
        self.recognise = recognise_window
        self.sessions: dict[tuple[str, str], _Session] = {}
        self.late_dropped = 0
        self._ready: list[str] = []  # entries ackable as soon as earlier records are written
        self._seq = 0

    def add(self, chunk: Chunk, wall_ms: int) -> int:
        """Take one entry's readings (entries in stream order); how many were late."""
        self._seq += 1
        key = (chunk.device_id, chunk.session_id)
        session = self.sessions.get(key)
        if len(chunk.timestamps_ms) == 0:
            self._ready.append(chunk.entry_id)
            return 0
        if session is None:
            session = self.sessions[key] = _Session(chunk.user_id, wall_ms)
        session.last_wall_ms = wall_ms
        kept, late = self._on_time(session, chunk)
        self.late_dropped += late
        if kept is None:
            self._ready.append(chunk.entry_id)
            return late
        last = int(kept.timestamps_ms.max())
        session.max_ts = max(session.max_ts, last)
        session.held.append(_Held(kept, self._seq, self.spec.last_end(last)))
        session.held_readings += len(kept.timestamps_ms)
        return late

    def _on_time(self, session: _Session, chunk: Chunk) -> tuple[Chunk | None, int]:
        """The chunk without its late readings (None if all were), and how many were late."""
        closed = session.closed_until
        if closed is None or self.spec.last_end(int(chunk.timestamps_ms.min())) > closed:
            return chunk, 0
        keep = self.spec.newest_end(chunk.timestamps_ms) > closed
        kept = int(keep.sum())
        late = len(keep) - kept
        if kept == 0:
            return None, late
        if late == 0:
            return chunk, 0
        return _select(chunk, keep), late

    def close_due(self, wall_ms: int, caught_up: bool = True) -> Closed:
        """Close every window whose watermark or idle timeout has come; forget old sessions.

        Unless ``caught_up`` (the reader has read everything there is), no session is idle:
        a backlog's silence is the reader's, not the phone's, and closing its windows early
        would drop its readings still queued as late.
        """
        records: list[ActivityRecord] = []
        forget_after = FORGET_AFTER_IDLE_TIMEOUTS * self.spec.idle_timeout_ms
        for key, session in list(self.sessions.items()):
            idle = wall_ms - session.last_wall_ms if caught_up else 0
            if session.held:
                full = session.held_readings > MAX_HELD_READINGS
                records.extend(self._close(key, session, full or idle >= self.spec.idle_timeout_ms))
            elif idle >= forget_after:
                del self.sessions[key]
        ready, self._ready = tuple(self._ready), []
        return Closed(tuple(records), ready)

    def _close(self, key: tuple[str, str], session: _Session, idle: bool) -> list[ActivityRecord]:
        """Close the session's due windows, release the chunks no open window needs."""
        spec = self.spec
        if idle:
            limit = spec.last_end(session.max_ts)
        else:
            limit = ((session.max_ts - spec.grace_ms) // spec.slide_ms) * spec.slide_ms
        if session.closed_until is not None and limit <= session.closed_until:
            return []
        records = self._records(key, session, limit)
        session.closed_until = limit
        still = [h for h in session.held if h.last_end > limit]
        self._ready.extend(h.chunk.entry_id for h in session.held if h.last_end <= limit)
        session.held = still
        session.held_readings = sum(len(h.chunk.timestamps_ms) for h in still)
        return records

    def _records(self, key: tuple[str, str], session: _Session, limit: int) -> list[ActivityRecord]:
        """Records of the windows ending in (closed_until, limit] whose newest slide has data."""
        spec = self.spec
        ts = np.concatenate([h.chunk.timestamps_ms for h in session.held])
        xyz = np.concatenate([h.chunk.xyz for h in session.held])
        sizes = [len(h.chunk.timestamps_ms) for h in session.held]
        seq = np.repeat(np.array([h.seq for h in session.held]), sizes)
        order = np.argsort(ts, kind="stable")
        ts, xyz, seq = ts[order], xyz[order], seq[order]
        ends = np.unique((ts // spec.slide_ms) * spec.slide_ms + spec.slide_ms)
        low = -(2**62) if session.closed_until is None else session.closed_until
        ends = ends[(ends > low) & (ends <= limit)]
        messages = {h.seq: h.chunk.message_id for h in session.held}
        starts = np.searchsorted(ts, ends - spec.window_ms, side="left")
        stops = np.searchsorted(ts, ends, side="left")
        thick = stops - starts >= spec.min_samples
        ends, starts, stops = ends[thick], starts[thick], stops[thick]
        records = [
            self._record(key, session, int(end), ts[a:b], xyz[a:b], messages[int(seq[a:b].max())])
            for end, a, b in zip(ends, starts, stops, strict=True)
        ]
        if records and not session.emitted:
            # The session's first window owns back to its first reading: the thin windows
            # before it were not emitted, and their seconds must not fall out of the timeline.
            records[0] = replace(records[0], owned_start_ms=int(ts[starts[0]]))
            session.emitted = True
        return records

    def _record(
        self,
        key: tuple[str, str],
        session: _Session,
        end: int,
        ts: Int64Array,
        xyz: FloatArray,
        message_id: str,
    ) -> ActivityRecord:
        """One closed window's record."""
        spec = self.spec
        features, verdict = self.recognise(ts, xyz, spec.window_ms)
        return ActivityRecord(
            device_id=key[0],
            user_id=session.user_id,
            session_id=key[1],
            message_id=message_id,
            window_start_ms=end - spec.window_ms,
            window_end_ms=end,
            owned_start_ms=max(end - spec.slide_ms, int(ts[0])),
            owned_end_ms=min(end, session.max_ts + 1),
            features=features,
            activity=verdict.activity,
            confidence=verdict.confidence,
        )

    def pending_entries(self) -> int:
        """How many entries the open windows still hold (unackable yet)."""
        return sum(len(s.held) for s in self.sessions.values())


def _select(chunk: Chunk, keep: npt.NDArray[np.bool_]) -> Chunk:
    """The chunk with only the readings ``keep`` marks."""
    return Chunk(
        chunk.entry_id,
        chunk.user_id,
        chunk.device_id,
        chunk.session_id,
        chunk.message_id,
        chunk.timestamps_ms[keep],
        chunk.xyz[keep],
    )
