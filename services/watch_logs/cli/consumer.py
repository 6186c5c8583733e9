"""``extract`` and ``report``: the reporting routes of the gateway, for analysts and admins."""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
from collections.abc import Sequence
from datetime import datetime, timedelta
from pathlib import Path

import httpx

from services.common.client.http import (
    DEFAULT_GATEWAY,
    Credentials,
    GatewayError,
    Session,
    checked,
    error_of,
    make_client,
    password_of,
)
from services.common.timeutil import format_time, parse_time, utc_now
from services.watch_logs.cli import tables
from services.watch_logs.cli.output import RowCounter, destination
from services.watch_logs.cli.progress import Bar

# "6h" (what argparse lets through as a value) or "-6h" (--from=-6h): six hours ago.
RELATIVE = re.compile(r"-?(\d+(?:\.\d+)?)([mhd])")
UNITS = {"m": "minutes", "h": "hours", "d": "days"}
ROLE_HINT = (
    "the account needs the analyst or admin role: an operator grants it with "
    "`python -m services.user roles grant analyst --email ...` (then log in again)"
)


def moment(text: str, now: datetime) -> datetime:
    """An RFC 3339 time, 'now', or a time back from now: 90m, 6h, 2d (or -6h)."""
    if text == "now":
        return now
    relative = RELATIVE.fullmatch(text)
    if relative:
        return now - timedelta(**{UNITS[relative.group(2)]: float(relative.group(1))})
    try:
        return parse_time(text)
    except ValueError as error:
        raise ValueError(
            f"{text!r} is not a time (RFC 3339, now, or back from now: 90m, 6h, 2d): {error}"
        ) from None


def _common(sub: argparse.ArgumentParser) -> None:
    sub.add_argument("--gateway", default=DEFAULT_GATEWAY)
    sub.add_argument(
        "--token",
        default=os.environ.get("FITNESS_TOKEN", ""),
        help="bearer token (or FITNESS_TOKEN)",
    )
    sub.add_argument("--email", help="log in as this analyst or admin instead of --token")
    sub.add_argument(
        "--password",
        help="with --email; better FITNESS_PASSWORD or the prompt (ps shows arguments)",
    )
    sub.add_argument(
        "--timeout", type=float, default=30.0, help="seconds per call (between chunks)"
    )
    sub.add_argument("--user", help="user id")
    sub.add_argument("--from", dest="start", help="RFC 3339, now, or back from now: 90m, 6h, 2d")
    sub.add_argument("--to", dest="end", help="RFC 3339, now, or back from now: 90m, 6h, 2d")


def parser() -> argparse.ArgumentParser:
    """The consumer's command line."""
    main = argparse.ArgumentParser(
        prog="python -m services.watch_logs.consumer_cli",
        description="Extract watch logs and report on them (analyst or admin role).",
    )
    commands = main.add_subparsers(dest="command", required=True)
    extract = commands.add_parser("extract", help="stream logs as CSV or NDJSON")
    _common(extract)
    extract.add_argument("--device", help="device id")
    extract.add_argument("--activity", help="sleep, rest, walking, running, cycling, ...")
    extract.add_argument("--format", choices=("csv", "ndjson"), default="csv")
    extract.add_argument("--output", type=Path, help="file (created 0600); default stdout")
    extract.add_argument("--no-progress", action="store_true")
    report = commands.add_parser("report", help="tables of aggregates, summaries or the pipeline")
    _common(report)
    report.add_argument("--device", help="device id (aggregates)")
    report.add_argument("--activity", help="activity (aggregates)")
    report.add_argument("--bucket", choices=("hour", "day"), default="hour")
    what = report.add_mutually_exclusive_group()
    what.add_argument("--pipeline", action="store_true", help="stream length, lag, pending")
    what.add_argument("--summaries", action="store_true", help="per-user daily summaries")
    report.add_argument("--json", action="store_true", help="the gateway's JSON instead")
    return main


def filters(args: argparse.Namespace, now: datetime) -> dict[str, str]:
    """The query parameters of the filters given."""
    params = {
        "user_id": args.user,
        "device_id": getattr(args, "device", None),
        "activity": getattr(args, "activity", None),
        "from": format_time(moment(args.start, now)) if args.start else None,
        "to": format_time(moment(args.end, now)) if args.end else None,
    }
    return {key: value for key, value in params.items() if value}


async def authorization(args: argparse.Namespace, client: httpx.AsyncClient) -> dict[str, str]:
    """The Authorization header: the token given, or a login with e-mail and password."""
    if args.email:
        password = password_of(args.email, args.password)
        return await Session(client, Credentials(args.email, password)).headers()
    if args.token:
        return {"Authorization": f"Bearer {args.token}"}
    raise ValueError("give --token (or FITNESS_TOKEN) or --email")


async def extract(args: argparse.Namespace, client: httpx.AsyncClient, now: datetime) -> int:
    """Stream the export into the output; the rows written."""
    params = {**filters(args, now), "format": args.format}
    headers = await authorization(args, client)
    counter = RowCounter(header_lines=1 if args.format == "csv" else 0)
    bar = Bar("rows", enabled=not args.no_progress)
    try:
        async with client.stream(
            "GET", "/watch-logs/export", params=params, headers=headers
        ) as response:
            if not response.is_success:
                await response.aread()
                raise error_of(response)
            out = destination(args.output)
            try:
                async for chunk in response.aiter_bytes():
                    out.write(chunk)
                    bar.advance(counter.feed(chunk))
            except httpx.HTTPError as error:
                raise truncated(args.output, counter.rows, error) from None
            finally:
                if args.output:
                    out.close()
                else:
                    out.flush()
    finally:
        bar.close()
    return counter.rows


async def report(args: argparse.Namespace, client: httpx.AsyncClient, now: datetime) -> str:
    """The report asked for, as a table (or the gateway's JSON)."""
    headers = await authorization(args, client)
    if args.pipeline:
        body = checked(await client.get("/watch-logs/pipeline", headers=headers))
        items, columns = body["streams"], tables.PIPELINE_COLUMNS
    elif args.summaries:
        body = checked(
            await client.get("/watch-logs/summaries", params=_days(args, now), headers=headers)
        )
        items, columns = body["days"], tables.SUMMARY_COLUMNS
    else:
        params = {**filters(args, now), "bucket": args.bucket}
        body = checked(await client.get("/watch-logs/aggregates", params=params, headers=headers))
        items, columns = body["buckets"], tables.AGGREGATE_COLUMNS
    if args.json:
        return json.dumps(body, indent=1)
    return tables.table(columns, items)


def _days(args: argparse.Namespace, now: datetime) -> dict[str, str]:
    """Summary dates: --from and --to as dates, by default the last 7 days up to today."""
    if not args.user:
        raise ValueError("--summaries needs --user")
    last = moment(args.end, now).date() if args.end else now.date()
    first = moment(args.start, now).date() if args.start else last - timedelta(days=6)
    return {"user_id": args.user, "from_date": first.isoformat(), "to_date": last.isoformat()}


def truncated(output: Path | None, rows: int, error: httpx.HTTPError) -> GatewayError:
    """The gateway broke a failing export off: a partial file is removed, never left to pass
    for a complete one (on stdout, the message is all there is)."""
    if output is not None:
        output.unlink(missing_ok=True)
    kept = "removed" if output is not None else "incomplete"
    message = f"the export broke off after {rows} rows ({error!r}): the output is {kept}"
    return GatewayError(0, "TRUNCATED", f"{message}; run it again")


def describe(error: GatewayError) -> str:
    """The message for an error, with what to do about the usual ones."""
    if error.status == 403:
        return f"{error} ({ROLE_HINT})"
    if error.status == 409:
        return f"{error} (narrow --from/--to, or use extract for large ranges)"
    return str(error)


async def run(
    argv: Sequence[str],
    now: datetime | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
) -> int:
    """Carry out one consumer command; 0 on success, 1 for the gateway's errors, 2 for usage."""
    args = parser().parse_args(list(argv))
    current = now or utc_now()
    try:
        async with make_client(args.gateway, args.timeout, transport=transport) as client:
            if args.command == "extract":
                rows = await extract(args, client, current)
                where = args.output or "stdout"
                print(f"extracted {rows} rows ({args.format}) to {where}", file=sys.stderr)
            else:
                print(await report(args, client, current))
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except GatewayError as error:
        print(f"error: {describe(error)}", file=sys.stderr)
        return 1
    except httpx.HTTPError as error:
        print(f"error: no answer from {args.gateway}: {error!r}", file=sys.stderr)
        return 1
    except OSError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0
