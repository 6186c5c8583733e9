"""Composition root and command line of the ETL: ``python -m etl`` (or ``etl``).

etl migrate                          create/upgrade the warehouse schema
etl run [--date D | --from D --to D] load last night (or the given days), with a bar
etl schedule                         catch up, then run every night at ETL_SCHEDULE_AT
etl report [NAME] [--limit N]        print the reporting views
etl runs [--limit N]                 print the run manifest
etl quarantine [--limit N]           print the source rows set aside, and why
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import logging
import signal
import sys
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Never

import psycopg
from pymongo.errors import PyMongoError
from sqlalchemy.exc import SQLAlchemyError
from tqdm import tqdm

from etl import reports
from etl.config import EtlSettings
from etl.domain import ReconciliationFailed, RunInProgress, RunReport, Trigger, Window
from etl.pipeline import EtlDeps, NoProgress, Progress, days_interval, nightly_interval, run_etl
from etl.schedule import NightlyScheduler, StopRequested, StopSignal
from etl.sources import (
    ActivitySource,
    ExportedActivitySource,
    HealthSource,
    SqlActivitySource,
    SqlHealthSource,
    SqlUserSource,
)
from etl.warehouse import Warehouse
from services.activity.export import connect_mongo
from services.common.db import make_engine, migrate
from services.common.logs import configure_logging
from services.common.timeutil import parse_date, utc_now

MIGRATIONS = Path(__file__).parent / "migrations"
log = logging.getLogger("etl")


class BarProgress:
    """A tqdm bar over the workouts a run reads."""

    def __init__(self) -> None:
        self._bar: tqdm[Never] | None = None

    def begin(self, count_rows: Callable[[], int]) -> None:
        """Open the bar."""
        self._bar = tqdm(total=count_rows(), unit=" workouts", unit_scale=True, file=sys.stderr)

    def advance(self, rows: int) -> None:
        """Move the bar."""
        if self._bar is not None:
            self._bar.update(rows)

    def close(self) -> None:
        """Close the bar."""
        if self._bar is not None:
            self._bar.close()


def build_deps(settings: EtlSettings, progress: Progress | None = None) -> EtlDeps:
    """Wire the sources and the warehouse from settings."""
    return EtlDeps(
        users=SqlUserSource(make_engine(settings.user_database_url, pool_size=2)),
        activity=build_activity_source(settings),
        warehouse=Warehouse(settings.warehouse_url),
        health=build_health_source(settings),
        lookback=timedelta(hours=settings.lookback_hours),
        progress=progress or NoProgress(),
        after_batch=pause(settings.pause_after_batch) if settings.pause_after_batch else None,
    )


def pause(seconds: float) -> Callable[[Window], None]:
    """Testing only: a hook that sleeps after each batch, so a test can kill us between."""
    return lambda _window: time.sleep(seconds)


def build_activity_source(settings: EtlSettings) -> ActivitySource:
    """The configured activity store: SQL (embedded default) or MongoDB (production)."""
    if settings.activity_store == "mongo":
        return ExportedActivitySource(
            connect_mongo(settings.activity_mongo_url, settings.activity_mongo_database)
        )
    return SqlActivitySource(make_engine(settings.activity_database_url, pool_size=2))


def build_health_source(settings: EtlSettings) -> HealthSource | None:
    """The health-metrics database, if one is configured (else the runs skip health facts)."""
    if not settings.health_database_url:
        return None
    return SqlHealthSource(make_engine(settings.health_database_url, pool_size=2))


def migrate_warehouse(settings: EtlSettings) -> None:
    """Bring the warehouse schema to the newest revision."""
    engine = make_engine(settings.warehouse_url, pool_size=1)
    migrate(engine, MIGRATIONS)
    engine.dispose()


def run_command(settings: EtlSettings, args: argparse.Namespace) -> int:
    """``etl run``: the nightly interval, or the days asked for."""
    bar = BarProgress() if args.progress else None
    deps = build_deps(settings, bar)
    first = args.date or args.first
    interval = (
        days_interval(first, args.date or args.last or first, utc_now())
        if first
        else nightly_interval(deps)
    )
    if interval is None:
        print("nothing to load: the warehouse is up to last midnight", file=sys.stderr)
        return 0
    try:
        report = run_etl(deps, interval, Trigger.MANUAL)
    finally:
        if bar:
            bar.close()
    print(describe(report))
    return 0


def describe(report: RunReport) -> str:
    """One paragraph on how a run went."""
    interval = report.interval
    return (
        f"run {report.run_id} {report.status}: {interval.start:%Y-%m-%d %H:%M} .. "
        f"{interval.end:%Y-%m-%d %H:%M} UTC in {report.seconds:.1f}s\n"
        f"  read    {report.counts.read}\n  written {report.counts.written}"
        + _quarantined(report)
        + "".join(f"\n  note    {note}" for note in report.notes)
    )


def _quarantined(report: RunReport) -> str:
    """A line naming the rows set aside, if any were."""
    quarantined = {name: n for name, n in report.counts.quarantined.items() if n}
    if not quarantined:
        return ""
    return f"\n  quarantined {quarantined} (see etl_quarantine; etl quarantine lists them)"


def schedule_command(settings: EtlSettings) -> int:
    """``etl schedule``: the nightly loop, until SIGTERM or Ctrl-C.

    A stop is seen while waiting, or after the batch in flight commits.
    """
    stop = StopSignal()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, stop.request)
    if not wait_for_warehouse(settings, stop.wait):
        return 0
    if settings.migrate_on_start:
        migrate_warehouse(settings)
    deps = with_stop(build_deps(settings), stop)
    if deps.health and not wait_for_health(deps.health, settings.startup_timeout, stop.wait):
        log.warning("the health database is not ready: this run's health facts may fail")

    def run_pending() -> None:
        if stop.requested:  # asked while starting up: no run to begin
            return
        interval = nightly_interval(deps)
        if interval is None:
            log.info("warehouse is up to date")
            return
        log.info("%s", describe(run_etl(deps, interval, Trigger.SCHEDULE)))

    retry = timedelta(minutes=settings.retry_minutes)
    scheduler = NightlyScheduler(run_pending, settings.schedule_at, retry, utc_now, stop.wait)
    with contextlib.suppress(StopRequested):  # the manifest says the run was stopped
        scheduler.run_forever()
    return 0


def with_stop(deps: EtlDeps, stop: StopSignal) -> EtlDeps:
    """The deps with a stop check after each committed batch (after any testing pause)."""
    pause_hook = deps.after_batch

    def after_batch(window: Window) -> None:
        if pause_hook:
            pause_hook(window)
        stop.between_batches(window)

    return dataclasses.replace(deps, after_batch=after_batch)


def wait_for_warehouse(settings: EtlSettings, wait: Callable[[float], bool]) -> bool:
    """Block until the warehouse accepts connections (it may be starting next to us).

    False if ``wait`` says stop first.
    """
    deadline = time.monotonic() + settings.startup_timeout
    while True:
        try:
            Warehouse(settings.warehouse_url, connect_timeout=2).connect().close()
            return True
        except psycopg.OperationalError:
            if time.monotonic() > deadline:
                raise
            if wait(0.5):
                return False


def wait_for_health(source: HealthSource, timeout: float, wait: Callable[[float], bool]) -> bool:
    """Wait until the health service has created its tables (it may start after us).

    False after ``timeout`` seconds, or if ``wait`` says stop first.
    """
    deadline = time.monotonic() + timeout
    while not source.ready():
        if time.monotonic() > deadline or wait(0.5):
            return False
    return True


def report_command(settings: EtlSettings, args: argparse.Namespace) -> int:
    """``etl report``: one named report, or all of them."""
    warehouse = Warehouse(settings.warehouse_url)
    for name in [args.name] if args.name else list(reports.REPORTS):
        columns, rows = reports.fetch(warehouse, name, args.limit)
        print(f"== {name}: {reports.REPORTS[name].title}\n{reports.render(columns, rows)}\n")
    return 0


def runs_command(settings: EtlSettings, args: argparse.Namespace) -> int:
    """``etl runs``: the newest manifest rows."""
    columns, rows = Warehouse(settings.warehouse_url).query(reports.RUNS_QUERY, (args.limit,))
    print(reports.render(columns, rows))
    return 0


def quarantine_command(settings: EtlSettings, args: argparse.Namespace) -> int:
    """``etl quarantine``: the source rows the warehouse could not hold, newest first."""
    statement = reports.QUARANTINE_QUERY
    columns, rows = Warehouse(settings.warehouse_url).query(statement, (args.limit,))
    print(reports.render(columns, rows))
    return 0


def parser() -> argparse.ArgumentParser:
    """The command line."""
    root = argparse.ArgumentParser(prog="etl", description="Nightly warehouse ETL")
    commands = root.add_subparsers(dest="command", required=True)
    commands.add_parser("migrate", help="create or upgrade the warehouse schema")
    run = commands.add_parser("run", help="load last night, or the days given")
    days = run.add_mutually_exclusive_group()
    days.add_argument("--date", type=parse_date, help="one UTC day, YYYY-MM-DD")
    days.add_argument("--from", dest="first", type=parse_date, help="first UTC day")
    run.add_argument("--to", dest="last", type=parse_date, help="last UTC day (with --from)")
    run.add_argument("--no-progress", dest="progress", action="store_false")
    commands.add_parser("schedule", help="run every night at ETL_SCHEDULE_AT (UTC)")
    report = commands.add_parser("report", help="print the reporting views")
    report.add_argument("name", nargs="?", choices=sorted(reports.REPORTS))
    report.add_argument("--limit", type=int, default=20)
    runs = commands.add_parser("runs", help="print the run manifest")
    runs.add_argument("--limit", type=int, default=10)
    quarantine = commands.add_parser("quarantine", help="print the rows set aside, and why")
    quarantine.add_argument("--limit", type=int, default=50)
    return root


def main(argv: list[str] | None = None) -> int:
    """Parse the command line and run it; the exit code says how it went."""
    cli = parser()
    args = cli.parse_args(argv)
    if args.command == "run" and args.last and not args.first:
        cli.error("--to needs --from")
    settings = EtlSettings()
    configure_logging("etl", settings.log_level)
    if not settings.warehouse_url:
        cli.error("ETL_WAREHOUSE_URL is not set: the warehouse's PostgreSQL URL")
    try:
        return dispatch(settings, args)
    except ReconciliationFailed as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    except RunInProgress as error:
        print(f"error: {error}", file=sys.stderr)
        return 3
    except (psycopg.Error, SQLAlchemyError, PyMongoError, ValueError) as error:
        # A store unreachable or not what we expect: say so, no traceback.
        cause = getattr(error, "orig", None) or error  # the driver's words, not SQLAlchemy's
        print(f"error: {type(error).__name__}: {cause}", file=sys.stderr)
        return 1


def dispatch(settings: EtlSettings, args: argparse.Namespace) -> int:
    """Run one command."""
    if args.command == "migrate":
        migrate_warehouse(settings)
        return 0
    if args.command == "run":
        return run_command(settings, args)
    if args.command == "schedule":
        return schedule_command(settings)
    if args.command == "report":
        return report_command(settings, args)
    if args.command == "quarantine":
        return quarantine_command(settings, args)
    return runs_command(settings, args)


if __name__ == "__main__":
    sys.exit(main())
