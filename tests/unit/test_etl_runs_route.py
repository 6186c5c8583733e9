"""The ETL-runs route's rendering rules, and the launcher giving the gateway the warehouse."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from deploy.local.components import build_topology
from deploy.local.topology import LocalSettings
from gateway.routes.etl_runs import (
    QUARANTINE_CAP,
    libpq_url,
    manifest,
    reconciliation,
    run_response,
)

STARTED = datetime(2026, 3, 3, 2, 0, tzinfo=UTC)


def test_a_run_whose_batch_did_not_reconcile_shows_a_failed_reconciliation() -> None:
    error = "reconciliation failed on 1 day(s): 2026-03-02 fact_workout: expected 2, found 1"
    assert reconciliation("failed", error) == "failed"


def test_a_succeeded_run_reconciled_every_batch() -> None:
    assert reconciliation("succeeded", "") == "passed"


def test_a_run_that_failed_otherwise_or_runs_still_has_no_reconciliation_outcome() -> None:
    assert reconciliation("failed", "activity store went away mid-extract") is None
    assert reconciliation("crashed", "the process died mid-run") is None
    assert reconciliation("running", "") is None


def test_a_running_run_has_no_end_and_an_empty_error_is_null() -> None:
    row: tuple[object, ...] = (
        "r-1",
        "schedule",
        "running",
        STARTED,
        STARTED,
        {},
        {},
        {},
        STARTED,
        None,
        None,
        "",
    )

    run = run_response(row)

    assert (run.finished_at, run.duration_seconds, run.error) == (None, None, None)
    assert run.started_at == "2026-03-03T02:00:00.000Z"


def test_a_count_at_the_cap_is_exact_and_one_past_it_is_capped() -> None:
    at_cap, past = manifest([], QUARANTINE_CAP), manifest([], QUARANTINE_CAP + 1)

    assert (at_cap.quarantined, at_cap.quarantined_capped) == (QUARANTINE_CAP, False)
    assert (past.quarantined, past.quarantined_capped) == (QUARANTINE_CAP, True)


def test_a_sqlalchemy_url_loses_its_driver_and_a_libpq_url_stays_as_it_is() -> None:
    assert libpq_url("postgresql+psycopg://u:p@h:5432/w") == "postgresql://u:p@h:5432/w"
    assert libpq_url("postgresql://u:p@h:5432/w") == "postgresql://u:p@h:5432/w"


def test_the_launcher_gives_the_gateway_the_warehouse_the_etl_loads() -> None:
    topology = build_topology(LocalSettings(data_dir=Path("run"), redis_url=""))
    specs = {spec.name: spec for spec in topology.specs}

    warehouse = specs["gateway"].env["GATEWAY_WAREHOUSE_URL"]

    assert warehouse == specs["etl"].env["ETL_WAREHOUSE_URL"] != ""
