"""What other devices would have sent: another rate, gravity removed, another orientation."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from bench.motion_eval.recordings import FloatArray, Recording, uniform_timestamps

# Android's documented high-pass example is a first-order low-pass estimate of gravity;
# 0.5 s keeps the estimate still over a step (cut-off ~0.3 Hz) yet follows a turned phone.
GRAVITY_TIME_CONSTANT_S = 0.5


def resample(recording: Recording, rate_hz: float) -> Recording:
    """The recording sampled at ``rate_hz`` (linear interpolation, no anti-alias filter)."""
    times = recording.timestamps_ms
    span = float(times[-1] - times[0])
    n = int(span * rate_hz / 1000.0) + 1
    grid = uniform_timestamps(n, rate_hz, start_ms=int(times[0]))
    xyz = np.column_stack([np.interp(grid, times, recording.xyz[:, i]) for i in range(3)])
    return replace(recording, timestamps_ms=grid, xyz=xyz)


def remove_gravity(recording: Recording) -> Recording:
    """TYPE_LINEAR_ACCELERATION simulated: minus a causal low-pass estimate of gravity."""
    times, xyz = recording.timestamps_ms, recording.xyz
    gravity = np.empty_like(xyz)
    gravity[0] = xyz[0]
    dt = np.diff(times) / 1000.0
    alphas = GRAVITY_TIME_CONSTANT_S / (GRAVITY_TIME_CONSTANT_S + dt)
    for i, alpha in enumerate(alphas.tolist(), start=1):
        gravity[i] = alpha * gravity[i - 1] + (1.0 - alpha) * xyz[i]
    return replace(recording, xyz=xyz - gravity)


def rotate(recording: Recording, matrix: FloatArray) -> Recording:
    """The recording as a device held another way would see it."""
    return replace(recording, xyz=recording.xyz @ matrix.T)


def random_rotation(seed: int) -> FloatArray:
    """A uniformly random rotation matrix (QR of a Gaussian matrix, signs fixed)."""
    q, r = np.linalg.qr(np.random.default_rng(seed).normal(size=(3, 3)))
    q = q * np.sign(np.diag(r))
    if np.linalg.det(q) < 0:
        q[:, 0] = -q[:, 0]
    result: FloatArray = q
    return result


def jitter(recording: Recording, spread_ms: int, seed: int) -> Recording:
    """Timestamps off by up to ``spread_ms`` either way, as a phone's event times are."""
    noise = np.random.default_rng(seed).integers(-spread_ms, spread_ms + 1, len(recording.xyz))
    return replace(recording, timestamps_ms=np.sort(recording.timestamps_ms + noise))
