"""Which sensor messages the motion service takes: ids, reading shapes, the acceptance window.

The gateway declares the same bounds in its schema (gateway/routes/fields.py imports them);
they are checked here again for callers that reach the service over gRPC directly.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass

from services.motion.domain import ACCELEROMETER, InvalidInput, Reading

# Ids become parts of Redis keys: a small charset keeps them unambiguous there.
ID_PATTERN = re.compile(r"[A-Za-z0-9._:-]{1,64}")
ID_MAX = 64
NAME_PATTERN = re.compile(r"[a-z0-9_.-]{1,32}")
NAME_MAX = 32
MAX_READINGS = 1000
MAX_VALUES = 16
MAX_ABS_VALUE = 1e6
ACCELEROMETER_VALUES = 3
# The last millisecond of year 9999 (what a time can be shown as); the window refuses far less.
MAX_TIMESTAMP_MS = 253_402_300_799_999


@dataclass(frozen=True)
class Window:
    """The reading times accepted at ``now_ms``: not older than max_age, not beyond the skew."""

    now_ms: int
    max_age_ms: int
    max_skew_ms: int

    def problem(self, timestamp_ms: int) -> str | None:
        """Why a reading taken at ``timestamp_ms`` is refused, or None."""
        if timestamp_ms < self.now_ms - self.max_age_ms:
            return f"timestamp is older than the {self.max_age_ms / 3_600_000:g} h accepted"
        if timestamp_ms > self.now_ms + self.max_skew_ms:
            return f"timestamp is more than {self.max_skew_ms / 1000:g} s in the future"
        return None


def check_id(name: str, value: str) -> str:
    """The id if it is 1-64 of A-Z a-z 0-9 . _ : -, else InvalidInput."""
    if not ID_PATTERN.fullmatch(value):
        raise InvalidInput(f"{name} must be 1-64 of A-Z a-z 0-9 . _ : -")
    return value


def check_count(readings: Sequence[object], most: int = MAX_READINGS) -> None:
    """A message holds 1 to ``most`` readings."""
    if not 1 <= len(readings) <= most:
        raise InvalidInput(f"a message holds 1 to {most} readings")


def problem_of(reading: Reading, window: Window) -> str | None:
    """Why the reading is refused, or None when it may be stored."""
    return (
        _name_problem(reading.name)
        or _values_problem(reading)
        or window.problem(reading.timestamp_ms)
    )


def _name_problem(name: str) -> str | None:
    if not NAME_PATTERN.fullmatch(name):
        return f"name must be 1-{NAME_MAX} of a-z 0-9 _ . -"
    return None


def _values_problem(reading: Reading) -> str | None:
    values = reading.values
    if not 1 <= len(values) <= MAX_VALUES:
        return f"values must hold 1 to {MAX_VALUES} numbers"
    if reading.name == ACCELEROMETER and len(values) != ACCELEROMETER_VALUES:
        return "accelerometer values must be [x, y, z]"
    for position, value in enumerate(values):
        if not (math.isfinite(value) and abs(value) <= MAX_ABS_VALUE):
            return f"values[{position}] must be a finite number within ±{MAX_ABS_VALUE:g}"
    return None
