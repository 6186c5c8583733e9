"""The one failure table: what each gRPC status says about the instance, the call and a retry.

The breaker, the pool's failover and every caller's own retry decision (the saga engine,
the gateway's "may this change have happened?") read their answer here, and nowhere else.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import grpc
from google.protobuf.message import Message

from services.common.dependency import DEPENDENCY_TRAILER


@dataclass(frozen=True)
class Rule:
    """What one status code means to a caller."""

    # The instance is unreachable or stuck (not: it answered "no"): counts towards its breaker.
    instance_failure: bool = False
    # Worth sending at once to another instance (when the request is safe to repeat).
    failover: bool = False
    # A later attempt of the same call may succeed.
    transient: bool = False
    # The service itself refused the call: it certainly had no effect.
    refused: bool = False
    # Seconds after which a client may try again, when the status implies a short wait.
    retry_after: float | None = None
    # No repeat of the very same request can ever succeed, however long one waits: a
    # caller that retries until it lands (the progress relay) settles it instead.
    never_succeeds: bool = False


REFUSED = Rule(refused=True)
# The request names something that is gone for good (NOT_FOUND: the user was erased) or
# is malformed (INVALID_ARGUMENT): the same bytes get the same answer forever. Not so
# PERMISSION_DENIED or FAILED_PRECONDITION, which may clear (a pending deletion that is
# cancelled, a goal no longer being changed), nor ALREADY_EXISTS or OUT_OF_RANGE.
REFUSED_FOR_GOOD = Rule(refused=True, never_succeeds=True)
# INTERNAL, DATA_LOSS, CANCELLED and the like: permanent, and the call may have had an effect.
UNEXPECTED = Rule()

RULES: dict[grpc.StatusCode, Rule] = {
    grpc.StatusCode.UNAVAILABLE: Rule(instance_failure=True, failover=True, transient=True),
    # The deadline is spent, so there is no time left to fail over; a later call may pass.
    grpc.StatusCode.DEADLINE_EXCEEDED: Rule(instance_failure=True, transient=True),
    # What gRPC reports for some connection failures (and for a service's unhandled
    # error, which a later attempt may also get past).
    grpc.StatusCode.UNKNOWN: Rule(transient=True),
    # Load shedding (e.g. the password-hash queue is full): brief.
    grpc.StatusCode.RESOURCE_EXHAUSTED: Rule(transient=True, retry_after=1.0),
    # A concurrency conflict (e.g. a goal another request is changing), usually gone within
    # a second; the service said no, so a saga step compensates rather than retries.
    grpc.StatusCode.ABORTED: Rule(refused=True, retry_after=1.0),
    grpc.StatusCode.INVALID_ARGUMENT: REFUSED_FOR_GOOD,
    grpc.StatusCode.OUT_OF_RANGE: REFUSED,
    grpc.StatusCode.NOT_FOUND: REFUSED_FOR_GOOD,
    grpc.StatusCode.ALREADY_EXISTS: REFUSED,
    grpc.StatusCode.PERMISSION_DENIED: REFUSED,
    grpc.StatusCode.UNAUTHENTICATED: REFUSED,
    grpc.StatusCode.FAILED_PRECONDITION: REFUSED,
    grpc.StatusCode.UNIMPLEMENTED: REFUSED,
}


def rule_for(code: grpc.StatusCode) -> Rule:
    """The rule for a status code."""
    return RULES.get(code, UNEXPECTED)


def counts_as_failure(error: BaseException) -> bool:
    """Whether an error raised by a call should count towards opening the breaker."""
    if isinstance(error, grpc.aio.AioRpcError):
        return rule_for(error.code()).instance_failure and not dependency_failed(error)
    return isinstance(error, asyncio.TimeoutError | ConnectionError)


def dependency_failed(error: grpc.aio.AioRpcError) -> bool:
    """Whether the instance answered that a store or service it needs is down."""
    return DEPENDENCY_TRAILER in tuple(error.trailing_metadata() or ())


def safe_to_repeat(request: Message) -> bool:
    """Reads always; writes only when they carry a request_id the service deduplicates."""
    fields = request.DESCRIPTOR.fields_by_name
    return "request_id" not in fields or bool(getattr(request, "request_id", ""))


def may_fail_over(request: Message, code: grpc.StatusCode) -> bool:
    """Retry on another instance only after an instance failure, and only when safe."""
    return rule_for(code).failover and safe_to_repeat(request)
