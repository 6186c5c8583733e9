"""The cache-aside logic on the in-memory store and a fake clock: no Redis, no sleeps."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from fitness.user.v1 import user_service_pb2 as user_pb
from prometheus_client import CollectorRegistry

from services.common.cache import (
    PROFILE,
    TOMBSTONE,
    BlockingCache,
    CacheAside,
    CacheMetrics,
    CachePolicy,
    Kind,
    MemoryStore,
    NoCache,
    metrics_in,
    user_entity,
)
from tests.helpers import FakeClock

NUMBER: Kind[int] = Kind("number", 3, 60.0, lambda n: {"n": n}, lambda data: int(data["n"]))
KEY = NUMBER.key("thing:1")


class NotFound(Exception):
    """What a loader raises for a missing entity."""


@dataclass
class Source:
    """A source of truth that counts its loads and may be held open or fail."""

    value: int = 1
    loads: int = 0
    gate: asyncio.Event | None = None
    error: Exception | None = None
    during: Callable[[], Awaitable[None]] | None = None
    started: asyncio.Event = field(default_factory=asyncio.Event)

    async def load(self) -> int:
        self.loads += 1
        self.started.set()
        seen = self.value
        if self.during:
            await self.during()
        if self.gate:
            await self.gate.wait()
        if self.error:
            raise self.error
        return seen


@dataclass
class World:
    clock: FakeClock = field(default_factory=FakeClock)
    registry: CollectorRegistry = field(default_factory=CollectorRegistry)
    store: MemoryStore = field(init=False)
    cache: CacheAside = field(init=False)
    source: Source = field(default_factory=Source)

    def __post_init__(self) -> None:
        self.store = MemoryStore(self.clock)
        self.cache = CacheAside(
            self.store, CacheMetrics(self.registry), CachePolicy(), self.clock, lambda: 0.5
        )

    async def read(self) -> int:
        return await self.cache.read(NUMBER, "thing:1", self.source.load)

    def count(self, outcome: str) -> float:
        return self.cache.metrics.count("number", outcome)


@pytest.fixture
def world() -> World:
    return World()


async def test_a_miss_loads_and_fills_and_the_next_read_is_a_hit(world: World) -> None:
    assert await world.read() == 1
    world.source.value = 2  # changed behind the cache's back: a hit must not see it
    assert await world.read() == 1
    assert world.source.loads == 1
    assert (world.count("miss"), world.count("hit")) == (1, 1)


async def test_an_entry_expires_after_its_ttl(world: World) -> None:
    await world.read()
    world.source.value = 2
    world.clock.advance(60.0)
    assert await world.read() == 2
    assert world.source.loads == 2


@pytest.mark.parametrize(("draw", "ttl"), [(0.0, 54.0), (0.5, 60.0), (1.0, 66.0)])
async def test_ttls_are_jittered_by_up_to_a_tenth_either_way(draw: float, ttl: float) -> None:
    clock = FakeClock()
    store = MemoryStore(clock)
    cache = CacheAside(store, CacheMetrics(CollectorRegistry()), CachePolicy(), clock, lambda: draw)
    await cache.read(NUMBER, "thing:1", Source().load)
    assert store.ttl(KEY) == pytest.approx(ttl)


async def test_an_invalidated_value_is_loaded_again_from_the_source(world: World) -> None:
    await world.read()
    world.source.value = 2
    await world.cache.invalidate(NUMBER, "thing:1")
    assert await world.read() == 2
    assert (
        world.registry.get_sample_value(
            "cache_invalidations_total", {"kind": "number", "outcome": "ok"}
        )
        == 1
    )


async def test_a_reader_that_loaded_before_a_write_does_not_put_the_stale_value_back(
    world: World,
) -> None:
    async def write_meanwhile() -> None:
        world.source.value = 2
        await world.cache.invalidate(NUMBER, "thing:1")

    world.source.during = write_meanwhile  # the load saw 1, then the write committed 2
    assert await world.read() == 1
    world.source.during = None
    assert world.store.entries[KEY][0] == TOMBSTONE
    assert await world.read() == 2


async def test_after_the_tombstone_expires_the_value_is_cached_again(world: World) -> None:
    await world.cache.invalidate(NUMBER, "thing:1")
    world.clock.advance(CachePolicy().tombstone_ttl)
    await world.read()
    assert await world.read() == 1
    assert world.source.loads == 1


async def test_a_load_slower_than_max_fill_age_does_not_fill(world: World) -> None:
    async def slow() -> None:
        world.clock.advance(CachePolicy().max_fill_age)

    world.source.during = slow
    await world.read()
    assert KEY not in world.store.entries


async def test_concurrent_misses_of_one_key_share_one_load(world: World) -> None:
    world.source.gate = asyncio.Event()
    readers = [asyncio.create_task(world.read()) for _ in range(20)]
    await world.source.started.wait()
    world.source.gate.set()
    assert await asyncio.gather(*readers) == [1] * 20
    assert world.source.loads == 1


async def settle() -> None:
    """Let every ready task run to its next wait (the fake store never really waits)."""
    for _ in range(10):
        await asyncio.sleep(0)


async def test_a_read_after_another_processs_write_does_not_join_a_load_begun_before_it(
    world: World,
) -> None:
    world.source.gate = asyncio.Event()
    early = asyncio.create_task(world.read())
    await world.source.started.wait()  # this load saw 1
    world.source.value = 2
    await world.store.set(KEY, TOMBSTONE, CachePolicy().tombstone_ttl)  # the writer's
    late = asyncio.create_task(world.read())  # issued after the write was acknowledged
    await settle()
    world.source.gate.set()
    assert (await early, await late) == (1, 2)
    assert world.source.loads == 2


@dataclass
class SlowGets(MemoryStore):
    """A store whose GETs answer only once told to, so concurrent reads overlap as on Redis."""

    answer: asyncio.Event = field(default_factory=asyncio.Event)

    async def get(self, key: str) -> str | None:
        await self.answer.wait()
        return await super().get(key)


async def test_reads_that_find_one_tombstone_together_share_one_load() -> None:
    clock, source = FakeClock(), Source()
    store = SlowGets(clock)
    cache = CacheAside(store, CacheMetrics(CollectorRegistry()), CachePolicy(), clock)
    await store.set(KEY, TOMBSTONE, CachePolicy().tombstone_ttl)
    readers = [asyncio.create_task(cache.read(NUMBER, "thing:1", source.load)) for _ in range(5)]
    await settle()  # every GET is out before any load begins
    store.answer.set()
    assert await asyncio.gather(*readers) == [1] * 5
    assert source.loads == 1


async def test_after_an_invalidation_in_this_process_no_read_joins_the_load_it_outdated(
    world: World,
) -> None:
    world.store.down = True  # reads bypass the cache: no tombstone can tell them
    world.source.gate = asyncio.Event()
    early = asyncio.create_task(world.read())
    await world.source.started.wait()
    world.source.value = 2
    await world.cache.invalidate(NUMBER, "thing:1")  # fails, and forgets the running load
    late = asyncio.create_task(world.read())
    await settle()
    world.source.gate.set()
    assert (await early, await late) == (1, 2)


async def test_no_read_joins_a_load_older_than_max_fill_age(world: World) -> None:
    world.source.gate = asyncio.Event()
    early = asyncio.create_task(world.read())
    await world.source.started.wait()
    world.source.value = 2
    world.clock.advance(CachePolicy().max_fill_age)  # a write's tombstone may be gone
    late = asyncio.create_task(world.read())
    await settle()
    world.source.gate.set()
    assert (await early, await late) == (1, 2)


async def test_one_cancelled_waiter_does_not_cancel_the_shared_load(world: World) -> None:
    world.source.gate = asyncio.Event()
    leaving, staying = asyncio.create_task(world.read()), asyncio.create_task(world.read())
    await world.source.started.wait()
    leaving.cancel()
    world.source.gate.set()
    assert await staying == 1
    assert leaving.cancelled()


async def test_a_dead_store_answers_from_the_source_and_is_skipped_for_the_backoff(
    world: World,
) -> None:
    world.store.down = True
    assert await world.read() == 1
    calls = world.store.calls
    assert await world.read() == 1  # within the back-off: the store is not asked
    assert world.store.calls == calls
    assert (world.count("error"), world.count("bypass")) == (1, 1)
    world.store.down = False
    world.clock.advance(CachePolicy().backoff)
    await world.read()
    assert await world.read() == 1
    assert world.count("hit") == 1


async def test_while_the_store_is_down_concurrent_reads_still_share_one_load(
    world: World,
) -> None:
    world.store.down = True
    world.source.gate = asyncio.Event()
    readers = [asyncio.create_task(world.read()) for _ in range(10)]
    await world.source.started.wait()
    world.source.gate.set()
    assert await asyncio.gather(*readers) == [1] * 10
    assert world.source.loads == 1
    assert world.store.entries == {}


class HungStore(MemoryStore):
    """A store whose reads never answer (a Redis that hangs)."""

    async def get(self, key: str) -> str | None:
        await asyncio.Event().wait()
        return None


async def test_a_hung_store_is_bounded_by_the_cache_timeout() -> None:
    registry = CollectorRegistry()
    cache = CacheAside(HungStore(), CacheMetrics(registry), CachePolicy(timeout=0.01))
    assert await cache.read(NUMBER, "thing:1", Source(value=7).load) == 7
    assert registry.get_sample_value("cache_store_errors_total", {"error": "TimeoutError"}) == 1


async def test_an_invalidation_in_an_outage_is_counted_not_raised(world: World) -> None:
    world.store.down = True
    await world.cache.invalidate(NUMBER, "thing:1")
    assert (
        world.registry.get_sample_value(
            "cache_invalidations_total", {"kind": "number", "outcome": "error"}
        )
        == 1
    )


@pytest.mark.parametrize("error", [NotFound("no such thing"), RuntimeError("source down")])
async def test_loader_errors_and_not_found_are_never_cached(world: World, error: Exception) -> None:
    world.source.error = error
    with pytest.raises(type(error)):
        await world.read()
    assert KEY not in world.store.entries
    world.source.error = None
    assert await world.read() == 1
    assert world.source.loads == 2


async def test_waiters_of_a_failed_shared_load_all_see_its_error(world: World) -> None:
    world.source.gate, world.source.error = asyncio.Event(), NotFound("gone")
    readers = [asyncio.create_task(world.read()) for _ in range(3)]
    await world.source.started.wait()
    world.source.gate.set()
    results = await asyncio.gather(*readers, return_exceptions=True)
    assert all(isinstance(r, NotFound) for r in results)
    assert world.source.loads == 1


@pytest.mark.parametrize("raw", ["not json", json.dumps({"wrong": 1}), json.dumps([1])])
async def test_an_undecodable_entry_is_dropped_and_reloaded(world: World, raw: str) -> None:
    await world.store.set(KEY, raw, 60.0)
    assert await world.read() == 1
    assert await world.read() == 1
    assert world.source.loads == 1


def test_keys_carry_the_schema_version_and_the_entity_as_hash_tag() -> None:
    assert PROFILE.key(user_entity("42")) == "cache:v1:{user:42}:profile"
    assert NUMBER.key("thing:1") == "cache:v3:{thing:1}:number"


@pytest.mark.parametrize("weight", [None, 0.0, 61.5])
def test_a_cached_profile_keeps_whether_a_weight_was_entered(weight: float | None) -> None:
    user = user_pb.User(user_id="42", username="ann", email="a@example.com")
    if weight is not None:
        user.profile.weight_kg = weight
    back = PROFILE.decode(json.loads(json.dumps(PROFILE.encode(user))))
    assert back == user
    assert back.profile.HasField("weight_kg") is (weight is not None)


def test_a_policy_whose_fills_could_outlive_its_tombstones_is_refused() -> None:
    with pytest.raises(ValueError, match="max_fill_age"):
        CachePolicy(tombstone_ttl=5.0, max_fill_age=5.0)


async def test_no_cache_always_loads() -> None:
    source = Source()
    for _ in range(2):
        assert await NoCache().read(NUMBER, "thing:1", source.load) == 1
    assert source.loads == 2


async def test_the_blocking_facade_serves_worker_threads_on_the_owning_loop(world: World) -> None:
    blocking = BlockingCache(world.cache, asyncio.get_running_loop(), invalidate_timeout=1.0)

    def in_thread() -> list[Any]:
        first = blocking.read(NUMBER, "thing:1", world.source.load, budget=1.0)
        world.source.value = 2
        blocking.invalidate(NUMBER, "thing:1")
        return [first, blocking.read(NUMBER, "thing:1", world.source.load, budget=1.0)]

    assert await asyncio.to_thread(in_thread) == [1, 2]
    with pytest.raises(RuntimeError, match="its own event loop"):
        blocking.invalidate(NUMBER, "thing:1")


@dataclass
class SlowSets(MemoryStore):
    """A store whose SETs answer only once told to (a slow Redis)."""

    answer: asyncio.Event = field(default_factory=asyncio.Event)

    async def set(self, key: str, value: str, ttl: float, only_if_absent: bool = False) -> bool:
        await self.answer.wait()
        return await super().set(key, value, ttl, only_if_absent)


def invalidate_while_the_loop_is_held(blocking: BlockingCache) -> None:
    """Invalidate from a worker thread while the owning loop cannot run (it is blocked
    joining the thread): the thread must give up waiting on its own."""
    writer = threading.Thread(target=blocking.invalidate, args=(NUMBER, "thing:1"))
    writer.start()
    writer.join()


@pytest.mark.parametrize("backing_off", [False, True])
async def test_a_writer_waits_briefly_or_not_at_all_and_its_invalidation_still_lands(
    backing_off: bool,
) -> None:
    clock, registry = FakeClock(), CollectorRegistry()
    store = SlowSets(clock)
    cache = CacheAside(store, CacheMetrics(registry), CachePolicy(), clock)
    if backing_off:
        store.down = True
        await cache.read(NUMBER, "thing:1", Source().load)  # fails: the back-off begins
        store.down = False  # the fake clock stands still, so the back-off lasts
    blocking = BlockingCache(cache, asyncio.get_running_loop(), invalidate_timeout=1.0)
    invalidate_while_the_loop_is_held(blocking)  # waits INVALIDATE_WAIT, or nothing
    await settle()
    store.answer.set()  # the slow SET answers after the write was acknowledged
    await settle()
    assert store.entries[KEY][0] == TOMBSTONE
    labels = {"kind": "number", "outcome": "ok"}
    assert registry.get_sample_value("cache_invalidations_total", labels) == 1


def test_an_app_started_twice_counts_in_the_same_counters() -> None:
    registry = CollectorRegistry()
    assert metrics_in(registry) is metrics_in(registry)
