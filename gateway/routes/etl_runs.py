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
from pydantic import BaseModel

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
QUARANTINED = "SELECT count(*) FROM etl_quarantine"


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
    """The newest runs first, and how many source rows are in quarantine now."""

    runs: list[EtlRunResponse]
    quarantined: int


@router.get("/admin/etl-runs", response_model=EtlRunList, responses=errors(401, 403, 422, 503))
async def list_etl_runs(
    _admin: Admin, request: Request, page_size: Annotated[int, Query(ge=1, le=200)] = 20
) -> EtlRunList:
    """The newest ETL runs with their counts, errors and reconciliation outcome, and the
    number of quarantined source rows. 503 when the warehouse is not configured or down."""
    settings: GatewaySettings = request.app.state.settings
    if not settings.warehouse_url:
        raise ApiError(503, "the warehouse is not configured")
    rows, quarantined = await read_manifest(
        libpq_url(settings.warehouse_url), page_size, settings.call_timeout
    )
    return EtlRunList(runs=[run_response(row) for row in rows], quarantined=quarantined)


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
    except (psycopg.Error, OSError) as error:  # TimeoutError is an OSError
        log.warning("warehouse unavailable: %r", error)
        raise ApiError(
            503, "the warehouse is unavailable", headers={"Retry-After": RETRY_AFTER}
        ) from error


async def _query(url: str, limit: int, deadline: float) -> tuple[list[Any], int]:
    # The server stops a statement at the deadline too: a cancelled client must not leave
    # it running. Read-only: this route can never change the warehouse.
    options = f"-c statement_timeout={int(deadline * 1000)} -c default_transaction_read_only=on"
    connection = await psycopg.AsyncConnection.connect(
        url, connect_timeout=CONNECT_TIMEOUT, options=options, autocommit=True
    )
    async with connection:
        runs = await (await connection.execute(RUNS, (limit,))).fetchall()
        count = await (await connection.execute(QUARANTINED)).fetchone()
    return runs, int(count[0]) if count else 0


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
