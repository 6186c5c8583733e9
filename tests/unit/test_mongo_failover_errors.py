"""A MongoDB failover leaves every adapter method as DatabaseUnavailable, never a 500.

The adapters run over a fake database whose collections and sessions raise the error
pymongo raises during an election, a lost majority or an expired timeout. Every public
method of both adapters is called (a method added later without arguments here fails the
coverage test), and errors that are refusals, not outages, must pass through unchanged.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any, cast

import pytest
from pymongo.database import Database
from pymongo.errors import (
    AutoReconnect,
    ConnectionFailure,
    DuplicateKeyError,
    ExecutionTimeout,
    NetworkTimeout,
    NotPrimaryError,
    OperationFailure,
    PyMongoError,
    ServerSelectionTimeoutError,
    WTimeoutError,
)

from services.activity.domain import Cursor, WorkoutSession
from services.activity.mongo_repository import Document, MongoWorkoutRepository
from services.activity.outbox_mongo import MongoProgressOutbox
from services.activity.suggestions import GoalPlan
from services.common.db import DatabaseUnavailable
from services.common.dependency import DependencyUnavailable
from services.common.goal_types import GoalType

T0 = datetime(2030, 1, 1, 8, 0, tzinfo=UTC)
SESSION = WorkoutSession("s1", "u1", "running", T0, weight_kg=70.0)
PLAN = GoalPlan("g1", "u1", GoalType.CALORIES_BURNED, 300, date(2030, 2, 1), T0, True, "put-1")

FAILOVER_ERRORS: dict[str, PyMongoError] = {
    "no primary reachable": ServerSelectionTimeoutError("No primary available for writes"),
    "connection lost": AutoReconnect("connection closed"),
    "primary stepped down": NotPrimaryError("not primary", {"code": 10107}),
    "socket timeout": NetworkTimeout("timed out"),
    "any connection failure": ConnectionFailure("refused"),
    "majority not reached in time": WTimeoutError("waiting for replication timed out", 64, {}),
    "timeoutMS expired on the server": ExecutionTimeout("operation exceeded time limit", 50),
    "transaction cut by an election": OperationFailure(
        "interrupted", 11602, {"errorLabels": ["TransientTransactionError"]}
    ),
    "commit outcome unknown": OperationFailure(
        "commit timed out", 91, {"errorLabels": ["UnknownTransactionCommitResult"]}
    ),
}
REFUSALS: dict[str, PyMongoError] = {
    "a bad query": OperationFailure("unknown operator: $foo", 2),
    "an unexpected duplicate": DuplicateKeyError("E11000 duplicate key", 11000),
}

Call = Callable[[Any], object]
REPOSITORY_CALLS: dict[str, Call] = {
    "ensure_indexes": lambda r: r.ensure_indexes(),
    "add_session": lambda r: r.add_session(SESSION, "start-1"),
    "get_session": lambda r: r.get_session("s1"),
    "complete_session": lambda r: r.complete_session("s1", T0, 600.0, 98.0, "end-1"),
    "list_sessions": lambda r: r.list_sessions("u1", 10, Cursor(T0, "s1")),
    "get_statistics": lambda r: r.get_statistics("u1"),
    "totals_since": lambda r: r.totals_since("u1", T0),
    "put_plan": lambda r: r.put_plan(PLAN),
    "restore_plan": lambda r: r.restore_plan("g1", "put-1"),
    "get_plan": lambda r: r.get_plan("g1"),
    "active_plans": lambda r: r.active_plans("u1"),
    "delete_user_data": lambda r: r.delete_user_data("u1"),
}
OUTBOX_CALLS: dict[str, Call] = {
    "claim_progress": lambda o: o.claim_progress("relay-1", T0, timedelta(seconds=30), 5),
    "progress_delivered": lambda o: o.progress_delivered("e1", T0),
    "retry_progress": lambda o: o.retry_progress("e1", "relay-1", T0, "boom"),
    "pending_progress": lambda o: o.pending_progress(),
    "prune_delivered": lambda o: o.prune_delivered(T0, 10),
}


class FailingCollection:
    """A collection whose every operation raises the given error, as during a failover."""

    def __init__(self, error: PyMongoError) -> None:
        self.error = error

    def __getattr__(self, name: str) -> Callable[..., Any]:
        def fail(*_args: Any, **_kwargs: Any) -> Any:
            raise self.error

        return fail


class FailingClient:
    """A client that cannot start a session: no server could be selected."""

    def __init__(self, error: PyMongoError) -> None:
        self.error = error

    def start_session(self, **_options: Any) -> Any:
        """Raise the failover's error, as pymongo does when it selects no server."""
        raise self.error


class FailingDatabase:
    """A database handle whose collections and client all raise one error."""

    def __init__(self, error: PyMongoError) -> None:
        self.error = error
        self.client = FailingClient(error)

    def get_collection(self, _name: str, **_options: Any) -> FailingCollection:
        """A collection raising the error on every operation."""
        return FailingCollection(self.error)


def adapters(error: PyMongoError) -> list[tuple[Any, dict[str, Call]]]:
    db = cast("Database[Document]", FailingDatabase(error))
    return [
        (MongoWorkoutRepository(db), REPOSITORY_CALLS),
        (MongoProgressOutbox(db), OUTBOX_CALLS),
    ]


def public_methods(cls: type) -> set[str]:
    return {name for name, _ in inspect.getmembers(cls, inspect.isfunction) if name[0] != "_"}


def test_every_public_method_of_both_adapters_is_called_here() -> None:
    assert public_methods(MongoWorkoutRepository) == set(REPOSITORY_CALLS)
    assert public_methods(MongoProgressOutbox) == set(OUTBOX_CALLS)


@pytest.mark.parametrize("error", FAILOVER_ERRORS.values(), ids=FAILOVER_ERRORS.keys())
def test_a_failover_error_leaves_every_adapter_method_as_database_unavailable(
    error: PyMongoError,
) -> None:
    raised: dict[str, BaseException | None] = {}
    for adapter, calls in adapters(error):
        for name, call in calls.items():
            try:
                call(adapter)
                raised[name] = None
            except Exception as caught:  # each method's outcome is recorded
                raised[name] = caught
    wrong = {name: repr(e) for name, e in raised.items() if not isinstance(e, DatabaseUnavailable)}
    assert wrong == {}
    assert all(isinstance(e, DependencyUnavailable) for e in raised.values())
    assert all(e is not None and e.__cause__ is error for e in raised.values())


@pytest.mark.parametrize("error", REFUSALS.values(), ids=REFUSALS.keys())
def test_an_error_that_is_not_an_outage_passes_through_unchanged(error: PyMongoError) -> None:
    repository = MongoWorkoutRepository(cast("Database[Document]", FailingDatabase(error)))
    with pytest.raises(type(error)) as raised:
        repository.get_plan("g1")
    assert raised.value is error
