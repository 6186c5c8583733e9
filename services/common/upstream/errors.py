"""The client's own errors: transport errors are translated at the pool, never passed on.

As httpx maps httpcore's exceptions onto its own in ``map_httpcore_exceptions``, the pool
maps ``grpc.aio.AioRpcError`` onto these types, so callers handle one vocabulary: a status
code, a message, a retry hint, and whether the call may have had an effect.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import grpc

from services.common.upstream.retry import Rule, rule_for


class UpstreamError(Exception):
    """A call to another service did not succeed."""

    def __init__(
        self,
        service: str,
        code: grpc.StatusCode,
        message: str,
        *,
        retry_after: float | None,
        may_have_had_effect: bool,
    ) -> None:
        super().__init__(message)
        self.service = service
        self.code = code
        self.message = message
        self.retry_after = retry_after
        self.may_have_had_effect = may_have_had_effect

    @property
    def rule(self) -> Rule:
        """What the failure table says about this error's status."""
        return rule_for(self.code)

    @property
    def transient(self) -> bool:
        """Whether a later attempt of the same call may succeed."""
        return self.rule.transient


class RpcFailed(UpstreamError):
    """The call ended with a non-OK status (``sent`` False: it never left the client)."""

    def __init__(
        self, service: str, code: grpc.StatusCode, details: str, *, sent: bool = True
    ) -> None:
        rule = rule_for(code)
        super().__init__(
            service,
            code,
            details,
            retry_after=rule.retry_after,
            may_have_had_effect=sent and not rule.refused,
        )


class NoInstanceAvailable(UpstreamError):
    """Every instance of the service is down, unhealthy or behind an open breaker.

    ``attempted`` tells whether the call was sent to some instance before (and failed
    there): only when it was not is it certain that the call had no effect.
    """

    def __init__(self, service: str, retry_after: float, attempted: bool = False) -> None:
        super().__init__(
            service,
            grpc.StatusCode.UNAVAILABLE,
            f"{service} is unavailable",
            retry_after=retry_after,
            may_have_had_effect=attempted,
        )
        self.retry_after: float = retry_after
        self.attempted = attempted


def from_rpc_error(service: str, error: grpc.aio.AioRpcError) -> RpcFailed:
    """The client's error for a failed call."""
    return RpcFailed(service, error.code(), error.details() or "")


@contextmanager
def map_rpc_errors(service: str) -> Iterator[None]:
    """Translate gRPC errors raised inside the block into RpcFailed."""
    try:
        yield
    except grpc.aio.AioRpcError as error:
        raise from_rpc_error(service, error) from error
