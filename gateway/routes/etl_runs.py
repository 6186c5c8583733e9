"""GET /admin/etl-runs: the ETL's run manifest and its quarantine, read from the warehouse.

The manifest lives only in the warehouse (etl_runs, etl_quarantine), which no service
fronts: the gateway reads it itself, read-only, one short connection per request. A
warehouse that is down, slow or not yet migrated is a 503, never a hung request or a 500.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime
from typing import Annotated, Any

import psycopg
from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, ValidationError

from gateway.config import GatewaySettings
from gateway.edge.dependencies import Admin, errors
from gateway.edge.errors import ApiError
from services.common.timeutil import format_time

router = APIRouter(tags=["admin"])
log = logging.getLogger(__name__)
# Seconds; libpq's own floor is 2. A warehouse that does not answer by then is down.
CONNECT_TIMEOUT = 2
# The ETL's manifest entry of a batch that did not reconcile (etl.domain.ReconciliationFailed).
RECONCILIATION_FAILED = "reconciliation failed"
# A warehouse back from a restart answers within seconds.
RETRY_AFTER = "5"
RUNS = (
    "SELECT run_id::text, trigger, status, interval_start, interval_end, rows_read,"
    " rows_written, rows_quarantined, started_at, finished_at, duration_seconds, error"
    " FROM etl_runs ORDER BY started_at DESC, run_id LIMIT %s"
)
# Counting stops past the cap: a huge quarantine must not make the count outlast the
# deadline (and the page shows "100,000+", not a number nobody reads to the last digit).
QUARANTINE_CAP = 100_000
QUARANTINED = f"SELECT count(*) FROM (SELECT 1 FROM etl_quarantine LIMIT {QUARANTINE_CAP + 1}) q"
# Of the deadline, the server's statement_timeout: a slow query ends as QueryCanceled (its
# own message) before asyncio.timeout ends the request as "unavailable".
STATEMENT_SHARE = 0.8


class EtlRunResponse(BaseModel):
    """One ETL run: what it covered, how far it got, what it moved, how it ended."""

    run_id: str
    trigger: str
    status: str
    interval_start: str
    interval_end: str
    rows_read: dict[str, int]
    rows_written: dict[str, int]
    rows_quarantined: dict[str, int]
    started_at: str
    finished_at: str | None
    duration_seconds: float | None
    error: str | None
    reconciliation: str | None


class EtlRunList(BaseModel):
    """The newest runs first, and how many source rows are in quarantine now (at most
    QUARANTINE_CAP; ``quarantined_capped`` when there are more)."""

    runs: list[EtlRunResponse]
    quarantined: int
    quarantined_capped: bool


@router.get("/admin/etl-runs", response_model=EtlRunList, responses=errors(401, 403, 422, 503))
async def list_etl_runs(
    _admin: Admin, request: Request, page_size: Annotated[int, Query(ge=1, le=200)] = 20
) -> EtlRunList:
    """The newest ETL runs with their counts, errors and reconciliation outcome, and the
    number of quarantined source rows. 503 when the warehouse is not configured or down."""
    settings: GatewaySettings = request.app.state.settings
    if not settings.warehouse_url:
        raise ApiError(503, "the warehouse is not configured")
    rows, count = await read_manifest(
        libpq_url(settings.warehouse_url), page_size, settings.call_timeout
    )
    try:
        return manifest(rows, count)
    except (ValidationError, TypeError, ValueError, AttributeError) as error:
        # A row this gateway cannot render (a newer ETL's shape, a hand edit): say so, not 500.
        log.error("unreadable ETL manifest row: %r", error)
        raise ApiError(
            503, "the warehouse's ETL manifest has a row this gateway cannot read"
        ) from error


async def read_manifest(url: str, limit: int, deadline: float) -> tuple[list[Any], int]:
    """The newest ``limit`` manifest rows and the quarantine's size, within ``deadline`` s."""
    try:
        async with asyncio.timeout(deadline):
            return await _query(url, limit, deadline)
    except psycopg.errors.UndefinedTable as error:
        log.warning("warehouse has no ETL manifest: %s", error)
        raise ApiError(
            503, "the warehouse has no ETL manifest yet: the ETL has not migrated it"
        ) from error
    except psycopg.errors.InsufficientPrivilege as error:
        # Not transient: no Retry-After, a grant is missing.
        log.error("the gateway's warehouse role may not read the manifest: %s", error)
        raise ApiError(
            503, "the gateway may not read the ETL manifest: its warehouse role lacks a grant"
        ) from error
    except psycopg.errors.QueryCanceled as error:
        log.warning("ETL manifest query outlasted its statement_timeout: %s", error)
        raise ApiError(
            503,
            "the warehouse took too long to read the ETL manifest",
            headers={"Retry-After": RETRY_AFTER},
        ) from error
    except (psycopg.Error, OSError) as error:  # TimeoutError is an OSError
        log.warning("warehouse unavailable: %r", error)
        raise ApiError(
            503, "the warehouse is unavailable", headers={"Retry-After": RETRY_AFTER}
        ) from error


async def _query(url: str, limit: int, deadline: float) -> tuple[list[Any], int]:
    # The server stops a statement before the deadline too: a cancelled client must not
    # leave it running. Read-only: this route can never change the warehouse.
    statement_ms = int(deadline * STATEMENT_SHARE * 1000)
    options = f"-c statement_timeout={statement_ms} -c default_transaction_read_only=on"
    connection = await psycopg.AsyncConnection.connect(
        url, connect_timeout=CONNECT_TIMEOUT, options=options, autocommit=True
    )
    async with connection:
        runs = await (await connection.execute(RUNS, (limit,))).fetchall()
        count = await (await connection.execute(QUARANTINED)).fetchone()
    return runs, int(count[0]) if count else 0


def manifest(rows: list[Any], count: int) -> EtlRunList:
    """The answer: rendered rows and the quarantine's count, capped."""
    return EtlRunList(
        runs=[run_response(row) for row in rows],
        quarantined=min(count, QUARANTINE_CAP),
        quarantined_capped=count > QUARANTINE_CAP,
    )


def run_response(row: Any) -> EtlRunResponse:
    """Render a manifest row: times as RFC 3339 UTC, an empty error as null."""
    (run_id, trigger, status, start, end, read, written, quarantined) = row[:8]
    started, finished, seconds, error = row[8:]
    return EtlRunResponse(
        run_id=run_id,
        trigger=trigger,
        status=status,
        interval_start=format_time(start),
        interval_end=format_time(end),
        rows_read=read or {},
        rows_written=written or {},
        rows_quarantined=quarantined or {},
        started_at=format_time(started),
        finished_at=_time_or_none(finished),
        duration_seconds=seconds,
        error=error or None,
        reconciliation=reconciliation(status, error),
    )


def reconciliation(status: str, error: str) -> str | None:
    """ "failed" when a batch did not reconcile, "passed" when every batch did (the run
    succeeded), None when the run ended otherwise or has not ended."""
    if error.startswith(RECONCILIATION_FAILED):
        return "failed"
    return "passed" if status == "succeeded" else None


def libpq_url(url: str) -> str:
    """A PostgreSQL URL as libpq reads it (a SQLAlchemy ``+driver`` part dropped)."""
    scheme, separator, rest = url.partition("://")
    return f"{scheme.split('+')[0]}{separator}{rest}"


def _time_or_none(moment: datetime | None) -> str | None:
    return format_time(moment) if moment else None
