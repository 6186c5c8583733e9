"""A recording cut into the processor's windows, and the features of each."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import numpy as np

from bench.motion_eval.recordings import FloatArray, IntArray, Recording
from services.motion.classifier import measure
from services.motion.domain import Activity, Features

LENGTH_MS = 5000
SLIDE_MS = 2500


@dataclass(frozen=True)
class Window:
    """One window's label, the split unit it belongs to, and what was measured."""

    label: Activity
    group: str
    features: Features


def cut(
    recording: Recording, length_ms: int = LENGTH_MS, slide_ms: int = SLIDE_MS
) -> Iterator[tuple[IntArray, FloatArray]]:
    """The full windows [start, start + length) of a recording, sliding by ``slide_ms``."""
    times = recording.timestamps_ms
    first, last = int(times[0]), int(times[-1])
    for start in range(first, last - length_ms + 2, slide_ms):
        lo, hi = np.searchsorted(times, [start, start + length_ms])
        yield times[lo:hi], recording.xyz[lo:hi]


def measure_all(
    recordings: Iterable[Recording], length_ms: int = LENGTH_MS, kept_ms: int | None = None
) -> list[Window]:
    """Every window of every recording, measured; ``kept_ms``: only its first samples."""
    return [
        Window(r.label, r.group, measure(times[:n], xyz[:n], length_ms))
        for r in recordings
        for times, xyz in cut(r, length_ms)
        for n in [_kept(times, kept_ms)]
    ]


def _kept(times: IntArray, kept_ms: int | None) -> int:
    """How many samples fall within ``kept_ms`` of the window's first one (all if None)."""
    if kept_ms is None or not len(times):
        return len(times)
    return int(np.searchsorted(times, times[0] + kept_ms))
