"""Processed records and device state <-> their stored text. Pure.

The processor writes these (the windows hash, the processed stream, the state hash) and
the service and the warehouse sink read them: one format, defined once.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from services.motion.domain import Activity, ActivityRecord, ActivityState, Features


def record_fields(record: ActivityRecord) -> dict[str, Any]:
    """A record as a flat JSON object (the warehouse's columns, by name)."""
    f = record.features
    return {
        "window_key": record.window_key,
        "device_id": record.device_id,
        "user_id": record.user_id,
        "session_id": record.session_id,
        "message_id": record.message_id,
        "window_start_ms": record.window_start_ms,
        "window_end_ms": record.window_end_ms,
        "owned_start_ms": record.owned_start_ms,
        "owned_end_ms": record.owned_end_ms,
        "magnitude": f.magnitude,
        "dynamic_rms": f.dynamic_rms,
        "cadence_hz": f.cadence_hz,
        "periodicity": f.periodicity,
        "rate_hz": f.rate_hz,
        "samples": f.samples,
        "coverage": f.coverage,
        "activity": record.activity.value,
        "confidence": record.confidence,
    }


def encode_record(record: ActivityRecord) -> str:
    """A record as stored text."""
    return json.dumps(record_fields(record), separators=(",", ":"), allow_nan=False)


def decode_record(text: str) -> ActivityRecord:
    """The record ``encode_record`` wrote; ValueError/KeyError if it is not one."""
    d = json.loads(text)
    features = Features(
        magnitude=float(d["magnitude"]),
        dynamic_rms=float(d["dynamic_rms"]),
        cadence_hz=float(d["cadence_hz"]),
        periodicity=float(d["periodicity"]),
        rate_hz=float(d["rate_hz"]),
        samples=int(d["samples"]),
        coverage=float(d["coverage"]),
    )
    return ActivityRecord(
        device_id=str(d["device_id"]),
        user_id=str(d["user_id"]),
        session_id=str(d["session_id"]),
        message_id=str(d["message_id"]),
        window_start_ms=int(d["window_start_ms"]),
        window_end_ms=int(d["window_end_ms"]),
        owned_start_ms=int(d["owned_start_ms"]),
        owned_end_ms=int(d["owned_end_ms"]),
        features=features,
        activity=Activity(d["activity"]),
        confidence=float(d["confidence"]),
    )


def state_fields(state: ActivityState) -> dict[str, str]:
    """A device's current activity as the fields of its state hash."""
    return {
        "activity": state.activity.value,
        "confidence": repr(state.confidence),
        "since_ms": str(state.since_ms),
        "window_end_ms": str(state.window_end_ms),
    }


def decode_state(device_id: str, fields: Mapping[str, str]) -> ActivityState:
    """The state ``state_fields`` wrote."""
    return ActivityState(
        device_id=device_id,
        activity=Activity(fields["activity"]),
        confidence=float(fields["confidence"]),
        since_ms=int(fields["since_ms"]),
        window_end_ms=int(fields["window_end_ms"]),
    )
