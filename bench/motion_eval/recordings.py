"""One labelled recording, in the units the service receives (ms timestamps, m/s²)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from services.motion.domain import Activity

G = 9.80665  # m/s² per g
FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


@dataclass(frozen=True)
class Recording:
    """A stretch of one activity; ``group`` is the unit a split keeps together."""

    dataset: str
    name: str
    group: str  # the recording itself (stm32) or the person (HAPT)
    label: Activity
    timestamps_ms: IntArray  # sorted, int64
    xyz: FloatArray  # (n, 3), m/s²

    @property
    def rate_hz(self) -> float:
        """The sampling rate its timestamps imply."""
        return 1000.0 * (len(self.timestamps_ms) - 1) / float(np.ptp(self.timestamps_ms))


def uniform_timestamps(n: int, rate_hz: float, start_ms: int = 0) -> IntArray:
    """Timestamps in ms of ``n`` samples taken at ``rate_hz`` (rounded as a phone would)."""
    return start_ms + np.round(np.arange(n) * 1000.0 / rate_hz).astype(np.int64)


def read_csv(path: Path, dataset: str, rate_hz: float, to_ms2: float) -> Recording:
    """A csv of x, y, z per line (``to_ms2`` converts its unit); its folder names the label."""
    values = np.loadtxt(path, delimiter=",", dtype=np.float64, ndmin=2)
    times = uniform_timestamps(len(values), rate_hz)
    label = Activity(path.parent.name)
    return Recording(dataset, path.stem, path.stem, label, times, values * to_ms2)


def write_csv(path: Path, values: FloatArray, header: str) -> None:
    """Values one sample a line, as ``read_csv`` reads them, after a comment header."""
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savetxt(path, values, fmt="%.6g", delimiter=",", header=header)
