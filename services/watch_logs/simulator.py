"""A simulated fleet of watches: each user's day, and the samples his watches record (pure).

Every value is a function of (seed, user key, device, sample time): the same sample time
always gives the same entry and the same message id, so a retried or re-run send is a
duplicate the service recognises, never a second entry.
"""

from __future__ import annotations

import hashlib
import math
import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any, TypeVar

from services.common.timeutil import format_time

# (model, firmware versions in the field): a few real families, so reports group sensibly.
DEVICE_MODELS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("Garmin Forerunner 265", ("19.18", "20.26", "21.19")),
    ("Garmin Fenix 7", ("17.28", "18.22")),
    ("Garmin Venu 3", ("12.24", "13.22")),
    ("Apple Watch Series 9", ("10.5", "11.1")),
    ("Samsung Galaxy Watch6", ("R930XXU1BWK3", "R930XXU2CXB2")),
    ("Google Pixel Watch 2", ("4.1.0", "4.2.1")),
)
T = TypeVar("T")
WORKOUT_ACTIVITIES = ("running", "cycling", "swimming", "workout")
DAY = 1440  # minutes
CHARGE_MINUTES = 40


@dataclass(frozen=True)
class Profile:
    """One activity's per-minute ranges: steps, heart rate, kcal, metres per step (or minute)."""

    steps: tuple[int, int]
    heart_rate: tuple[int, int]
    calories: tuple[float, float]
    metres: tuple[float, float]
    per_step: bool  # metres per step (on foot) or per minute (wheels, water)
    floors_chance: float


PROFILES = {
    "sleep": Profile((0, 0), (48, 60), (0.8, 1.0), (0, 0), True, 0.0),
    "rest": Profile((0, 12), (60, 85), (1.1, 1.6), (0.6, 0.8), True, 0.01),
    "walking": Profile((90, 120), (90, 115), (3.5, 5.0), (0.7, 0.8), True, 0.15),
    "running": Profile((150, 180), (140, 170), (10.0, 14.0), (1.0, 1.3), True, 0.05),
    "cycling": Profile((0, 0), (130, 160), (7.0, 10.0), (300.0, 450.0), False, 0.0),
    "swimming": Profile((0, 0), (130, 150), (8.0, 11.0), (30.0, 50.0), False, 0.0),
    "workout": Profile((20, 60), (135, 165), (7.0, 11.0), (0.6, 0.8), True, 0.0),
}


@dataclass(frozen=True)
class Device:
    """One watch: its id, model and firmware, and how fast its battery drains (% per hour)."""

    device_id: str
    model: str
    firmware: str
    drain_per_hour: float


@dataclass(frozen=True)
class Habits:
    """A user's usual day, in minutes after local midnight (each day shifts them a little)."""

    utc_offset_minutes: int
    wake: int
    bed: int
    workout_start: int
    workout_minutes: int
    workout_activity: str
    rest_day_chance: float


@dataclass(frozen=True)
class SimUser:
    """A simulated user: the key his samples derive from, his habits and his watches."""

    key: str
    habits: Habits
    devices: tuple[Device, ...]


@dataclass(frozen=True)
class DayPlan:
    """One local day's windows as (start, end) minutes, end excluded."""

    sleep_until: int
    sleep_from: int
    charging: tuple[int, int]
    walks: tuple[tuple[int, int], ...]
    workout: tuple[int, int] | None


def _rng(*parts: object) -> random.Random:
    # A str seed goes through SHA-512: the same parts give the same stream in every process.
    return random.Random(":".join(str(p) for p in parts))


def make_user(seed: int, key: str, devices_per_user: int = 1) -> SimUser:
    """The simulated user for ``key`` (an account id): the same key and seed, the same user."""
    rng = _rng(seed, "user", key)
    habits = Habits(
        utc_offset_minutes=rng.choice((-300, -240, 0, 60, 120, 330, 540)),
        wake=rng.randint(6 * 60, 7 * 60 + 30),
        bed=rng.randint(22 * 60, 23 * 60 + 30),
        workout_start=rng.randint(17 * 60 + 15, 18 * 60 + 15),
        workout_minutes=rng.randint(30, 75),
        workout_activity=rng.choice(WORKOUT_ACTIVITIES),
        rest_day_chance=rng.choice((0.0, 1 / 7, 2 / 7)),
    )
    devices = tuple(_make_device(seed, key, index) for index in range(devices_per_user))
    return SimUser(key, habits, devices)


def _make_device(seed: int, key: str, index: int) -> Device:
    digest = hashlib.sha256(f"{seed}:{key}:{index}".encode()).hexdigest()[:12]
    rng = _rng(seed, "device", key, index)
    model, firmwares = rng.choice(DEVICE_MODELS)
    return Device(f"w{digest}", model, rng.choice(firmwares), rng.uniform(0.8, 1.2))


@lru_cache(maxsize=4096)
def day_plan(seed: int, key: str, habits: Habits, day: int) -> DayPlan:
    """The windows of local day number ``day`` (days since 1970-01-01, local time)."""
    rng = _rng(seed, "day", key, day)
    wake = habits.wake + rng.randint(-15, 15)
    charge_start = wake + rng.randint(5, 15)
    commute = charge_start + CHARGE_MINUTES + rng.randint(15, 30)
    lunch = 12 * 60 + rng.randint(0, 30)
    evening = 20 * 60 + 15 + rng.randint(0, 30)
    walks = (
        (commute, commute + rng.randint(15, 25)),
        (lunch, lunch + rng.randint(10, 30)),
        (evening, evening + rng.randint(15, 30)),
    )
    workout: tuple[int, int] | None = None
    if rng.random() >= habits.rest_day_chance:
        start = habits.workout_start + rng.randint(-10, 10)
        workout = (start, start + habits.workout_minutes + rng.randint(-5, 5))
    return DayPlan(
        sleep_until=wake,
        sleep_from=habits.bed + rng.randint(-15, 15),
        charging=(charge_start, charge_start + CHARGE_MINUTES),
        walks=walks,
        workout=workout,
    )


def _local(habits: Habits, moment: datetime) -> tuple[int, int]:
    """(local day number, minute of that day)."""
    minutes = math.floor(moment.timestamp() / 60) + habits.utc_offset_minutes
    return minutes // DAY, minutes % DAY


def _inside(window: tuple[int, int] | None, minute: int) -> bool:
    return window is not None and window[0] <= minute < window[1]


def activity_at(seed: int, user: SimUser, moment: datetime) -> str:
    """What the user is doing at ``moment``: sleep at night, a workout, walks, rest otherwise."""
    day, minute = _local(user.habits, moment)
    plan = day_plan(seed, user.key, user.habits, day)
    if minute < plan.sleep_until or minute >= plan.sleep_from:
        return "sleep"
    if _inside(plan.workout, minute):
        return user.habits.workout_activity
    if any(_inside(walk, minute) for walk in plan.walks):
        return "walking"
    return "rest"


def is_charging(seed: int, user: SimUser, moment: datetime) -> bool:
    """Whether the watches sit on their chargers (once a day, after waking up)."""
    day, minute = _local(user.habits, moment)
    return _inside(day_plan(seed, user.key, user.habits, day).charging, minute)


def battery_at(seed: int, user: SimUser, device: Device, moment: datetime) -> int:
    """Battery percent: full after the morning charge, draining about 1 % an hour since."""
    day, minute = _local(user.habits, moment)
    today = day_plan(seed, user.key, user.habits, day).charging
    if minute >= today[1]:
        since = minute - today[1]
    else:
        since = minute + DAY - day_plan(seed, user.key, user.habits, day - 1).charging[1]
    level = 100 - device.drain_per_hour * since / 60
    if minute >= today[0] and minute < today[1]:
        # On the charger: back up from where it was towards full.
        level += (100 - level) * (minute - today[0] + 1) / CHARGE_MINUTES
    return max(1, min(100, round(level)))


def message_id(device: Device, moment: datetime) -> str:
    """The id of the device's sample at ``moment``: stable across retries and re-runs."""
    return f"{device.device_id}:{int(moment.timestamp())}"


def sample(
    seed: int, user: SimUser, device: Device, moment: datetime, interval_s: int = 60
) -> dict[str, Any]:
    """The device's entry for the ``interval_s`` seconds starting at ``moment`` (JSON-ready)."""
    rng = _rng(seed, "sample", device.device_id, int(moment.timestamp()))
    charging = is_charging(seed, user, moment)
    activity = "rest" if charging else activity_at(seed, user, moment)
    profile = PROFILES[activity]
    minutes = interval_s / 60
    steps = 0 if charging else round(rng.randint(*profile.steps) * minutes)
    per_unit = rng.uniform(*profile.metres)
    distance = steps * per_unit if profile.per_step else per_unit * minutes
    floors = sum(1 for _ in range(max(1, round(minutes))) if rng.random() < profile.floors_chance)
    return {
        "message_id": message_id(device, moment),
        "device_id": device.device_id,
        "device_model": device.model,
        "firmware": device.firmware,
        "timestamp": format_time(moment),
        "activity": activity,
        "duration_s": interval_s,
        "steps": steps,
        # Off the wrist on the charger: not measured.
        "heart_rate": 0 if charging else rng.randint(*profile.heart_rate),
        "calories": round(rng.uniform(*profile.calories) * minutes, 2),
        "distance_m": 0.0 if charging else round(distance, 1),
        "floors": 0 if charging else floors,
        "battery": battery_at(seed, user, device, moment),
    }


def sample_times(start: datetime, end: datetime, interval_s: int) -> Iterator[datetime]:
    """Sample starts in [start, end), aligned to multiples of ``interval_s`` since the epoch."""
    first = math.ceil(start.timestamp() / interval_s)
    last = math.ceil(end.timestamp() / interval_s)
    for slot in range(first, last):
        yield datetime.fromtimestamp(slot * interval_s, UTC)


def count_samples(start: datetime, end: datetime, interval_s: int) -> int:
    """How many sample times ``sample_times`` gives (per device)."""
    return max(
        0, math.ceil(end.timestamp() / interval_s) - math.ceil(start.timestamp() / interval_s)
    )


def user_samples(
    seed: int, user: SimUser, start: datetime, end: datetime, interval_s: int = 60
) -> Iterator[dict[str, Any]]:
    """Every entry of the user's watches in [start, end), in time order."""
    for moment in sample_times(start, end, interval_s):
        for device in user.devices:
            yield sample(seed, user, device, moment, interval_s)


def batches(
    streams: Sequence[Iterator[T]], size: int, limit: int | None = None
) -> Iterator[tuple[int, list[T]]]:
    """(user index, up to ``size`` entries) taking turns over the users, ``limit`` in all."""
    live = list(range(len(streams)))
    left = math.inf if limit is None else limit
    while live and left > 0:
        for index in list(live):
            take = int(min(size, left))
            batch = [entry for _, entry in zip(range(take), streams[index], strict=False)]
            if len(batch) < take:
                live.remove(index)
            if batch:
                left -= len(batch)
                yield index, batch
            if left <= 0:
                return


def window(now: datetime, hours: float) -> tuple[datetime, datetime]:
    """[now - hours, now): the range the samples cover."""
    return now - timedelta(hours=hours), now
