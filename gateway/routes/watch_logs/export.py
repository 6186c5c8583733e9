"""GET /watch-logs/export: every matching entry as CSV or NDJSON, streamed page by page.

The first page is read before the answer starts, so a refused filter or a service that is
down gets the normal error shape. After that, each further page is one ListLogs call with
the normal deadline; an error then cannot change the status any more, so the transfer is
broken off (no final chunk): a client sees a truncated download, never a short file that
looks complete. Nothing is buffered beyond one page.
"""

from __future__ import annotations

import csv
import io
import json
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import StreamingResponse
from fitness.watch_logs.v1 import watch_logs_service_pb2 as pb

from gateway.edge.dependencies import Analyst, Pools, errors
from gateway.routes.fields import ExportFormat
from gateway.routes.watch_logs.filters import COLUMNS, Filter, stored_fields
from services.common.upstream.rpcs import WatchLogRpc

router = APIRouter(tags=["watch logs"])
log = logging.getLogger(__name__)
EXPORT_PAGE_SIZE = 1000
MEDIA_TYPES = {"csv": "text/csv; charset=utf-8", "ndjson": "application/x-ndjson"}
# A spreadsheet runs a cell that starts with one of these as a formula (CSV injection).
FORMULA_STARTS = ("=", "+", "-", "@")
Fetch = Callable[[str], Awaitable[pb.ListLogsResponse]]
Render = Callable[[Sequence[pb.StoredLog]], bytes]


class ExportBrokenOff(Exception):
    """A page failed after the answer had started: the transfer ends without its last chunk.

    Not an error the handlers render (the status line is sent): the server closes the
    connection, and the client sees an incomplete chunked transfer.
    """


EXPORT_CONTENT = {
    "text/csv": {"schema": {"type": "string"}},
    "application/x-ndjson": {"schema": {"type": "string"}},
}


@router.get(
    "/watch-logs/export",
    response_class=StreamingResponse,
    responses={
        200: {"description": "The entries, in the order stored", "content": EXPORT_CONTENT},
        **errors(400, 401, 403, 422, 503),
    },
)
async def export_logs(
    _analyst: Analyst,
    pools: Pools,
    log_filter: Filter,
    export_format: Annotated[ExportFormat, Query(alias="format")] = "csv",
) -> StreamingResponse:
    """Every matching entry of any user, as CSV (a header row, then one row per entry) or
    NDJSON (one JSON object per line, the fields of GET /watch-logs)."""

    async def fetch(page_token: str) -> pb.ListLogsResponse:
        request = pb.ListLogsRequest(
            filter=log_filter, page_size=EXPORT_PAGE_SIZE, page_token=page_token
        )
        return await pools.watch_logs.call(WatchLogRpc.ListLogs, request)

    first = await fetch("")
    render = csv_page if export_format == "csv" else ndjson_page
    head = csv_rows([COLUMNS]) if export_format == "csv" else b""
    return StreamingResponse(
        stream_pages(first, fetch, render, head),
        media_type=MEDIA_TYPES[export_format],
        headers={"Content-Disposition": f'attachment; filename="watch-logs.{export_format}"'},
    )


async def stream_pages(
    first: pb.ListLogsResponse, fetch: Fetch, render: Render, head: bytes = b""
) -> AsyncIterator[bytes]:
    """``head``, then each page rendered, fetching the next only when the last is sent."""
    if head:
        yield head
    page, sent = first, 0
    while True:
        if page.logs:
            yield render(page.logs)
            sent += len(page.logs)
        if not page.next_page_token:
            return
        try:
            page = await fetch(page.next_page_token)
        except Exception as error:
            log.warning("watch-log export broken off after %d entries: %r", sent, error)
            raise ExportBrokenOff(f"export broken off after {sent} entries") from error


def csv_page(logs: Sequence[pb.StoredLog]) -> bytes:
    """A page's entries as CSV rows in COLUMNS order."""
    return csv_rows([list(stored_fields(s).values()) for s in logs])


def ndjson_page(logs: Sequence[pb.StoredLog]) -> bytes:
    """A page's entries as NDJSON lines."""
    return ndjson_lines([stored_fields(s) for s in logs])


def csv_rows(rows: Sequence[Sequence[Any]]) -> bytes:
    """CSV lines (RFC 4180, CRLF), cells that a spreadsheet would run as formulas defused."""
    out = io.StringIO()
    writer = csv.writer(out)
    for row in rows:
        writer.writerow([protect(cell) for cell in row])
    return out.getvalue().encode()


def protect(cell: Any) -> Any:
    """Prefix ' to a text cell starting with = + - @ (OWASP's CSV injection defence)."""
    return f"'{cell}" if isinstance(cell, str) and cell.startswith(FORMULA_STARTS) else cell


def ndjson_lines(objects: Sequence[dict[str, Any]]) -> bytes:
    """One compact JSON object per line."""
    return "".join(json.dumps(o, separators=(",", ":")) + "\n" for o in objects).encode()
