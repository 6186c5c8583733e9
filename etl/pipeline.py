"""The ETL use cases: plan a run's interval, then extract, transform, load and reconcile
it one day-batch at a time, each committed with its watermarks."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, Protocol, TypeVar

from etl.batch import BatchLoad
from etl.domain import (
    GOALS,
    SOURCES,
    USERS,
    WORKOUTS,
    Counts,
    Interval,
    Loaded,
    ReconciliationFailed,
    RunReport,
    RunStatus,
    Trigger,
    Window,
    start_of_day,
)
from etl.health import SKIPPED, load_health
from etl.quarantine import PROBLEMS, Screen
from etl.sources import ActivitySource, HealthSource, UserSource
from etl.transform import add_totals, compare_totals, goal_fact, user_version, workout_fact
from etl.warehouse import Warehouse
from services.common.timeutil import Clock, utc_now

T = TypeVar("T")
# Rows written besides the sources' own: dates, and the daily aggregates.
DATES, AGGREGATES = "dates", "daily_activity"


class Progress(Protocol):
    """Where a run reports how far it got (a progress bar, or nothing)."""

    def begin(self, count_rows: Callable[[], int]) -> None:
        """The run starts; ``count_rows()`` says how many workouts it will read (a query)."""
        ...

    def advance(self, rows: int) -> None:
        """This many more workouts were read."""
        ...


class NoProgress:
    """Progress that shows nothing."""

    def begin(self, count_rows: Callable[[], int]) -> None:
        """Ignore, without counting."""

    def advance(self, rows: int) -> None:
        """Ignore."""


@dataclass(frozen=True)
class EtlDeps:
    """Everything a run needs, built by the composition root."""

    users: UserSource
    activity: ActivitySource
    warehouse: Warehouse
    health: HealthSource | None = None  # None: no health database configured
    lookback: timedelta = timedelta(hours=48)
    clock: Clock = utc_now
    progress: Progress = field(default_factory=NoProgress)
    # Testing only: called after each committed batch (crash injection, pauses).
    after_batch: Callable[[Window], None] | None = None


def days_interval(first: date, last: date, now: datetime | None = None) -> Interval:
    """The interval of changes made on the days first..last (UTC), both included.

    It stops at ``now``: a watermark must not claim a future that has not happened.
    """
    if last < first:
        raise ValueError(f"--to {last} is before --from {first}")
    start, end = start_of_day(first), start_of_day(last + timedelta(days=1))
    if now is not None and start >= now:
        raise ValueError(f"{first} has not begun yet (UTC)")
    return Interval(start, min(end, now) if now else end)


def nightly_interval(deps: EtlDeps) -> Interval | None:
    """From the oldest watermark (or the first change ever) to last midnight; None if done.

    Done with the batches, a run with a health source still has its health step to do (a
    health night that failed is retried so): an empty interval ending at last midnight.
    """
    cutoff = start_of_day(deps.clock().date())
    marks = deps.warehouse.watermarks()
    if len(marks) == len(SOURCES):
        start = min(marks.values())
    else:
        earliest = [deps.users.earliest_change(), deps.activity.earliest_change()]
        known = [moment for moment in earliest if moment]
        if not known:
            return None
        start = start_of_day(min(known).date())
    if start < cutoff:
        return Interval(start, cutoff, nightly=True)
    return Interval(cutoff, cutoff, nightly=True) if deps.health else None


def run_etl(deps: EtlDeps, interval: Interval, trigger: Trigger = Trigger.MANUAL) -> RunReport:
    """Load the interval batch by batch; a failed batch fails the run and changes nothing."""
    run_id = str(uuid.uuid4())
    began = time.monotonic()
    counts = Counts()
    with deps.warehouse.exclusive():
        resume_at = deps.warehouse.start_run(run_id, trigger, interval, deps.clock())
        windows = _windows_to_load(interval, resume_at, deps.lookback)
        try:
            deps.progress.begin(lambda: sum(deps.activity.count_workouts(w) for w in windows))
            for window in windows:
                counts.add(_load_batch(deps, run_id, window, counts, interval.nightly))
                if deps.after_batch:
                    deps.after_batch(window)
            notes = _load_health(deps, interval, counts)
        except BaseException as error:  # also SIGTERM's SystemExit: say why the run stopped
            seconds = time.monotonic() - began
            reason = str(error) or type(error).__name__
            deps.warehouse.finish_run(run_id, RunStatus.FAILED, deps.clock(), seconds, reason)
            raise
        seconds = time.monotonic() - began
        deps.warehouse.finish_run(run_id, RunStatus.SUCCEEDED, deps.clock(), seconds)
    return RunReport(run_id, interval, RunStatus.SUCCEEDED, counts, seconds, notes=notes)


def _load_health(deps: EtlDeps, interval: Interval, counts: Counts) -> tuple[str, ...]:
    """The daily health facts, after the batches; a note when there is no health source."""
    if deps.health is None:
        return (SKIPPED,)
    counts.add(load_health(deps.health, deps.warehouse, interval, deps.users.erased_users()))
    return ()


def _windows_to_load(
    interval: Interval, resume_at: datetime | None, lookback: timedelta
) -> list[Window]:
    """The interval's day batches after the resume point, after a lookback batch."""
    windows = [w for w in interval.batches() if not resume_at or w.until > resume_at]
    if windows and lookback:
        since = windows[0].since
        windows.insert(0, Window(since - lookback, since, lookback=True))
    return windows


def _load_batch(
    deps: EtlDeps, run_id: str, window: Window, so_far: Counts, nightly: bool
) -> Counts:
    """Extract, transform and load one window, reconcile it, and commit it with watermarks."""
    batch = Counts()
    with deps.warehouse.batch() as load:
        loaded = Loaded(load.watermark(WORKOUTS), window)
        users = _screen(load, USERS, _counted(deps.users.users(window), batch, USERS))
        goals = _screen(load, GOALS, _counted(deps.users.goals(window), batch, GOALS))
        deletions = _counted(deps.users.goal_deletions(window), batch, GOALS)
        batch.written[USERS] = load.load_users(map(user_version, users.rows()))
        batch.written[GOALS] = load.load_goals(map(goal_fact, goals.rows()))
        batch.written[GOALS] += load.apply_goal_deletions(deletions)
        workouts = _load_workouts(deps, window, load, batch)
        # Every batch, not just the deletion's: a backfill of an older day must not
        # compare facts of an erased account with a source that no longer has them.
        batch.written[USERS] += load.erase_users(deps.users.erased_users())
        for screen in (users, goals, workouts):
            batch.quarantined[screen.source] = _set_aside(load, run_id, screen, deps.clock())
        batch.written[DATES] = load.add_dates()
        days, batch.written[AGGREGATES] = load.refresh_aggregates()
        _reconcile(deps.activity, load, days, loaded)
        load.advance_watermarks(SOURCES, window, deps.clock(), may_create=nightly)
        total = Counts()
        total.add(so_far)
        total.add(batch)
        load.record_progress(run_id, total, window.until)
    return batch


def _load_workouts(deps: EtlDeps, window: Window, load: BatchLoad, batch: Counts) -> Screen[Any]:
    """Append the window's workouts with COPY; stage and upsert them if some were loaded.

    Returns the screen of the extract that was loaded, with the rows it set aside.
    """
    if not window.lookback:
        workouts = _workouts(deps, window, load, batch)
        appended = load.append_workouts(map(workout_fact, workouts.rows()))
        if appended is not None:
            batch.written[WORKOUTS] = appended
            return workouts
    # A re-read: extract again (the stream is spent), then upsert on the natural key.
    batch.read[WORKOUTS] = 0
    workouts = _workouts(deps, window, load, batch)
    batch.written[WORKOUTS] = load.load_workouts(map(workout_fact, workouts.rows()))
    return workouts


def _workouts(deps: EtlDeps, window: Window, load: BatchLoad, batch: Counts) -> Screen[Any]:
    rows = _counted(deps.activity.workouts(window), batch, WORKOUTS, deps.progress)
    return _screen(load, WORKOUTS, rows)


def _screen(load: BatchLoad, source: str, rows: Iterable[Any]) -> Screen[Any]:
    """A screen over one source's rows, knowing which of its keys are in quarantine."""
    return Screen(source, PROBLEMS[source], rows, load.quarantined_keys(source))


def _set_aside(load: BatchLoad, run_id: str, screen: Screen[Any], now: datetime) -> int:
    """Quarantine what the screen kept back, release what now loads; returns how many."""
    load.release(screen.source, screen.released)
    return load.quarantine(run_id, screen.set_aside, now)


def _reconcile(activity: ActivitySource, load: BatchLoad, days: list[date], loaded: Loaded) -> None:
    """Check the touched days' counts and sums: the facts against the source (both over
    the change times the warehouse should hold), the aggregates against the facts."""
    if not days:
        return
    wanted = set(days)
    source = {
        day: totals
        for day, totals in activity.daily_totals(days[0], days[-1], loaded).items()
        if day in wanted
    }
    accounted = add_totals(load.fact_totals(days, loaded), load.quarantine_totals(days, loaded))
    mismatches = [
        *compare_totals("fact_workout", source, accounted),
        *compare_totals("agg_daily_activity", load.fact_totals(days), load.aggregate_totals(days)),
    ]
    if mismatches:
        raise ReconciliationFailed(mismatches)


def _counted(
    rows: Iterable[T], counts: Counts, source: str, progress: Progress | None = None
) -> Iterator[T]:
    """Pass rows through, counting them as read from ``source``."""
    counts.read.setdefault(source, 0)
    step = 5_000
    seen = 0
    for row in rows:
        seen += 1
        if progress and seen % step == 0:
            progress.advance(step)
        yield row
    counts.read[source] += seen
    if progress:
        progress.advance(seen % step)
