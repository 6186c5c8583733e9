"""POST /watch-logs: a batch of the caller's log entries, each entry judged on its own."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from fitness.watch_logs.v1 import watch_logs_service_pb2 as pb
from pydantic import TypeAdapter, ValidationError

from gateway.config import GatewaySettings
from gateway.edge.auth import require_self
from gateway.edge.creation_limit import CreationLimit
from gateway.edge.dependencies import AUTH_STATUSES, Caller, Pools, errors, new_request_id
from gateway.edge.errors import ApiError, nothing_stored
from gateway.routes.fields import WATCH_ID_MAX
from gateway.routes.schemas import (
    IngestResult,
    LogRejectionBody,
    WatchLogBatch,
    WatchLogEntry,
)
from services.common.upstream.rpcs import WatchLogRpc

router = APIRouter(tags=["watch logs"])
ENTRY = TypeAdapter(WatchLogEntry)
ENTRIES = TypeAdapter(list[WatchLogEntry])
# An entry of thousands of unknown fields gets a reason of a few lines, not thousands.
MAX_REASONS = 5


@router.post("/watch-logs", response_model=IngestResult, responses=errors(400, 429, *AUTH_STATUSES))
async def ingest_logs(
    body: WatchLogBatch, caller: Caller, pools: Pools, request: Request
) -> IngestResult | JSONResponse:
    """Store log entries of your watches; each is accepted, a duplicate (by message_id) or
    rejected with its reason. A batch of which nothing is stored nor known is 422."""
    require_self(body.user_id or caller, caller)
    settings: GatewaySettings = request.app.state.settings
    if len(body.logs) > settings.watch_logs_max_batch:
        raise ApiError(422, f"logs: at most {settings.watch_logs_max_batch} entries per batch")
    # Every entry counts, refused ones too: junk must not be free to send.
    quota: CreationLimit = request.app.state.watch_log_quota
    await quota.check(caller, len(body.logs))
    valid, positions, rejected = screen(body.logs)
    accepted = duplicates = 0
    if valid:
        message = pb.IngestLogsRequest(request_id=new_request_id(), user_id=caller, logs=valid)
        reply = await pools.watch_logs.call(WatchLogRpc.IngestLogs, message)
        accepted, duplicates = reply.accepted, reply.duplicates
        rejected += [
            LogRejectionBody(
                index=positions[r.index] if r.index < len(positions) else r.index,
                message_id=r.message_id,
                reason=r.reason,
            )
            for r in reply.rejected
        ]
    rejected.sort(key=lambda rejection: rejection.index)
    if rejected and not accepted and not duplicates:
        return nothing_stored("entry", "logs", rejected)
    return IngestResult(accepted=accepted, duplicates=duplicates, rejected=rejected)


def screen(
    items: list[dict[str, Any]],
) -> tuple[list[pb.WatchLog], list[int], list[LogRejectionBody]]:
    """The valid entries as protobuf, their indexes in ``items``, and the rejections."""
    # The usual batch is all valid: one validation of the whole list is a third of the
    # cost of one per entry (the gateway's CPU bounds ingestion: docs/benchmarks.md).
    try:
        entries = ENTRIES.validate_python(items)
    except ValidationError:
        return screen_each(items)
    return [to_proto(entry) for entry in entries], list(range(len(items))), []


def screen_each(
    items: list[dict[str, Any]],
) -> tuple[list[pb.WatchLog], list[int], list[LogRejectionBody]]:
    """``screen`` entry by entry, each rejection with its own reason."""
    valid: list[pb.WatchLog] = []
    positions: list[int] = []
    rejected: list[LogRejectionBody] = []
    for index, item in enumerate(items):
        try:
            entry = ENTRY.validate_python(item)
        except ValidationError as error:
            rejected.append(
                LogRejectionBody(index=index, message_id=_message_id(item), reason=reason(error))
            )
            continue
        valid.append(to_proto(entry))
        positions.append(index)
    return valid, positions, rejected


def to_proto(entry: WatchLogEntry) -> pb.WatchLog:
    """The entry as the service takes it (which reads the timestamp's offset itself)."""
    return pb.WatchLog(**entry.model_dump())


def reason(error: ValidationError) -> str:
    """What is wrong with one entry: each broken rule, by field."""
    problems = error.errors(include_url=False, include_input=False)
    parts = []
    for problem in problems[:MAX_REASONS]:
        where = ".".join(str(part) for part in problem["loc"]) or "entry"
        parts.append(f"{where}: {str(problem['msg']).removeprefix('Value error, ')}")
    if len(problems) > MAX_REASONS:
        parts.append(f"and {len(problems) - MAX_REASONS} more")
    return "; ".join(parts)


def _message_id(item: Any) -> str:
    value = item.get("message_id") if isinstance(item, dict) else None
    return value[:WATCH_ID_MAX] if isinstance(value, str) else ""
