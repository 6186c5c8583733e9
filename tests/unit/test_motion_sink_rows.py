"""Stream entries become the warehouse's rows, or Unreadable: never a value PostgreSQL refuses."""

from __future__ import annotations

import pytest

from services.motion.domain import Activity, ActivityRecord, Features, Reading, SensorMessage
from services.motion.entries import encode_message
from services.motion.records import encode_record, record_fields
from services.motion.sink.rows import PROCESSED_KIND, RAW_KIND, Unreadable, kinds_of
from services.motion.warehouse import PROCESSED, PROCESSED_COLUMNS, RAW

MESSAGE = SensorMessage(
    "u1",
    "phone",
    "s1",
    "m7",
    (Reading("accelerometer", 1_000, (1.0, 2.0, 9.8)), Reading("gyroscope", 1_020, (0.5,))),
)
RECORD = ActivityRecord(
    "phone", "u1", "s1", "m7", 0, 5000, 0, 2500,
    Features(10.0, 2.0, 1.8, 0.7, 50.0, 250, 1.0), Activity.RUNNING, 0.8,
)  # fmt: skip


def test_a_raw_entry_becomes_one_row_per_reading_keyed_by_its_index() -> None:
    rows = RAW_KIND.rows("1-0", encode_message(MESSAGE, 5_000))

    assert rows == [
        ("phone", "m7", 0, "u1", "s1", "accelerometer", 1_000, [1.0, 2.0, 9.8], 5_000),
        ("phone", "m7", 1, "u1", "s1", "gyroscope", 1_020, [0.5], 5_000),
    ]
    assert len(rows[0]) == len(RAW.copied)


def test_a_processed_entry_becomes_one_row_in_the_records_columns() -> None:
    (row,) = PROCESSED_KIND.rows("1-0", {"record": encode_record(RECORD)})

    assert dict(zip(PROCESSED.copied, row, strict=True)) == record_fields(RECORD)


def test_the_processed_tables_columns_are_the_records_fields() -> None:
    assert set(PROCESSED_COLUMNS) == set(record_fields(RECORD))


@pytest.mark.parametrize(
    "fields",
    [
        {},
        {**encode_message(MESSAGE, 5_000), "r": "{"},
        {**encode_message(MESSAGE, 5_000), "r": "7"},
        {**encode_message(MESSAGE, 5_000), "r": '[["a", "x", [1]]]'},
        {**encode_message(MESSAGE, 5_000), "r": '[["a", 1e400, [1]]]'},
        {**encode_message(MESSAGE, 5_000), "r": '[["a", 253402300800000, [1]]]'},
        {**encode_message(MESSAGE, 5_000), "d": "pho\x00ne"},
        {**encode_message(MESSAGE, 5_000), "r": '[["\\udc80", 1, [1]]]'},
        {**encode_message(MESSAGE, 5_000), "i": "-99999999999999999"},
    ],
)
def test_a_raw_entry_that_is_no_message_or_holds_what_postgresql_refuses_is_unreadable(
    fields: dict[str, str],
) -> None:
    with pytest.raises(Unreadable):
        RAW_KIND.rows("1-0", fields)


@pytest.mark.parametrize(
    "fields",
    [
        {},
        {"record": "[]"},
        {"record": encode_record(RECORD).replace('"running"', '"flying"')},
        {"record": encode_record(RECORD).replace('"samples":250', '"samples":1e12')},
        {"record": encode_record(RECORD).replace('"window_end_ms":5000', '"window_end_ms":1e20')},
    ],
)
def test_a_processed_entry_that_is_no_record_is_unreadable(fields: dict[str, str]) -> None:
    with pytest.raises(Unreadable):
        PROCESSED_KIND.rows("1-0", fields)


def test_the_streams_setting_names_the_sinks_once_each_and_nothing_else() -> None:
    assert kinds_of(" processed, raw,processed") == (PROCESSED_KIND, RAW_KIND)
    for bad in ("", "raw,logs", ","):
        with pytest.raises(ValueError, match="streams must be"):
            kinds_of(bad)
