"""Raw-stream entries <-> messages. Pure.

One entry per message, so a message is stored whole or not at all: its accepted readings
as JSON (``r``, every sensor, what the raw sink keeps) and its accelerometer readings again
packed as little-endian float64 rows ``[t_ms, x, y, z]`` in base64 (``a``), which the
processor turns into arrays without parsing a float: parsing JSON floats was 40% of its
time (docs/benchmarks.md).
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping, Sequence

import numpy as np
import numpy.typing as npt

from services.motion.domain import ACCELEROMETER, RawMessage, Reading, SensorMessage

PACKED = np.dtype("<f8")


def encode_message(message: SensorMessage, ingested_ms: int) -> dict[str, str]:
    """The stream fields of a message (its readings as ``[[name, ts, [values...]], ...]``)."""
    readings = [[r.name, r.timestamp_ms, list(r.values)] for r in message.readings]
    return {
        "u": message.user_id,
        "d": message.device_id,
        "s": message.session_id,
        "m": message.message_id,
        "i": str(ingested_ms),
        "r": json.dumps(readings, separators=(",", ":"), allow_nan=False),
        "a": pack_accelerometer(message.readings),
    }


def pack_accelerometer(readings: Sequence[Reading]) -> str:
    """The accelerometer readings as base64 of float64 rows ``[t_ms, x, y, z]``."""
    rows = [(r.timestamp_ms, *r.values) for r in readings if r.name == ACCELEROMETER]
    packed = np.array(rows, dtype=PACKED).reshape(-1, 4)  # ms below 2**53: exact
    return base64.b64encode(packed.tobytes()).decode("ascii")


def unpack_accelerometer(text: str) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float64]]:
    """The timestamps (ms) and (n, 3) values ``pack_accelerometer`` packed; ValueError if
    the text is not such rows."""
    raw = binascii.a2b_base64(text, strict_mode=True)  # C; b64decode(validate) is 5x slower
    if len(raw) % (4 * PACKED.itemsize):
        raise ValueError("packed readings are not whole [t, x, y, z] rows")
    rows = np.frombuffer(raw, dtype=PACKED).reshape(-1, 4)
    return rows[:, 0].astype(np.int64), rows[:, 1:].astype(np.float64)


def decode_message(entry_id: str, fields: Mapping[str, str]) -> RawMessage:
    """The message a stream entry holds; ValueError/KeyError if it is not one."""
    readings = tuple(
        Reading(str(name), int(ts), tuple(float(v) for v in values))
        for name, ts, values in json.loads(fields["r"])
    )
    message = SensorMessage(fields["u"], fields["d"], fields["s"], fields["m"], readings)
    return RawMessage(message, entry_id, int(fields["i"]))
