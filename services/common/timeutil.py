"""RFC 3339 timestamps in UTC, and a clock that tests can replace."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    """Return the current time, timezone-aware in UTC."""
    return datetime.now(UTC)


def format_time(moment: datetime | None) -> str:
    """Render a timestamp as RFC 3339 UTC with a Z suffix; None becomes ''."""
    if moment is None:
        return ""
    return as_utc(moment).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def parse_time(text: str) -> datetime:
    """Parse an RFC 3339 timestamp; naive values are rejected as ambiguous."""
    moment = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    if moment.tzinfo is None:
        raise ValueError("timestamp needs a timezone offset, e.g. 2024-01-31T10:00:00Z")
    try:
        return moment.astimezone(UTC)
    except OverflowError:  # e.g. 0001-01-01T00:00:00+01:00 is before year 1 in UTC
        raise ValueError("timestamp is out of range") from None


def as_utc(moment: datetime) -> datetime:
    """Treat naive datetimes (as SQLite returns them) as UTC."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def to_millis(moment: datetime) -> datetime:
    """Drop sub-millisecond precision, the precision every store keeps (MongoDB's)."""
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000)


def parse_date(text: str) -> date:
    """Parse a YYYY-MM-DD calendar date."""
    return date.fromisoformat(text)
