"""The stm32-har recordings: 26 Hz, mg, gravity included, one activity per csv file."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from bench.motion_eval.recordings import G, Recording, read_csv
from services.motion.domain import Activity

RATE_HZ = 26.0
DEFAULT_ROOT = Path(__file__).resolve().parents[2] / ".." / "shared" / "datasets" / "stm32-har"
LABELS = {a.value: a for a in (Activity.STATIONARY, Activity.WALKING, Activity.RUNNING)}


def read(path: Path) -> Recording:
    """One csv file (x, y, z in mg per line); its folder names the activity."""
    return read_csv(path, "stm32", RATE_HZ, G / 1000.0)


def load(root: Path = DEFAULT_ROOT) -> Iterator[Recording]:
    """Every recording under ``root``, in a stable order."""
    for folder in sorted(LABELS):
        for path in sorted((root / folder).glob("*.csv")):
            yield read(path)
