"""What the simulated device shares: wearipedia's figures, the metrics' wearipedia fields,
array types, and the seeded generators."""

from __future__ import annotations

import hashlib
from datetime import UTC, date, datetime, time

import numpy as np
import numpy.typing as npt

from services.health_metrics.domain import Metric, SleepStage

DAY_SECONDS = 86_400
DAY_MINUTES = 1_440
HR_LOW, HR_HIGH = 50.0, 195.0  # wearipedia's HR_MIN/HR_MAX clip
SPO2_LOW, SPO2_HIGH = 95.0, 100.0
RMSSD_LOW, RMSSD_HIGH = 20.0, 80.0
ZONE_BPM = 87.0  # wearipedia's lowest zone threshold (fat burn)
# Breathing rate per stage: wearipedia's normal(mean, std) per night.
BREATHING = {
    SleepStage.DEEP: (12.0, 1.5),
    SleepStage.REM: (16.0, 1.5),
    SleepStage.LIGHT: (18.0, 2.0),
}
# Heart rate while asleep, relative to the user's resting rate.
STAGE_BPM = {
    SleepStage.WAKE: 8.0,
    SleepStage.LIGHT: -3.0,
    SleepStage.REM: 0.0,
    SleepStage.DEEP: -8.0,
}
# Activity levels: (steps a minute as wearipedia counts them, heart rate above resting).
LEVELS = ((0, 0.0), (10, 22.0), (25, 40.0), (50, 62.0))  # sedentary, light, fairly, very
AWAKE_HOURS = (6, 21)  # active bouts fall between these UTC hours
# What each metric stands for in wearipedia's output: (data type, field of an entry).
WEARIPEDIA_FIELDS = {
    Metric.HEART_RATE: ("intraday_heart_rate", "value"),
    Metric.SPO2: ("intraday_spo2", "value"),
    Metric.HRV: ("intraday_hrv", "rmssd"),
    Metric.STEPS: ("intraday_activity", "value"),
    Metric.ACTIVE_ZONE_MINUTES: ("intraday_active_zone_minute", "activeZoneMinutes"),
    Metric.BREATHING_RATE: ("intraday_breath_rate", "value"),
}
BREATHING_SUMMARIES = {
    SleepStage.DEEP: "deepSleepSummary",
    SleepStage.REM: "remSleepSummary",
    SleepStage.LIGHT: "lightSleepSummary",
}
Floats = npt.NDArray[np.float64]
Bools = npt.NDArray[np.bool_]


def rng(seed: int, *parts: object) -> np.random.Generator:
    """A generator seeded from the parts' text (stable across processes, unlike hash())."""
    text = "/".join(str(p) for p in (seed, *parts)).encode()
    return np.random.default_rng(int.from_bytes(hashlib.blake2b(text, digest_size=16).digest()))


def midnight(day: date) -> datetime:
    """The UTC start of ``day``."""
    return datetime.combine(day, time(), UTC)
