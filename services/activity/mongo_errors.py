"""A failover's pymongo errors, told apart and raised as DatabaseUnavailable."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from pymongo.errors import ConnectionFailure, PyMongoError

from services.common.db import DatabaseUnavailable

# Labels of an error another primary, or the same one soon, would not give.
UNAVAILABLE_LABELS = ("RetryableWriteError", "TransientTransactionError")
UNKNOWN_COMMIT = "UnknownTransactionCommitResult"


def is_unavailable(error: PyMongoError) -> bool:
    """Whether a pymongo error means "not now, try again": no primary, no majority, a timeout.

    ConnectionFailure covers AutoReconnect, NotPrimaryError, NetworkTimeout and
    ServerSelectionTimeoutError; ``timeout`` is set on WTimeoutError and ExecutionTimeout
    (CSOT's timeoutMS expiring); the labels mark a stepdown cut short or a commit whose
    outcome is unknown (a retry with the same request_id settles it).
    """
    if isinstance(error, ConnectionFailure) or error.timeout:
        return True
    return any(error.has_error_label(label) for label in (*UNAVAILABLE_LABELS, UNKNOWN_COMMIT))


@contextmanager
def unavailable_on_failover() -> Iterator[None]:
    """Raise DatabaseUnavailable for a failover's errors; also a decorator of adapter methods."""
    try:
        yield
    except PyMongoError as error:
        if not is_unavailable(error):
            raise
        first_line = (str(error).strip().splitlines() or [type(error).__name__])[0]
        raise DatabaseUnavailable(f"database unavailable: {first_line}") from error
