"""Recordings as a phone would send them, one session each, with their labelled stretches.

stm32 recordings are one stretch each; a HAPT experiment is one person's whole recording,
sent as one session: its labelled stretches, postural transitions and unlabelled parts in
between (those count for nothing). Pure.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from bench.motion_eval import hapt
from bench.motion_eval.recordings import FloatArray, G, Recording, uniform_timestamps
from services.motion.domain import Activity


@dataclass(frozen=True)
class Stretch:
    """[start, end) in the recording's ms; ``label`` None: a transition or unlabelled."""

    start_ms: int
    end_ms: int
    label: Activity | None


@dataclass(frozen=True)
class Labelled:
    """One recording to replay as one session, and what its stretches are."""

    recording: Recording
    stretches: tuple[Stretch, ...]

    @property
    def group(self) -> str:
        """The unit a split keeps together (the recording, or the person)."""
        return self.recording.group

    @property
    def span(self) -> tuple[int, int]:
        """[first, last + 1) of its timestamps."""
        times = self.recording.timestamps_ms
        return int(times[0]), int(times[-1]) + 1

    def varied(self, variant: Callable[[Recording], Recording]) -> Labelled:
        """The same session as another device would have sent it (stretches clipped to it)."""
        varied = whole(variant(self.recording))
        first, end = varied.span
        stretches = (
            replace(s, start_ms=max(s.start_ms, first), end_ms=min(s.end_ms, end))
            for s in self.stretches
        )
        kept = tuple(s for s in stretches if s.end_ms > s.start_ms)
        return Labelled(varied.recording, kept)


def whole(recording: Recording) -> Labelled:
    """A recording of one activity: one stretch over all of it."""
    times = recording.timestamps_ms
    return Labelled(recording, (Stretch(int(times[0]), int(times[-1]) + 1, recording.label),))


def hapt_experiment(person: int, k: int, frame: Any) -> Labelled:
    """One HAPT experiment: its samples from 0 ms, each run of one label a stretch."""
    cols = hapt.columns(frame)
    xyz: FloatArray = np.column_stack([cols[a] for a in hapt.AXES]).astype(np.float64) * G
    times = uniform_timestamps(len(xyz), hapt.RATE_HZ)
    group = f"person{person:02d}"
    recording = Recording("hapt", f"hapt-{group}-e{k}", group, Activity.UNKNOWN, times, xyz)
    return Labelled(recording, tuple(_stretches(cols["label"], times)))


def _stretches(labels: np.ndarray[Any, Any], times: np.ndarray[Any, Any]) -> Iterator[Stretch]:
    """Every run of one HAPT label, kept labels mapped to activities, others None."""
    edges = np.flatnonzero(np.diff(labels)) + 1
    starts, ends = np.r_[0, edges], np.r_[edges, len(labels)]
    step = round(1000 / hapt.RATE_HZ)
    for start, end in zip(starts.tolist(), ends.tolist(), strict=True):
        label = hapt.LABELS.get(int(labels[start]))
        yield Stretch(int(times[start]), int(times[end - 1]) + step, label)


def hapt_load(cache: Any = hapt.DEFAULT_CACHE) -> Iterator[Labelled]:
    """Every HAPT experiment, person by person."""
    for person, frames in sorted(hapt.read_frames(hapt.sdist(cache)).items()):
        for k, frame in enumerate(frames):
            yield hapt_experiment(person, k, frame)


def labelled_ms(sessions: Iterable[Labelled]) -> int:
    """Milliseconds labelled with an activity over the sessions."""
    return sum(s.end_ms - s.start_ms for x in sessions for s in x.stretches if s.label)
