"""Watch-log use cases: ingest a batch, list, roll up, read summaries and pipeline state."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from services.common.timeutil import Clock, utc_now
from services.watch_logs.domain import (
    BucketWidth,
    DailySummary,
    IngestResult,
    InvalidInput,
    LogFilter,
    RangeTooLarge,
    Rejection,
    Rollup,
    ScanCursor,
    ScanPage,
    StoredLog,
    StreamStatus,
    WatchLog,
)
from services.watch_logs.repository import WatchLogStore
from services.watch_logs.rollups import roll_up
from services.watch_logs.validation import MAX_BATCH, Window, check_id, problem_of

DEFAULT_SPAN = timedelta(hours=24)
MAX_PAGE_SIZE = 1000
DEFAULT_PAGE_SIZE = 100
MAX_SUMMARY_DAYS = 31
# Seconds of the caller's deadline a rollup keeps to answer "narrow it" in.
DEADLINE_MARGIN = 0.5
# An entry the batch could not even translate (an unreadable timestamp): the reason.
Candidate = WatchLog | InvalidInput


@dataclass(frozen=True)
class Limits:
    """The acceptance window and the read bounds of the service."""

    max_sample_age: timedelta = timedelta(hours=24)
    max_clock_skew: timedelta = timedelta(minutes=5)
    retention: timedelta = timedelta(days=7)
    scan_budget: int = 20_000
    aggregate_budget: int = 200_000


def unbounded() -> float:
    """No deadline: infinitely many seconds left."""
    return math.inf


@dataclass(frozen=True)
class WatchLogDeps:
    """What the use cases need; ``time_left`` tells the seconds left of the caller's deadline."""

    store: WatchLogStore
    limits: Limits = Limits()
    clock: Clock = utc_now
    time_left: Callable[[], float] = unbounded


def ingest(deps: WatchLogDeps, user_id: str, candidates: Sequence[Candidate]) -> IngestResult:
    """Store the batch's valid logs once each; list why the others were refused."""
    check_id("user_id", user_id)
    if not 1 <= len(candidates) <= MAX_BATCH:
        raise InvalidInput(f"a batch holds 1 to {MAX_BATCH} logs")
    now = deps.clock()
    window = Window(now, deps.limits.max_sample_age, deps.limits.max_clock_skew)
    valid, rejected = _sort_out(candidates, window)
    stored = deps.store.append(user_id, [log for _, log in valid], now) if valid else []
    accepted = sum(stored)
    return IngestResult(accepted, len(stored) - accepted, tuple(rejected))


def list_logs(
    deps: WatchLogDeps, where: LogFilter, page_size: int, after: ScanCursor | None
) -> ScanPage:
    """One bounded page of matching logs, in store order."""
    if not 0 <= page_size <= MAX_PAGE_SIZE:
        raise InvalidInput(f"page_size must be between 1 and {MAX_PAGE_SIZE}")
    return deps.store.scan(where, after, page_size or DEFAULT_PAGE_SIZE, deps.limits.scan_budget)


def aggregate(deps: WatchLogDeps, where: LogFilter, width: BucketWidth) -> list[Rollup]:
    """Hourly or daily rollups of every matching log; RangeTooLarge past the budget."""
    return roll_up(_every_log(deps, where), width)


def daily_summaries(
    deps: WatchLogDeps, user_id: str, first: date, last: date
) -> list[DailySummary]:
    """The consumer group's summaries of the user's days first..last (last at most 31 after)."""
    check_id("user_id", user_id)
    if not timedelta(0) <= last - first <= timedelta(days=MAX_SUMMARY_DAYS):
        raise InvalidInput(f"to_date must be from_date or up to {MAX_SUMMARY_DAYS} days after")
    return deps.store.daily_summaries(user_id, first, last)


def pipeline_status(deps: WatchLogDeps) -> list[StreamStatus]:
    """Every partition stream's length, lag, pending and dead-lettered entries."""
    return deps.store.status()


def log_filter(
    deps: WatchLogDeps,
    start: datetime | None,
    end: datetime | None,
    **only: str,
) -> LogFilter:
    """The filter a read names: times default to the 24 hours up to now, empty ids to all."""
    now = deps.clock()
    try:
        end = end or now
        start = start or end - DEFAULT_SPAN
    except OverflowError:  # a to_time near year 1
        raise InvalidInput("to_time is out of range") from None
    if start >= end:
        raise InvalidInput("from_time must be before to_time")
    # Nothing older than the retention window is served, even in a partition the trim
    # (on each append) has not visited since: a range before it is empty.
    start = min(max(start, _retained_since(now, deps.limits.retention)), end)
    for name, value in only.items():
        if value and name != "activity":
            check_id(name, value)
    chosen = {name: value or None for name, value in only.items()}
    return LogFilter(start=start, end=end, **chosen)


def _retained_since(now: datetime, retention: timedelta) -> datetime:
    try:
        return now - retention
    except OverflowError:
        return datetime.min.replace(tzinfo=now.tzinfo)


def _sort_out(
    candidates: Sequence[Candidate], window: Window
) -> tuple[list[tuple[int, WatchLog]], list[Rejection]]:
    valid: list[tuple[int, WatchLog]] = []
    rejected = []
    first_of: dict[str, int] = {}
    for index, candidate in enumerate(candidates):
        reason = _reason(candidate, window)
        if reason is None and isinstance(candidate, WatchLog):
            earlier = first_of.setdefault(candidate.message_id, index)
            reason = f"repeats the message_id of entry {earlier}" if earlier != index else None
        if reason is None and isinstance(candidate, WatchLog):
            valid.append((index, candidate))
        else:
            rejected.append(Rejection(index, _message_id(candidate), reason or ""))
    return valid, rejected


def _reason(candidate: Candidate, window: Window) -> str | None:
    if isinstance(candidate, InvalidInput):
        return str(candidate)
    return problem_of(candidate, window)


def _message_id(candidate: Candidate) -> str:
    return candidate.message_id if isinstance(candidate, WatchLog) else ""


def _every_log(deps: WatchLogDeps, where: LogFilter) -> Iterator[StoredLog]:
    budget = deps.limits.scan_budget
    rounds = max(1, deps.limits.aggregate_budget // budget)
    after: ScanCursor | None = None
    for round_ in range(rounds):
        # A scan the caller will not wait for is work for nobody: stop while it can hear why
        # (after the first page: a small range is answered however late it came).
        if round_ and deps.time_left() < DEADLINE_MARGIN:
            raise RangeTooLarge(
                "the range holds more entries than can be rolled up in time; narrow it "
                "(a user, a shorter time range)"
            )
        page = deps.store.scan(where, after, budget, budget)
        yield from page.logs
        if page.next_cursor is None:
            return
        after = page.next_cursor
    raise RangeTooLarge(
        f"the range holds more than {deps.limits.aggregate_budget} entries to roll up; "
        "narrow it (a user, a shorter time range)"
    )
