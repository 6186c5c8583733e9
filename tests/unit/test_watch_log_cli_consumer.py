"""The consumer CLI against an in-process fake gateway: exports, report tables, errors."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import httpx
import pytest

from services.watch_logs.cli import tables
from services.watch_logs.cli.consumer import moment, run
from services.watch_logs.cli.output import RowCounter

NOW = datetime(2026, 12, 1, 18, 0, tzinfo=UTC)
CSV = b"user_id,message_id,steps\r\nu1,m1,10\r\nu1,m2,0\r\nu2,m3,99\r\n"
BUCKET = {
    "user_id": "u1",
    "start": "2026-12-01T17:00:00.000Z",
    "samples": 60,
    "steps": 5400,
    "active_minutes": 42.0,
    "calories": 310.25,
    "distance_m": 4100.5,
    "floors": 3,
    "mean_heart_rate": 118.4,
    "max_heart_rate": 162,
    "battery_drain": 1,
}


class FakeReporting:
    """The reporting routes: an analyst token, a canned export, what each call asked for."""

    def __init__(self) -> None:
        self.requests: list[httpx.Request] = []

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if request.url.path == "/users/login":
            body = {"token": "analyst", "refresh_token": "r", "user_id": "a1", "expires_in": 900}
            return httpx.Response(200, json=body)
        if request.headers.get("authorization") != "Bearer analyst":
            message = "this needs the analyst or admin role"
            error = {"code": 403, "status": "PERMISSION_DENIED", "message": message}
            return httpx.Response(403, json={"error": error})
        if request.url.path == "/watch-logs/export":
            chunks = [CSV[:20], CSV[20:41], CSV[41:]]
            return httpx.Response(200, stream=httpx.ByteStream(b"".join(chunks)))
        if request.url.path == "/watch-logs/aggregates":
            return httpx.Response(200, json={"buckets": [BUCKET]})
        if request.url.path == "/watch-logs/pipeline":
            stream = {"stream": "wl:{0}", "length": 12, "lag": 2, "pending": 1, "dead_letters": 0}
            return httpx.Response(200, json={"streams": [stream]})
        assert request.url.path == "/watch-logs/summaries"
        return httpx.Response(200, json={"days": []})


@pytest.fixture
def fake() -> FakeReporting:
    return FakeReporting()


async def consume(fake: FakeReporting, *argv: str) -> int:
    return await run([*argv, "--gateway", "http://gw"], NOW, httpx.MockTransport(fake.handle))


def test_relative_times_count_back_from_now() -> None:
    assert moment("-90m", NOW) == datetime(2026, 12, 1, 16, 30, tzinfo=UTC)
    assert moment("2d", NOW) == moment("-2d", NOW) == datetime(2026, 11, 29, 18, 0, tzinfo=UTC)
    assert moment("now", NOW) == NOW
    assert moment("2026-12-01T10:00:00+01:00", NOW) == datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


@pytest.mark.parametrize("text", ["yesterday", "-5w", "2026-12-01T10:00:00"])
def test_a_time_that_is_not_one_is_refused_by_name(text: str) -> None:
    with pytest.raises(ValueError, match="is not a time"):
        moment(text, NOW)


def test_rows_are_counted_across_chunk_boundaries_without_the_csv_header() -> None:
    counter = RowCounter(header_lines=1)
    counts = [counter.feed(CSV[i : i + 7]) for i in range(0, len(CSV), 7)]
    assert sum(counts) == counter.rows == 3
    assert RowCounter(header_lines=0).feed(b'{"a":1}\n{"a":2}\n') == 2


def test_a_table_pads_its_columns_and_right_aligns_numbers() -> None:
    text = tables.render(["name", "steps"], [["alice", "1,200"], ["bob", "7"]])
    assert text.splitlines() == [
        "name   steps",
        "-----  -----",
        "alice  1,200",
        "bob        7",
    ]


def test_cells_show_thousands_one_decimal_and_a_dash_for_nothing() -> None:
    assert [tables.cell(v) for v in (12345, 3.14159, None, "x")] == ["12,345", "3.1", "-", "x"]
    assert tables.table(tables.PIPELINE_COLUMNS, []) == "(none)"


async def test_extract_streams_the_export_to_stdout_and_counts_its_rows(
    fake: FakeReporting, capsysbinary: pytest.CaptureFixture[bytes]
) -> None:
    code = await consume(
        fake, "extract", "--token", "analyst", "--user", "u1", "--activity", "walking",
        "--from", "6h", "--no-progress",
    )  # fmt: skip
    out, err = capsysbinary.readouterr()
    assert code == 0
    assert out == CSV
    assert b"extracted 3 rows (csv) to stdout" in err
    params = fake.requests[-1].url.params
    assert dict(params) == {
        "user_id": "u1",
        "activity": "walking",
        "from": "2026-12-01T12:00:00.000Z",
        "format": "csv",
    }


async def test_report_prints_the_hourly_aggregates_as_a_table(
    fake: FakeReporting, capsys: pytest.CaptureFixture[str]
) -> None:
    code = await consume(fake, "report", "--email", "a@example.com", "--password", "pw")
    lines = capsys.readouterr().out.splitlines()
    assert code == 0
    assert lines[0].split()[:4] == ["user", "start", "samples", "steps"]
    assert lines[2].split() == [
        "u1", "2026-12-01T17:00:00.000Z", "60", "5,400", "42.0", "310.2", "4,100.5", "3",
        "118.4", "162", "1",
    ]  # fmt: skip
    assert fake.requests[-1].url.params["bucket"] == "hour"


async def test_report_pipeline_shows_lag_pending_and_dead_letters(
    fake: FakeReporting, capsys: pytest.CaptureFixture[str]
) -> None:
    assert await consume(fake, "report", "--token", "analyst", "--pipeline") == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["stream", "length", "lag", "pending", "dead", "letters"]
    assert lines[2].split() == ["wl:{0}", "12", "2", "1", "0"]


async def test_report_summaries_ask_for_the_last_week_by_default(
    fake: FakeReporting, capsys: pytest.CaptureFixture[str]
) -> None:
    code = await consume(fake, "report", "--token", "analyst", "--summaries", "--user", "u1")
    assert code == 0
    assert capsys.readouterr().out.strip() == "(none)"
    params = dict(fake.requests[-1].url.params)
    assert params == {"user_id": "u1", "from_date": "2026-11-25", "to_date": "2026-12-01"}


async def test_report_json_passes_the_gateways_answer_through(
    fake: FakeReporting, capsys: pytest.CaptureFixture[str]
) -> None:
    assert await consume(fake, "report", "--token", "analyst", "--json", "--bucket", "day") == 0
    assert json.loads(capsys.readouterr().out) == {"buckets": [BUCKET]}


async def test_a_refusal_is_shown_with_the_gateways_message_and_what_to_do(
    fake: FakeReporting, capsys: pytest.CaptureFixture[str]
) -> None:
    code = await consume(fake, "report", "--token", "someone-else")
    err = capsys.readouterr().err
    assert code == 1
    assert "error: 403 PERMISSION_DENIED: this needs the analyst or admin role" in err
    assert "roles grant analyst" in err


async def test_summaries_without_a_user_and_calls_without_credentials_are_usage_errors(
    fake: FakeReporting, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    assert await consume(fake, "report", "--token", "analyst", "--summaries") == 2
    assert "--summaries needs --user" in capsys.readouterr().err
    monkeypatch.delenv("FITNESS_TOKEN", raising=False)
    assert await consume(fake, "report") == 2
    assert "give --token" in capsys.readouterr().err
    assert await consume(fake, "report", "--token", "analyst", "--from", "soon") == 2
    assert "'soon' is not a time" in capsys.readouterr().err


class BrokenOff(httpx.AsyncByteStream):
    """An export the gateway breaks off after its first rows."""

    async def __aiter__(self) -> AsyncIterator[bytes]:
        yield CSV[:45]  # the header and two rows
        raise httpx.RemoteProtocolError("peer closed connection without the final chunk")


async def test_an_export_broken_off_fails_and_says_how_far_it_got(
    capsysbinary: pytest.CaptureFixture[bytes],
) -> None:
    def handle(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, stream=BrokenOff())

    argv = ["extract", "--token", "t", "--gateway", "http://gw", "--no-progress"]
    code = await run(argv, NOW, httpx.MockTransport(handle))
    err = capsysbinary.readouterr().err.decode()
    assert code == 1
    assert "the export broke off after 2 rows" in err
    assert "the output is incomplete; run it again" in err


async def test_an_answer_not_in_the_error_shape_is_shown_as_it_came(
    capsys: pytest.CaptureFixture[str],
) -> None:
    def proxy(request: httpx.Request) -> httpx.Response:
        return httpx.Response(502, text="<html>Bad Gateway</html>")

    argv = ["report", "--token", "t", "--gateway", "http://gw"]
    assert await run(argv, NOW, httpx.MockTransport(proxy)) == 1
    assert "error: 502 HTTP_ERROR: <html>Bad Gateway</html>" in capsys.readouterr().err


async def test_an_unreachable_gateway_is_named_in_the_error(
    capsys: pytest.CaptureFixture[str],
) -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    code = await run(
        ["report", "--token", "t", "--gateway", "http://gw:1"], NOW, httpx.MockTransport(refuse)
    )
    assert code == 1
    assert "no answer from http://gw:1" in capsys.readouterr().err
