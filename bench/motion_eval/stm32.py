"""The stm32-har recordings: 26 Hz, mg, gravity included, one activity per csv file."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np

from bench.motion_eval.recordings import G, Recording, uniform_timestamps
from services.motion.domain import Activity

RATE_HZ = 26.0
DEFAULT_ROOT = Path(__file__).resolve().parents[2] / ".." / "shared" / "datasets" / "stm32-har"
LABELS = {a.value: a for a in (Activity.STATIONARY, Activity.WALKING, Activity.RUNNING)}


def read_csv(path: Path) -> Recording:
    """One csv file (x, y, z in mg per line); its folder names the activity."""
    mg = np.loadtxt(path, delimiter=",", dtype=np.float64, ndmin=2)
    label = LABELS[path.parent.name]
    times = uniform_timestamps(len(mg), RATE_HZ)
    return Recording("stm32", path.stem, path.stem, label, times, mg * (G / 1000.0))


def load(root: Path = DEFAULT_ROOT) -> Iterator[Recording]:
    """Every recording under ``root``, in a stable order."""
    for folder in sorted(LABELS):
        for path in sorted((root / folder).glob("*.csv")):
            yield read_csv(path)
