"""What the ETL moves and decides: source records, windows, totals, run outcomes."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum

# The source records are the rows the services publish for extraction (their export
# modules): the ETL reads the stores only through those.
from services.activity.export import DayTotals as DayTotals
from services.activity.export import WorkoutRecord as WorkoutRecord
from services.health_metrics.export import DayFingerprint as DayFingerprint
from services.health_metrics.export import HealthDayRecord as HealthDayRecord
from services.user.export import GoalDeletion as GoalDeletion
from services.user.export import GoalRecord as GoalRecord
from services.user.export import UserRecord as UserRecord

# The sources, each with its own watermark.
USERS, GOALS, WORKOUTS = "users", "goals", "workouts"
SOURCES = (USERS, GOALS, WORKOUTS)


class RunStatus(StrEnum):
    """Where a run stands in the manifest."""

    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CRASHED = "crashed"  # found 'running' by a later run: the process died mid-run


class Trigger(StrEnum):
    """Who started a run."""

    SCHEDULE = "schedule"
    MANUAL = "manual"


@dataclass(frozen=True)
class Window:
    """Rows whose change time (updated_at) is in [since, until).

    A lookback window re-reads rows that were most likely loaded already.
    """

    since: datetime
    until: datetime
    lookback: bool = False


@dataclass(frozen=True)
class Loaded:
    """The change times the warehouse should hold after a batch: all before the watermark
    (None: no watermark yet), and those in the batch's window."""

    watermark: datetime | None
    window: Window


@dataclass(frozen=True)
class Interval:
    """The change-time interval a run covers, [start, end), split into per-day batches.

    A nightly interval continues from the watermarks (or is the first load of all) and may
    create them; a backfill only moves watermarks it reaches.
    """

    start: datetime
    end: datetime
    nightly: bool = False

    def batches(self) -> list[Window]:
        """Consecutive windows ending at each UTC midnight inside the interval."""
        windows, since = [], self.start
        while since < self.end:
            until = min(start_of_day(since.date() + timedelta(days=1)), self.end)
            windows.append(Window(since, until))
            since = until
        return windows


def start_of_day(day: date) -> datetime:
    """Midnight UTC at the start of ``day``."""
    return datetime.combine(day, time(), tzinfo=UTC)


@dataclass(frozen=True)
class Mismatch:
    """A day whose totals in a warehouse table differ from what they should be."""

    day: date
    table: str
    expected: DayTotals
    found: DayTotals

    def __str__(self) -> str:
        return f"{self.day} {self.table}: expected {self.expected}, found {self.found}"


class ReconciliationFailed(Exception):
    """The warehouse disagrees with the sources after a load; the batch was rolled back."""

    def __init__(self, mismatches: list[Mismatch]) -> None:
        shown = "; ".join(str(m) for m in mismatches[:5])
        more = f" (+{len(mismatches) - 5} more)" if len(mismatches) > 5 else ""
        super().__init__(f"reconciliation failed on {len(mismatches)} day(s): {shown}{more}")
        self.mismatches = mismatches


class RunInProgress(Exception):
    """Another ETL run holds the warehouse lock."""


@dataclass
class Counts:
    """Rows read from the sources, written to the warehouse and set aside, per source."""

    read: dict[str, int] = field(default_factory=dict)
    written: dict[str, int] = field(default_factory=dict)
    quarantined: dict[str, int] = field(default_factory=dict)

    def add(self, other: Counts) -> None:
        """Accumulate another batch's counts."""
        pairs = (
            (self.read, other.read),
            (self.written, other.written),
            (self.quarantined, other.quarantined),
        )
        for mine, theirs in pairs:
            for name, value in theirs.items():
                mine[name] = mine.get(name, 0) + value

    @property
    def rows_written(self) -> int:
        """All rows written, whatever the table."""
        return sum(self.written.values())


@dataclass(frozen=True)
class RunReport:
    """How a run ended."""

    run_id: str
    interval: Interval
    status: RunStatus
    counts: Counts
    seconds: float
    error: str = ""
    notes: tuple[str, ...] = ()  # what the run chose not to do, and why
