"""One error-to-status lookup for every gRPC server: through the error's class hierarchy."""

from __future__ import annotations

from typing import Any, NoReturn, cast

import grpc
import pytest

from saga_coordinator import grpc_server as saga_server
from saga_coordinator.domain import SagaConflict, SagaNotFound
from services.common.db import DatabaseUnavailable
from services.common.dependency import DEPENDENCY_TRAILER
from services.common.grpc_runtime import Context, abort_if_known, status_for
from services.user import domain as user_domain
from services.user import grpc_server as user_server


class FinerNotFound(SagaNotFound):
    """A subclass a later change might add without touching the saga server's table."""


class Aborted(Exception):
    """What the fake context raises, as grpc's abort does."""


class RecordingContext:
    """The part of a servicer context that aborting uses."""

    def __init__(self) -> None:
        self.aborted: tuple[grpc.StatusCode, str] | None = None
        self.trailer: tuple[tuple[str, str], ...] = ()

    async def abort(
        self, code: grpc.StatusCode, details: str, trailing_metadata: Any = ()
    ) -> NoReturn:
        self.aborted = (code, details)
        self.trailer = tuple(trailing_metadata)
        raise Aborted(details)


def test_a_subclass_of_a_mapped_saga_error_gets_its_parents_status() -> None:
    assert status_for(saga_server.STATUSES, FinerNotFound("s")) == grpc.StatusCode.NOT_FOUND
    assert status_for(saga_server.STATUSES, SagaConflict("s")) == grpc.StatusCode.ALREADY_EXISTS


def test_a_subclass_of_a_mapped_user_error_gets_its_parents_status() -> None:
    class NoSuchGoal(user_domain.GoalNotFound):
        pass

    assert status_for(user_server.STATUSES, NoSuchGoal("g")) == grpc.StatusCode.NOT_FOUND


def test_an_error_outside_the_table_has_no_status() -> None:
    assert status_for(saga_server.STATUSES, KeyError("x")) is None


async def test_the_saga_server_answers_a_subclassed_error_with_the_parents_status() -> None:
    context = RecordingContext()

    async def failing() -> None:
        raise FinerNotFound("saga s not found")

    with pytest.raises(Aborted):
        await saga_server._or_abort(cast(Context, context), failing())
    assert context.aborted == (grpc.StatusCode.NOT_FOUND, "saga s not found")


async def test_an_unknown_error_is_not_answered_and_propagates() -> None:
    context = RecordingContext()
    await abort_if_known(cast(Context, context), saga_server.STATUSES, KeyError("x"))
    assert context.aborted is None


async def test_a_dead_database_is_answered_unavailable_with_the_dependency_trailer() -> None:
    context = RecordingContext()
    with pytest.raises(Aborted):
        await abort_if_known(
            cast(Context, context), saga_server.STATUSES, DatabaseUnavailable("primary gone")
        )
    assert context.aborted == (grpc.StatusCode.UNAVAILABLE, "primary gone")
    assert context.trailer == (DEPENDENCY_TRAILER,)


async def test_a_domain_error_carries_no_dependency_trailer() -> None:
    context = RecordingContext()
    with pytest.raises(Aborted):
        await abort_if_known(cast(Context, context), saga_server.STATUSES, FinerNotFound("s"))
    assert context.trailer == ()
