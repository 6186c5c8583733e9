"""Freezing a server's startup heap: what it takes out of the collector's sight, and what not."""

from __future__ import annotations

import gc
import weakref
from collections.abc import Iterator

import pytest

from services.common.heap import freeze_startup_heap


class Node:
    """An object that can be part of a reference cycle."""

    def __init__(self) -> None:
        self.other: Node | None = None


@pytest.fixture
def unfrozen_after() -> Iterator[None]:
    """A test process must not keep its heap frozen: every later test's garbage would stay."""
    try:
        yield
    finally:
        gc.unfreeze()


@pytest.mark.usefixtures("unfrozen_after")
def test_objects_alive_at_startup_are_frozen_and_kept() -> None:
    kept = Node()
    freeze_startup_heap()
    gc.collect()  # unfrozen, it would now sit in the oldest generation, scanned by each full pass
    assert gc.get_freeze_count() > 0
    assert not any(tracked is kept for tracked in gc.get_objects())


@pytest.mark.usefixtures("unfrozen_after")
def test_a_cycle_startup_already_dropped_is_collected_not_frozen() -> None:
    first, second = Node(), Node()
    first.other, second.other = second, first
    probe = weakref.ref(first)
    del first, second
    freeze_startup_heap()
    assert probe() is None
