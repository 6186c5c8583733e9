"""The export's stream (pages fetched one at a time, broken off on a late error, CSV
defused), and the reasons given for rejected entries."""

from __future__ import annotations

import csv
import io

import grpc
import pytest
from fitness.watch_logs.v1 import watch_logs_service_pb2 as pb

from gateway.routes.watch_logs.export import (
    ExportBrokenOff,
    csv_page,
    ndjson_page,
    protect,
    stream_pages,
)
from gateway.routes.watch_logs.filters import COLUMNS
from gateway.routes.watch_logs.ingest import screen
from services.common.upstream import RpcFailed


def stored(n: int, model: str = "Venu 3") -> pb.StoredLog:
    """A stored entry numbered n."""
    log = pb.WatchLog(message_id=f"m-{n}", device_id="w", device_model=model, activity="rest")
    return pb.StoredLog(user_id="u", entry_id=f"{n}-0", log=log)


class Pages:
    """A fake ListLogs: serves ``pages`` by token, then fails with ``failure`` if given."""

    def __init__(self, pages: list[pb.ListLogsResponse], failure: Exception | None = None) -> None:
        self.pages = pages
        self.failure = failure
        self.asked: list[str] = []

    async def fetch(self, token: str) -> pb.ListLogsResponse:
        """The page the token names."""
        self.asked.append(token)
        index = int(token)
        if index >= len(self.pages) and self.failure is not None:
            raise self.failure
        return self.pages[index]


def page(numbers: range, next_token: str) -> pb.ListLogsResponse:
    """A page of the numbered entries."""
    return pb.ListLogsResponse(logs=[stored(n) for n in numbers], next_page_token=next_token)


async def test_every_page_is_sent_once_and_empty_pages_are_skipped() -> None:
    pages = Pages([page(range(0), ""), page(range(0), "2"), page(range(2, 5), "")])
    chunks = [c async for c in stream_pages(page(range(2), "1"), pages.fetch, ndjson_page, b"H\n")]
    assert chunks[0] == b"H\n"
    assert b"".join(chunks).count(b"\n") == 1 + 5
    assert pages.asked == ["1", "2"]


async def test_a_page_is_fetched_only_after_the_last_one_was_taken() -> None:
    pages = Pages([page(range(0), ""), page(range(2, 4), "")])
    stream = stream_pages(page(range(2), "1"), pages.fetch, csv_page)
    await anext(stream)
    assert pages.asked == []
    await anext(stream)
    assert pages.asked == ["1"]


async def test_an_error_after_the_first_page_breaks_the_stream_off() -> None:
    failure = RpcFailed(
        "fitness.watch_logs.v1.WatchLogService", grpc.StatusCode.UNAVAILABLE, "down"
    )
    pages = Pages([page(range(0), "1")], failure)
    stream = stream_pages(page(range(2), "1"), pages.fetch, csv_page, b"head\r\n")
    sent = [await anext(stream), await anext(stream)]
    assert sent[0] == b"head\r\n"
    with pytest.raises(ExportBrokenOff, match="after 2 entries") as broken:
        await anext(stream)
    assert broken.value.__cause__ is failure


@pytest.mark.parametrize("cell", ["=1+1", "+1", "-1", "@SUM(A1)"])
def test_cells_a_spreadsheet_would_run_as_formulas_get_a_quote(cell: str) -> None:
    assert protect(cell) == "'" + cell
    row = next(csv.reader(io.StringIO(csv_page([stored(1, cell)]).decode())))
    assert row[COLUMNS.index("device_model")] == "'" + cell


@pytest.mark.parametrize("cell", ["Venu 3", "1=1", "", 5, -1.5])
def test_other_cells_are_written_as_they_are(cell: object) -> None:
    assert protect(cell) == cell


def test_a_rejection_reason_names_at_most_five_problems() -> None:
    junk = {f"field{n}": n for n in range(40)}
    _, _, rejected = screen([junk])
    assert rejected[0].reason.count(";") == 5
    assert rejected[0].reason.endswith("more")
    assert rejected[0].message_id == ""
