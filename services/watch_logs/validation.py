"""Which watch logs the service takes: field ranges, safe text, the acceptance window."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from services.common.text import describe, unsafe_character
from services.watch_logs.domain import ACTIVITIES, InvalidInput, WatchLog

MAX_BATCH = 500
# Ids become parts of Redis keys: a small charset keeps them unambiguous there.
ID_PATTERN = re.compile(r"[A-Za-z0-9._:-]{1,64}")
# (field, lowest, highest) for the numbers; heart_rate has its own rule (0 = not measured).
RANGES: tuple[tuple[str, float, float], ...] = (
    ("duration_s", 1, 3600),
    ("steps", 0, 100_000),
    ("calories", 0, 10_000),
    ("distance_m", 0, 200_000),
    ("floors", 0, 1000),
    ("battery", 0, 100),
)
TEXT_LIMITS = (("device_model", 64), ("firmware", 32))
HEART_RATE = (25, 250)


@dataclass(frozen=True)
class Window:
    """The sample times accepted at ``now``: not older than max_age, not beyond the skew."""

    now: datetime
    max_age: timedelta
    max_skew: timedelta

    def problem(self, moment: datetime) -> str | None:
        """Why a sample taken at ``moment`` is refused, or None."""
        if moment < self.now - self.max_age:
            return f"timestamp is older than the {_hours(self.max_age)} the service accepts"
        if moment > self.now + self.max_skew:
            return "timestamp is in the future"
        return None


def check_id(name: str, value: str) -> str:
    """The id if it is 1-64 of A-Z a-z 0-9 . _ : -, else InvalidInput."""
    if not ID_PATTERN.fullmatch(value):
        raise InvalidInput(f"{name} must be 1-64 of A-Z a-z 0-9 . _ : -")
    return value


def problem_of(log: WatchLog, window: Window) -> str | None:
    """Why the log is refused, or None when it may be stored."""
    return (
        _id_problem(log)
        or _text_problem(log)
        or _activity_problem(log)
        or _number_problem(log)
        or window.problem(log.timestamp)
    )


def _id_problem(log: WatchLog) -> str | None:
    for name in ("message_id", "device_id"):
        if not ID_PATTERN.fullmatch(getattr(log, name)):
            return f"{name} must be 1-64 of A-Z a-z 0-9 . _ : -"
    return None


def _text_problem(log: WatchLog) -> str | None:
    for name, limit in TEXT_LIMITS:
        text: str = getattr(log, name)
        if len(text) > limit:
            return f"{name} is longer than {limit} characters"
        bad = unsafe_character(text)
        if bad is not None:
            return f"{name} holds the control character {describe(bad)}"
    return None


def _activity_problem(log: WatchLog) -> str | None:
    if log.activity not in ACTIVITIES:
        return f"activity must be one of {', '.join(sorted(ACTIVITIES))}"
    return None


def _number_problem(log: WatchLog) -> str | None:
    for name, lowest, highest in RANGES:
        value = float(getattr(log, name))
        if not (math.isfinite(value) and lowest <= value <= highest):
            return f"{name} must be between {lowest:g} and {highest:g}"
    low, high = HEART_RATE
    if log.heart_rate != 0 and not low <= log.heart_rate <= high:
        return f"heart_rate must be 0 (not measured) or between {low} and {high}"
    return None


def _hours(span: timedelta) -> str:
    return f"{span.total_seconds() / 3600:g} h"
