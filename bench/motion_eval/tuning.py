"""The classifier's constants from labelled windows: a logistic fit and a grid search.

Stationary against moving is a logistic regression on (ln dynamic RMS, periodicity),
fitted by Newton's method with every (data set, class) weighing the same; the running
threshold is the RMS, on a log grid, that best separates walking from running windows
(balanced accuracy, the middle of the best plateau). A training set without running
windows keeps the given ``run_rms``.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import replace

import numpy as np

from bench.motion_eval.recordings import FloatArray
from bench.motion_eval.windows import Window
from services.motion.classifier import DEFAULT, PERIODICITY_PIVOT, Thresholds
from services.motion.domain import Activity

RIDGE = 1e-3  # keeps the weights finite when the training windows separate perfectly
RUN_GRID = np.exp(np.linspace(math.log(3.0), math.log(20.0), 121))


def fit(windows: Sequence[tuple[str, Window]], base: Thresholds = DEFAULT) -> Thresholds:
    """Constants fitted on ``(dataset, window)`` pairs; the rest are ``base``'s."""
    x, moving, weights = _design(windows)
    a, b, c = _logistic(x, moving, weights)
    still_rms = math.exp(-(c + b * PERIODICITY_PIVOT) / a)
    tuned = replace(base, still_rms=still_rms, rms_weight=a, periodicity_weight=b)
    return replace(tuned, run_rms=_run_threshold(windows, base.run_rms))


def _design(windows: Sequence[tuple[str, Window]]) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Features, targets (1 = moving) and weights equalising every (data set, class)."""
    keys = [(ds, w.label == Activity.STATIONARY) for ds, w in windows]
    counts = Counter(keys)
    weights = np.array([1.0 / counts[k] for k in keys])
    x = np.array(
        [
            [math.log(max(w.features.dynamic_rms, 1e-6)), w.features.periodicity, 1.0]
            for _, w in windows
        ]
    )
    moving = np.array([0.0 if still else 1.0 for _, still in keys])
    return x, moving, weights / weights.sum()


def _logistic(x: FloatArray, y: FloatArray, weights: FloatArray) -> tuple[float, float, float]:
    """Weighted, lightly ridged logistic regression by Newton's method."""
    beta = np.zeros(x.shape[1])
    ridge = RIDGE * np.diag([1.0, 1.0, 0.0])
    for _ in range(50):
        p = 1.0 / (1.0 + np.exp(-np.clip(x @ beta, -30, 30)))
        gradient = x.T @ (weights * (p - y)) + ridge @ beta
        hessian = (x * (weights * p * (1 - p))[:, None]).T @ x + ridge
        step = np.linalg.solve(hessian, gradient)
        beta -= step
        if float(np.abs(step).max()) < 1e-9:
            break
    return float(beta[0]), float(beta[1]), float(beta[2])


def _run_threshold(windows: Sequence[tuple[str, Window]], fallback: float) -> float:
    """The RMS that best tells the training set's running windows from its walking ones."""
    walk = np.array([w.features.dynamic_rms for _, w in windows if w.label == Activity.WALKING])
    run = np.array([w.features.dynamic_rms for _, w in windows if w.label == Activity.RUNNING])
    if not len(run) or not len(walk):
        return fallback
    scores = [((walk < t).mean() + (run >= t).mean()) / 2 for t in RUN_GRID]
    best = np.flatnonzero(np.isclose(scores, max(scores)))
    return float(math.sqrt(RUN_GRID[best[0]] * RUN_GRID[best[-1]]))
