"""REST routes of the watch-log service: ingestion by watch owners, reports for analysts."""

from __future__ import annotations

from fastapi import APIRouter

from gateway.routes.watch_logs import export, ingest, reports

router = APIRouter()
for part in (ingest.router, reports.router, export.router):
    router.include_router(part)

__all__ = ["router"]
