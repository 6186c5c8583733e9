"""Stream entries -> warehouse rows, for the two sinks. Pure.

A raw entry (``entries.encode_message``) becomes one row per reading; a processed entry
(its ``record`` field holds ``records.encode_record``'s JSON) one row per window. An
entry that cannot become rows PostgreSQL would take raises ``Unreadable``: it is
dead-lettered, never retried.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from services.motion.entries import decode_message
from services.motion.records import decode_record, record_fields
from services.motion.validation import MAX_READINGS
from services.motion.warehouse import PROCESSED, PROCESSED_COLUMNS, RAW, Table

RECORD_FIELD = "record"  # the processed stream's field that holds the record's JSON
# timestamptz spans years 4713 BC to 294276 AD; Python's datetime, years 1 to 9999. Readers
# of the warehouse use both: keep times inside both.
MIN_MS = -62_135_596_800_000  # 0001-01-01T00:00:00Z
MAX_MS = 253_402_300_799_999  # 9999-12-31T23:59:59.999Z
MAX_INT4 = 2**31 - 1

Row = tuple[object, ...]


class Unreadable(ValueError):
    """An entry that is not what its stream holds, or holds values PostgreSQL refuses."""


@dataclass(frozen=True)
class Kind:
    """One sink: its consumer group, which stream of a partition it reads, its table."""

    name: str  # "raw" or "processed" (MOTION_SINK_STREAMS)
    group: str
    table: Table
    rows_per_entry: int  # at most: what one entry may add to a batch

    def rows(self, entry_id: str, fields: Mapping[str, str]) -> list[Row]:
        """The rows of one entry; Unreadable if it has none PostgreSQL would take."""
        try:
            rows = raw_rows(entry_id, fields) if self.name == "raw" else [processed_row(fields)]
        except (ValueError, KeyError, TypeError, OverflowError) as error:
            raise Unreadable(f"{type(error).__name__}: {error}") from error
        for row in rows:
            check_row(row)
        return rows


RAW_KIND = Kind("raw", "raw-sink", RAW, MAX_READINGS)
PROCESSED_KIND = Kind("processed", "processed-sink", PROCESSED, 1)
KINDS = {kind.name: kind for kind in (RAW_KIND, PROCESSED_KIND)}


def kinds_of(names: str) -> tuple[Kind, ...]:
    """The kinds MOTION_SINK_STREAMS names (``raw,processed``); ValueError for others."""
    chosen = [name.strip() for name in names.split(",") if name.strip()]
    unknown = sorted(set(chosen) - set(KINDS))
    if unknown or not chosen:
        raise ValueError(f"streams must be some of {sorted(KINDS)}, not {names!r}")
    return tuple(KINDS[name] for name in dict.fromkeys(chosen))


def raw_rows(entry_id: str, fields: Mapping[str, str]) -> list[Row]:
    """One row per reading of a raw entry, in ``RAW.copied`` order."""
    raw = decode_message(entry_id, fields)
    m = raw.message
    return [
        (m.device_id, m.message_id, index, m.user_id, m.session_id, r.name,
         _ms(r.timestamp_ms), list(r.values), _ms(raw.ingested_ms))
        for index, r in enumerate(m.readings)
    ]  # fmt: skip


def processed_row(fields: Mapping[str, str]) -> Row:
    """The row of a processed entry, in ``PROCESSED.copied`` order."""
    values = record_fields(decode_record(fields[RECORD_FIELD]))
    for name in ("window_start_ms", "window_end_ms", "owned_start_ms", "owned_end_ms"):
        _ms(values[name])
    if not 0 <= values["samples"] <= MAX_INT4:
        raise ValueError("samples out of range")
    return tuple(values[name] for name in PROCESSED_COLUMNS)


def check_row(row: Row) -> None:
    """Unreadable if a text is no UTF-8 text PostgreSQL stores (NUL, a lone surrogate)."""
    for value in row:
        if isinstance(value, str) and ("\x00" in value or not _utf8(value)):
            raise Unreadable("a text field holds a NUL character or a lone surrogate")


def _utf8(text: str) -> bool:
    if text.isascii():
        return True
    try:
        text.encode()
    except UnicodeEncodeError:
        return False
    return True


def _ms(value: int) -> int:
    if not MIN_MS <= value <= MAX_MS:
        raise ValueError(f"time out of range: {value} ms")
    return value
