"""Activity from one window of accelerometer samples. Pure (numpy, no I/O).

``measure`` turns a window's samples into features that do not depend on the device:
the window's mean is removed per axis, so whether the accelerometer includes gravity does
not matter; the spread is summed over the axes, so orientation does not matter; samples
are put on a uniform grid from their timestamps, so the sampling rate does not matter.
``classify`` maps the features to an activity with a confidence.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from services.motion.domain import Activity, Classification, Features

GRID_HZ = 25.0  # features are measured on this grid whatever the device's rate
STEP_BAND_HZ = (0.8, 4.0)  # human step rates, walking to sprinting
# Two samples further apart than this (or 4 periods) are a gap, not a slow rate.
MAX_GAP_MS = 500


@dataclass(frozen=True)
class Thresholds:
    """Where one activity ends and the next begins, and how sure to be before saying so."""

    still_rms: float = 0.6  # m/s² of dynamic RMS below which the phone is still
    run_rms: float = 8.0  # m/s² of dynamic RMS above which a stepping person runs
    min_samples: int = 8
    min_coverage: float = 0.5
    min_rate_hz: float = 5.0
    min_confidence: float = 0.55  # below this the answer is UNKNOWN
    sharpness: float = 6.0  # how fast confidence rises away from a threshold (per log-unit)


DEFAULT = Thresholds()
FloatArray = npt.NDArray[np.float64]


def measure(timestamps_ms: npt.NDArray[np.int64], xyz: FloatArray, length_ms: int) -> Features:
    """Features of one window's samples (sorted by time; ``xyz`` shaped (n, 3), m/s²)."""
    n = len(timestamps_ms)
    if n < 2:
        magnitude = float(np.linalg.norm(xyz, axis=1).mean()) if n else 0.0
        return Features(magnitude, 0.0, 0.0, 0.0, 0.0, n, 0.0)
    steps = np.diff(timestamps_ms)
    typical = float(np.median(steps)) or 1.0
    gap = max(MAX_GAP_MS, 4 * typical)
    covered = float(np.minimum(steps, gap).sum()) + typical
    coverage = min(1.0, covered / length_ms)
    magnitude = float(np.linalg.norm(xyz, axis=1).mean())
    dynamic = xyz - xyz.mean(axis=0)
    dynamic_rms = float(math.sqrt(float((dynamic**2).sum(axis=1).mean())))
    cadence, periodicity = _cadence(timestamps_ms, dynamic)
    return Features(magnitude, dynamic_rms, cadence, periodicity, 1000.0 / typical, n, coverage)


def _cadence(timestamps_ms: npt.NDArray[np.int64], dynamic: FloatArray) -> tuple[float, float]:
    """The dominant step frequency of the dynamic signal, and the share of power it holds."""
    t = (timestamps_ms - timestamps_ms[0]) / 1000.0
    if t[-1] < 1.0:
        return 0.0, 0.0
    grid = np.arange(0.0, t[-1], 1.0 / GRID_HZ)
    power = np.zeros(len(grid) // 2 + 1)
    for axis in range(3):  # power summed over axes: the same whatever the orientation
        signal = np.interp(grid, t, dynamic[:, axis])
        power += np.abs(np.fft.rfft(signal * np.hanning(len(grid)))) ** 2
    freqs = np.fft.rfftfreq(len(grid), 1.0 / GRID_HZ)
    band = (freqs >= STEP_BAND_HZ[0]) & (freqs <= STEP_BAND_HZ[1])
    total = float(power[1:].sum())
    if not band.any() or total <= 0.0:
        return 0.0, 0.0
    peak = int(np.argmax(np.where(band, power, -1.0)))
    near = power[max(peak - 1, 0) : peak + 2].sum()
    return float(freqs[peak]), float(min(1.0, near / total))


def classify(features: Features, thresholds: Thresholds = DEFAULT) -> Classification:
    """The window's activity, or UNKNOWN with confidence 0 when the data is too thin."""
    if (
        features.samples < thresholds.min_samples
        or features.coverage < thresholds.min_coverage
        or features.rate_hz < thresholds.min_rate_hz
    ):
        return Classification(Activity.UNKNOWN, 0.0)
    rms = max(features.dynamic_rms, 1e-6)
    if rms < thresholds.still_rms:
        activity, nearest = Activity.STATIONARY, thresholds.still_rms
    elif rms < thresholds.run_rms:
        activity = Activity.WALKING
        nearest = min(
            (thresholds.still_rms, thresholds.run_rms), key=lambda b: abs(math.log(rms / b))
        )
    else:
        activity, nearest = Activity.RUNNING, thresholds.run_rms
    margin = abs(math.log(rms / nearest))
    confidence = 1.0 / (1.0 + math.exp(-thresholds.sharpness * margin))
    if confidence < thresholds.min_confidence:
        return Classification(Activity.UNKNOWN, round(confidence, 4))
    return Classification(activity, round(confidence, 4))
