"""Recordings on disk and the messages a phone would send of them. Pure (no network).

A recording is a CSV file: three columns ``x, y, z`` at a fixed rate (the STM32 HAR
files), or four ``t_ms, x, y, z`` with the time of each sample. Units are converted to
m/s², the unit of ``POST /sensor-data``.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

STANDARD_GRAVITY = 9.80665
UNITS = {"ms2": 1.0, "g": STANDARD_GRAVITY, "mg": STANDARD_GRAVITY / 1000}


@dataclass(frozen=True)
class Sample:
    """One accelerometer sample: milliseconds after the recording's start, and m/s²."""

    offset_ms: int
    x: float
    y: float
    z: float


def read(path: Path, units: str, rate_hz: float) -> list[Sample]:
    """The samples of a CSV recording (``rate_hz`` times 3-column files)."""
    scale = UNITS[units]
    with path.open(newline="") as file:
        rows = [[float(cell) for cell in row] for row in csv.reader(file) if row]
    return [_sample(row, index, scale, rate_hz, path) for index, row in enumerate(rows)]


def _sample(row: list[float], index: int, scale: float, rate_hz: float, path: Path) -> Sample:
    if len(row) == 3:
        return Sample(round(index * 1000 / rate_hz), *(v * scale for v in row))
    if len(row) == 4:
        return Sample(int(row[0]), *(v * scale for v in row[1:]))
    raise ValueError(f"{path}: line {index + 1} has {len(row)} columns, not 3 or 4")


def messages(
    samples: list[Sample], start_ms: int, per_message: int, device_id: str, session_id: str
) -> Iterator[dict[str, Any]]:
    """The ``POST /sensor-data`` bodies of a recording started at ``start_ms``, in order.

    Message ids are ``<session>-<n>``: sending one again is a retry the service dedups.
    """
    for n, first in enumerate(range(0, len(samples), per_message)):
        chunk = samples[first : first + per_message]
        yield {
            "messageId": f"{session_id}-{n}",
            "sessionId": session_id,
            "deviceId": device_id,
            "sensorReadings": [
                {
                    "name": "accelerometer",
                    "timestamp": start_ms + s.offset_ms,
                    "values": [round(s.x, 4), round(s.y, 4), round(s.z, 4)],
                }
                for s in chunk
            ],
        }


def due_at(body: dict[str, Any], start_ms: int) -> float:
    """Seconds after the start at which a real-time phone sends ``body``: its last sample's."""
    return (int(body["sensorReadings"][-1]["timestamp"]) - start_ms) / 1000
