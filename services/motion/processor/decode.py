"""A raw entry's accelerometer readings as one numpy chunk. Pure.

Reads the format ``entries.encode_message`` writes without building a ``Reading`` per
reading: the worker's throughput is bounded by what it does per reading.
"""

from __future__ import annotations

import json
from collections.abc import Mapping

import numpy as np

from services.motion.domain import ACCELEROMETER
from services.motion.windows import Chunk

# Everything a malformed entry can raise on the way (it is then dead-lettered).
UNREADABLE: tuple[type[Exception], ...] = (ValueError, KeyError, TypeError, IndexError)


def chunk_of(entry_id: str, fields: Mapping[str, str]) -> Chunk:
    """The entry's finite accelerometer readings; one of UNREADABLE if it is no message."""
    rows = json.loads(fields["r"])
    if not isinstance(rows, list):
        raise ValueError("readings are not a list")
    accel = [row for row in rows if row[0] == ACCELEROMETER]
    timestamps = np.array([row[1] for row in accel], dtype=np.int64).reshape(-1)
    xyz = np.array([row[2] for row in accel], dtype=np.float64).reshape(len(accel), 3)
    finite = np.isfinite(xyz).all(axis=1)
    if not finite.all():  # the ingest path refuses these; a hand-written entry may not
        timestamps, xyz = timestamps[finite], xyz[finite]
    return Chunk(
        entry_id,
        str(fields["u"]),
        str(fields["d"]),
        str(fields["s"]),
        str(fields["m"]),
        timestamps,
        xyz,
    )
