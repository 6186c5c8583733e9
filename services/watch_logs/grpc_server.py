"""Thin translation between the fitness.watch_logs.v1 gRPC API and the watch-log use cases."""

from __future__ import annotations

import base64
import binascii
import json
import re
import time
from collections.abc import Callable
from datetime import datetime
from typing import TypeVar

import grpc
from fitness.watch_logs.v1 import watch_logs_service_pb2 as pb
from fitness.watch_logs.v1 import watch_logs_service_pb2_grpc as pb_grpc

from services.common.grpc_runtime import Context, Dispatcher, StatusTable
from services.common.timeutil import format_time, parse_date, parse_time
from services.watch_logs import domain, service
from services.watch_logs.domain import BucketWidth, InvalidInput, ScanCursor, StoredLog
from services.watch_logs.metrics import WatchLogMetrics
from services.watch_logs.service import Candidate, WatchLogDeps

STATUSES: StatusTable = {
    domain.RangeTooLarge: grpc.StatusCode.FAILED_PRECONDITION,
    domain.InvalidInput: grpc.StatusCode.INVALID_ARGUMENT,
    domain.StoreUnavailable: grpc.StatusCode.UNAVAILABLE,
}
WIDTHS = {pb.BUCKET_WIDTH_HOUR: BucketWidth.HOUR, pb.BUCKET_WIDTH_DAY: BucketWidth.DAY}
T = TypeVar("T")
ENTRY_ID = re.compile(r"([0-9]{1,20})-([0-9]{1,20})")
# Both halves of a stream id are 64-bit: a larger one is an error Redis answers, not us.
MAX_ID_PART = 2**64 - 1


class WatchLogServicer(pb_grpc.WatchLogServiceServicer):
    """Serves WatchLogService by calling the use cases through the dispatcher."""

    def __init__(self, deps: WatchLogDeps, dispatcher: Dispatcher, metrics: WatchLogMetrics):
        self.deps = deps
        self.dispatcher = dispatcher
        self.metrics = metrics

    async def IngestLogs(  # noqa: N802 - gRPC method names are PascalCase
        self, request: pb.IngestLogsRequest, context: Context
    ) -> pb.IngestLogsResponse:
        """Store a batch."""
        started = time.perf_counter()
        candidates = [candidate_of(log) for log in request.logs]
        result = await self.dispatcher.run(
            context, service.ingest, self.deps, request.user_id, candidates
        )
        self.metrics.batch_seconds.observe(time.perf_counter() - started)
        self.metrics.ingested(result)
        rejected = [
            pb.LogRejection(index=r.index, message_id=r.message_id, reason=r.reason)
            for r in result.rejected
        ]
        return pb.IngestLogsResponse(
            accepted=result.accepted, duplicates=result.duplicates, rejected=rejected
        )

    async def ListLogs(  # noqa: N802
        self, request: pb.ListLogsRequest, context: Context
    ) -> pb.ListLogsResponse:
        """One page of logs."""
        page = await self.dispatcher.run(context, self._list, request)
        token = encode_cursor(page.next_cursor) if page.next_cursor else ""
        return pb.ListLogsResponse(
            logs=[stored_to_proto(log) for log in page.logs], next_page_token=token
        )

    async def AggregateLogs(  # noqa: N802
        self, request: pb.AggregateLogsRequest, context: Context
    ) -> pb.AggregateLogsResponse:
        """Hourly or daily rollups."""
        rollups = await self.dispatcher.run(context, self._aggregate, request)
        return pb.AggregateLogsResponse(buckets=[rollup_to_proto(r) for r in rollups])

    async def GetDailySummaries(  # noqa: N802
        self, request: pb.GetDailySummariesRequest, context: Context
    ) -> pb.GetDailySummariesResponse:
        """The consumer group's daily summaries."""
        days = await self.dispatcher.run(context, self._summaries, request)
        return pb.GetDailySummariesResponse(days=[summary_to_proto(day) for day in days])

    async def GetPipelineStatus(  # noqa: N802
        self, request: pb.GetPipelineStatusRequest, context: Context
    ) -> pb.GetPipelineStatusResponse:
        """Every partition stream's state."""
        streams = await self.dispatcher.run(context, service.pipeline_status, self.deps)
        return pb.GetPipelineStatusResponse(
            streams=[
                pb.StreamStatus(
                    stream=s.stream,
                    length=s.length,
                    lag=s.lag,
                    pending=s.pending,
                    dead_letters=s.dead_letters,
                )
                for s in streams
            ]
        )

    # The request translations below run on the worker thread with the use case, so a
    # malformed field is an InvalidInput mapped by the one table, like any other.
    def _list(self, request: pb.ListLogsRequest) -> domain.ScanPage:
        where = filter_of(self.deps, request.filter)
        after = decode_cursor(request.page_token)
        return service.list_logs(self.deps, where, request.page_size, after)

    def _aggregate(self, request: pb.AggregateLogsRequest) -> list[domain.Rollup]:
        if request.width not in WIDTHS:
            raise InvalidInput("width must be BUCKET_WIDTH_HOUR or BUCKET_WIDTH_DAY")
        return service.aggregate(
            self.deps, filter_of(self.deps, request.filter), WIDTHS[request.width]
        )

    def _summaries(self, request: pb.GetDailySummariesRequest) -> list[domain.DailySummary]:
        first = _parsed(parse_date, request.from_date, "from_date")
        last = _parsed(parse_date, request.to_date, "to_date")
        return service.daily_summaries(self.deps, request.user_id, first, last)


def candidate_of(log: pb.WatchLog) -> Candidate:
    """The domain log, or why it cannot be one (its timestamp does not parse)."""
    try:
        timestamp = parse_time(log.timestamp)
    except ValueError:
        return InvalidInput("timestamp must be RFC 3339 with an offset, e.g. 2026-12-01T08:00:00Z")
    return domain.WatchLog(
        message_id=log.message_id,
        device_id=log.device_id,
        device_model=log.device_model,
        firmware=log.firmware,
        timestamp=timestamp,
        activity=log.activity,
        duration_s=log.duration_s,
        steps=log.steps,
        heart_rate=log.heart_rate,
        calories=log.calories,
        distance_m=log.distance_m,
        floors=log.floors,
        battery=log.battery,
    )


def filter_of(deps: WatchLogDeps, where: pb.LogFilter) -> domain.LogFilter:
    """The domain filter of a request's."""
    return service.log_filter(
        deps,
        _optional_time(where.from_time, "from_time"),
        _optional_time(where.to_time, "to_time"),
        user_id=where.user_id,
        device_id=where.device_id,
        activity=where.activity,
    )


def encode_cursor(cursor: ScanCursor) -> str:
    """An opaque page token for the cursor."""
    raw = json.dumps({"e": cursor.entry_id, "p": cursor.partition})
    return base64.urlsafe_b64encode(raw.encode()).decode()


def decode_cursor(token: str) -> ScanCursor | None:
    """The cursor of a token encode_cursor made; '' is the first page."""
    if not token:
        return None
    try:
        raw = json.loads(base64.urlsafe_b64decode(token.encode()))
        entry_id, partition = raw["e"], raw["p"]
    except (binascii.Error, ValueError, TypeError, KeyError, UnicodeError):
        raise InvalidInput("page_token is not one this service issued") from None
    parts = ENTRY_ID.fullmatch(entry_id) if isinstance(entry_id, str) else None
    # The scan resumes after the id: the largest one has no "after" Redis accepts.
    if parts is None or max(map(int, parts.groups())) >= MAX_ID_PART:
        raise InvalidInput("page_token is not one this service issued")
    if isinstance(partition, bool) or not (isinstance(partition, int) and 0 <= partition < 1 << 16):
        raise InvalidInput("page_token is not one this service issued")
    return ScanCursor(entry_id, partition)


def stored_to_proto(stored: StoredLog) -> pb.StoredLog:
    """The proto of a stored log."""
    log = stored.log
    return pb.StoredLog(
        user_id=stored.user_id,
        entry_id=stored.entry_id,
        ingested_at=format_time(stored.ingested_at),
        log=pb.WatchLog(
            message_id=log.message_id,
            device_id=log.device_id,
            device_model=log.device_model,
            firmware=log.firmware,
            timestamp=format_time(log.timestamp),
            activity=log.activity,
            duration_s=log.duration_s,
            steps=log.steps,
            heart_rate=log.heart_rate,
            calories=log.calories,
            distance_m=log.distance_m,
            floors=log.floors,
            battery=log.battery,
        ),
    )


def rollup_to_proto(rollup: domain.Rollup) -> pb.LogBucket:
    """The proto of a rollup."""
    return pb.LogBucket(
        user_id=rollup.user_id,
        start=format_time(rollup.start),
        samples=rollup.samples,
        steps=rollup.steps,
        active_minutes=rollup.active_minutes,
        calories=rollup.calories,
        distance_m=rollup.distance_m,
        floors=rollup.floors,
        mean_heart_rate=rollup.mean_heart_rate,
        max_heart_rate=rollup.max_heart_rate,
        battery_drain=rollup.battery_drain,
    )


def summary_to_proto(day: domain.DailySummary) -> pb.DailySummary:
    """The proto of a daily summary."""
    return pb.DailySummary(
        date=day.day.isoformat(),
        samples=day.samples,
        steps=day.steps,
        active_minutes=day.active_minutes,
        calories=day.calories,
        distance_m=day.distance_m,
        floors=day.floors,
        mean_heart_rate=day.mean_heart_rate,
        max_heart_rate=day.max_heart_rate,
    )


def _optional_time(text: str, name: str) -> datetime | None:
    return _parsed(parse_time, text, name) if text else None


def _parsed(parse: Callable[[str], T], text: str, name: str) -> T:
    try:
        return parse(text)
    except ValueError:
        raise InvalidInput(f"{name} is not a valid date or time: {text[:40]!r}") from None
