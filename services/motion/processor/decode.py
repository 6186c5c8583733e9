"""A raw entry's accelerometer readings as one numpy chunk. Pure.

Reads the packed accelerometer field ``entries.encode_message`` writes, without parsing a
float or building a ``Reading`` per reading: the worker's throughput is bounded by what it
does per reading.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from services.motion.entries import unpack_accelerometer
from services.motion.windows import Chunk

# Everything a malformed entry can raise on the way (it is then dead-lettered).
UNREADABLE: tuple[type[Exception], ...] = (ValueError, KeyError, TypeError, IndexError)
# (binascii.Error, raised by a broken base64 field, is a ValueError.)


def chunk_of(entry_id: str, fields: Mapping[str, str]) -> Chunk:
    """The entry's finite accelerometer readings; one of UNREADABLE if it is no message."""
    timestamps, xyz = unpack_accelerometer(fields["a"])
    if not np.isfinite(xyz).all():  # the ingest path refuses these; a hand-written entry may not
        finite = np.isfinite(xyz).all(axis=1)
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
