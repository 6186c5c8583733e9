"""Raw-stream entries <-> messages. Pure.

One entry per message: its accepted readings in one JSON field, so a message is stored
whole or not at all and a worker decodes it with one C call.
"""

from __future__ import annotations

import json
from collections.abc import Mapping

from services.motion.domain import RawMessage, Reading, SensorMessage


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
    }


def decode_message(entry_id: str, fields: Mapping[str, str]) -> RawMessage:
    """The message a stream entry holds; ValueError/KeyError if it is not one."""
    readings = tuple(
        Reading(str(name), int(ts), tuple(float(v) for v in values))
        for name, ts, values in json.loads(fields["r"])
    )
    message = SensorMessage(fields["u"], fields["d"], fields["s"], fields["m"], readings)
    return RawMessage(message, entry_id, int(fields["i"]))
