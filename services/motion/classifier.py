"""Activity from one window of accelerometer samples. Pure (numpy, no I/O).

``measure`` turns a window's samples into features that do not depend on the device:

- samples are put on a uniform grid from their timestamps, so the sampling rate does not
  matter (the grid is never finer than the device's own rate, which would only smooth);
- only the step band (0.6-5 Hz) of each axis is kept: gravity, and its slow drift while
  a hand turns the phone, fall below it, so whether the accelerometer includes gravity
  matters little, and 5 Hz is what a 10 Hz device can still see;
- the axes' powers are summed, so the orientation does not matter at all.

``dynamic_rms`` is the RMS of that step-band signal; ``periodicity`` the height of its
normalised autocorrelation at the best lag between 0.25 and 1.5 s (one step or one
stride), which is what tells walking from a hand fidgeting on a desk; ``cadence_hz`` the
step rate that lag implies.

``classify`` is a tiny logistic model over (log dynamic RMS, periodicity), its constants
fitted on real recordings by ``bench.motion_eval`` (docs/motion-accuracy.md):
P(moving) = sigmoid(rms_weight·ln(rms/still_rms) + periodicity_weight·(periodicity - ½)),
P(running | moving) = sigmoid(run_sharpness·ln(rms/run_rms)); the most probable activity wins,
with its probability as the confidence, and UNKNOWN when none reaches ``min_confidence``.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from services.motion.domain import Activity, Classification, Features

GRID_HZ = 25.0  # the finest grid features are measured on, whatever the device's rate
BAND_HZ = (0.6, 5.0)  # steps and their first harmonics; below is posture and gravity
LAG_S = (0.25, 1.5)  # one running step (4 Hz) to one slow walking stride (0.67 Hz)
PERIODICITY_PIVOT = 0.5
MIN_SPAN_MS = 2000  # a shorter stretch holds too few steps to measure their period
MAX_WINDOW_MS = 60_000  # a longer window is measured over its last minute
# Two samples further apart than this (or 4 periods) are a gap, not a slow rate.
MAX_GAP_MS = 500
# No accelerometer reads more (about 100 000 g): a window holding larger values is scaled
# down as a whole to this peak, so that garbage input still yields finite features.
LIMIT = 1e6

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class Thresholds:
    """The model's constants: where stationary ends, where running begins, how sure to be."""

    # Fitted on the training parts of stm32-har and UCI HAPT, every variant pooled
    # (python -m bench.motion_eval, the "both" row, rounded).
    still_rms: float = 1.33  # m/s² of step-band RMS: P(moving) = ½ at periodicity ½
    rms_weight: float = 4.6  # logit per log-unit of RMS
    periodicity_weight: float = 2.8  # logit per unit of periodicity
    run_rms: float = 7.5  # m/s² of step-band RMS: P(running | moving) = ½
    run_sharpness: float = 8.0  # logit per log-unit of RMS
    min_confidence: float = 0.6  # below this the answer is UNKNOWN
    min_samples: int = 16
    min_coverage: float = 0.5  # share of the window the samples must cover
    min_rate_hz: float = 8.0  # 10 Hz devices with some jitter pass


DEFAULT = Thresholds()


def measure(timestamps_ms: npt.NDArray[np.int64], xyz: FloatArray, length_ms: int) -> Features:
    """Features of one window's samples (sorted by time; ``xyz`` shaped (n, 3), m/s²)."""
    length_ms = min(max(length_ms, 1), MAX_WINDOW_MS)
    timestamps_ms, xyz = _latest(timestamps_ms, np.asarray(xyz, dtype=np.float64), length_ms)
    n = len(timestamps_ms)
    magnitude = float(np.sqrt(np.einsum("ij,ij->i", xyz, xyz)).mean()) if n else 0.0
    if n < 2:
        return Features(magnitude, 0.0, 0.0, 0.0, 0.0, n, 0.0)
    steps = np.diff(timestamps_ms)
    typical = _median_step(steps)
    gap = max(MAX_GAP_MS, 4 * typical)
    within = steps <= gap
    inside = float(steps[within].sum())  # the time the samples cover, gaps left out
    coverage = min(1.0, (inside + typical) / length_ms)
    # Samples per covered second: jitter and repeated timestamps average out, gaps drop out.
    rate = 1000.0 * int(np.count_nonzero(within)) / inside if inside else 0.0
    rms, periodicity, cadence = _step_band(timestamps_ms, xyz, _grid_rate(rate))
    return Features(magnitude, rms, cadence, periodicity, rate, n, coverage)


def _grid_rate(rate_hz: float) -> float:
    """The grid: 25 Hz, or the device's rate rounded down to 0.5 Hz when lower."""
    return min(GRID_HZ, max(0.5, math.floor(rate_hz * 2.0) / 2.0))


def _median_step(steps: npt.NDArray[np.int64]) -> float:
    """The median of the positive steps between samples, in ms (1 when there is none)."""
    positive = steps[steps > 0]
    if not len(positive):
        return 1.0
    return float(np.partition(positive, len(positive) // 2)[len(positive) // 2])


def _latest(
    timestamps_ms: npt.NDArray[np.int64], xyz: FloatArray, length_ms: int
) -> tuple[npt.NDArray[np.int64], FloatArray]:
    """The samples of the window's last ``length_ms``, bounded by LIMIT.

    A caller passes one window, so this only guards the grid's size against timestamps
    that span far more; values beyond LIMIT scale the window down as a whole, so that
    squares cannot overflow.
    """
    if len(timestamps_ms) and timestamps_ms[-1] - timestamps_ms[0] > length_ms:
        oldest = int(timestamps_ms[-1]) - length_ms
        first = int(np.searchsorted(timestamps_ms, oldest, side="right"))
        timestamps_ms, xyz = timestamps_ms[first:], xyz[first:]
    peak = float(np.abs(xyz).max()) if len(xyz) else 0.0
    return timestamps_ms, xyz * (LIMIT / peak) if peak > LIMIT else xyz


def _grid(timestamps_ms: npt.NDArray[np.int64], xyz: FloatArray, grid_hz: float) -> FloatArray:
    """The samples linearly interpolated onto a uniform grid, minus their mean: (3, m)."""
    t = (timestamps_ms - timestamps_ms[0]) / 1000.0
    grid = np.arange(0.0, t[-1], 1.0 / grid_hz)
    signal = np.empty((3, len(grid)))  # one row per axis: contiguous for the FFT
    for axis in range(3):
        signal[axis] = np.interp(grid, t, xyz[:, axis])
    signal -= signal.mean(axis=1, keepdims=True)
    return signal


@functools.lru_cache(maxsize=64)
def _outside_band(size: int, grid_hz: float) -> npt.NDArray[np.bool_]:
    """Which bins of a ``size``-point real FFT at ``grid_hz`` lie outside the step band."""
    freqs = np.fft.rfftfreq(size, 1.0 / grid_hz)
    outside: npt.NDArray[np.bool_] = (freqs < BAND_HZ[0]) | (freqs > BAND_HZ[1])
    return outside


def _step_band(
    timestamps_ms: npt.NDArray[np.int64], xyz: FloatArray, grid_hz: float
) -> tuple[float, float, float]:
    """RMS, periodicity and cadence of the step band, summed over the axes."""
    if timestamps_ms[-1] - timestamps_ms[0] < MIN_SPAN_MS:
        return 0.0, 0.0, 0.0
    signal = _grid(timestamps_ms, xyz, grid_hz)
    n = signal.shape[1]
    size = 1 << (2 * n - 1).bit_length()  # zero-padded: a linear, not circular, correlation
    spectrum = np.fft.rfft(signal, size).view(np.float64)  # (re, im) pairs per axis
    power = np.einsum("ij,ij->j", spectrum, spectrum).reshape(-1, 2).sum(axis=1)
    power[_outside_band(size, grid_hz)] = 0.0
    correlation = np.fft.irfft(power, size)[:n]
    energy = float(correlation[0])
    if energy <= 1e-12 * n:  # nothing in the band: a still phone, or a constant signal
        return 0.0, 0.0, 0.0
    periodicity, lag_s = _best_lag(correlation, energy, grid_hz)
    return math.sqrt(energy / n), periodicity, _cadence(lag_s)


def _best_lag(correlation: FloatArray, energy: float, grid_hz: float) -> tuple[float, float]:
    """The highest normalised autocorrelation among one step's to one stride's lags."""
    lo, unbiased = _lags(len(correlation), grid_hz)
    if not len(unbiased):
        return 0.0, 0.0
    normalised = correlation[lo : lo + len(unbiased)] * unbiased
    best = int(np.argmax(normalised))
    return min(1.0, max(0.0, float(normalised[best]) / energy)), (lo + best) / grid_hz


@functools.lru_cache(maxsize=256)
def _lags(n: int, grid_hz: float) -> tuple[int, FloatArray]:
    """The first lag searched, and n / (n - lag) for each (an unbiased autocorrelation)."""
    lo = max(1, math.ceil(LAG_S[0] * grid_hz))
    hi = min(math.floor(LAG_S[1] * grid_hz), n // 2)
    lags = np.arange(lo, hi + 1, dtype=np.float64)
    unbiased: FloatArray = n / (n - lags)
    unbiased.flags.writeable = False  # shared by every window of this size
    return lo, unbiased


def _cadence(lag_s: float) -> float:
    """Steps per second of a period: periods longer than a slow step (0.8 s) are strides."""
    if lag_s <= 0.0:
        return 0.0
    return 1.0 / lag_s if lag_s <= 0.8 else 2.0 / lag_s


def probabilities(features: Features, thresholds: Thresholds = DEFAULT) -> dict[Activity, float]:
    """The model's probability of each activity (they sum to 1)."""
    log_rms = math.log(max(features.dynamic_rms, 1e-6))
    moving = _sigmoid(
        thresholds.rms_weight * (log_rms - math.log(thresholds.still_rms))
        + thresholds.periodicity_weight * (features.periodicity - PERIODICITY_PIVOT)
    )
    running = _sigmoid(thresholds.run_sharpness * (log_rms - math.log(thresholds.run_rms)))
    return {
        Activity.STATIONARY: 1.0 - moving,
        Activity.WALKING: moving * (1.0 - running),
        Activity.RUNNING: moving * running,
    }


def _sigmoid(z: float) -> float:
    """The logistic function, safe for any finite z."""
    return 1.0 / (1.0 + math.exp(-z)) if z >= 0 else math.exp(z) / (1.0 + math.exp(z))


def too_thin(features: Features, thresholds: Thresholds = DEFAULT) -> bool:
    """Whether the window holds too little data to say anything."""
    span_ms = 1000.0 * (features.samples - 1) / features.rate_hz if features.rate_hz else 0.0
    return (
        span_ms < MIN_SPAN_MS  # gaps only lengthen the true span: it is at least this
        or features.samples < thresholds.min_samples
        or features.coverage < thresholds.min_coverage
        or features.rate_hz < thresholds.min_rate_hz
    )


def classify(features: Features, thresholds: Thresholds = DEFAULT) -> Classification:
    """The window's activity, or UNKNOWN (confidence 0 when the data is too thin)."""
    if too_thin(features, thresholds):
        return Classification(Activity.UNKNOWN, 0.0)
    odds = probabilities(features, thresholds)
    activity = max(odds, key=odds.__getitem__)
    confidence = round(odds[activity], 4)
    if confidence < thresholds.min_confidence:
        return Classification(Activity.UNKNOWN, confidence)
    return Classification(activity, confidence)
