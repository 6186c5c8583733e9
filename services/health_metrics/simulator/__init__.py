"""One simulated day of a Fitbit Charge 6, shaped like wearipedia's ``fitbit/fitbit_charge_6``
synthetic data (recorded in tests/data/wearipedia/fitbit_charge_6.json), without its quirks.

Kept from wearipedia: heart rate every second within its 50-195 bpm clip; SpO2 (95-100 %,
a walk of at most 0.5 a minute) and HRV (rmssd 20-80 ms) every minute of a night, timed
from the second the night began; breathing rate per sleep stage (deep ~12, REM ~16, light
~18 breaths/min); very/fairly/lightly active minutes of 0-240 a day worth 50/25/10 steps;
a zone minute (0 or 1) for a minute whose mean heart rate is above 87 bpm; one sleep a
night of 4-10 h starting 21:00-23:58 with deep/light/rem/wake stages.
Changed: the heart rate follows sleep and activity instead of a walk that sits on its clip
limits most of the day; steps come per minute (wearipedia gives a day total only); stages
follow each other without overlapping; SpO2 and HRV belong to the night's session; the seed
counts. Added: gaps, as a worn device has them (a charge of 20-100 min most days, short
dropouts of heart rate, minutes without SpO2/HRV).

A day is the UTC date's points (so a night is split between two days) and the session of
the night ending that day. Everything is a pure function of (seed, user, day).
"""

from services.health_metrics.simulator.day import SimulatedDay, simulate_day
from services.health_metrics.simulator.night import Night, night_of
from services.health_metrics.simulator.shape import (
    BREATHING_SUMMARIES,
    WEARIPEDIA_FIELDS,
    ZONE_BPM,
    midnight,
)

__all__ = [
    "BREATHING_SUMMARIES",
    "WEARIPEDIA_FIELDS",
    "ZONE_BPM",
    "Night",
    "SimulatedDay",
    "midnight",
    "night_of",
    "simulate_day",
]
