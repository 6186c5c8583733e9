"""services/common/streams.py on one Redis and on the Redis Cluster: a group sees every entry,
stale pending entries are taken over, spent ones go to dead letters once, acks count once."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from services.common.redis import BlockingClient, blocking_client
from services.common.streams import ConsumerGroup, Delivery
from tests.helpers import flush

STREAM = "orders:{s1}:log"
DEAD = "orders:{s1}:dead"


@pytest.fixture
def client(either_redis: str) -> Iterator[BlockingClient]:
    """A blocking client of an emptied Redis."""
    flush(either_redis)
    made = blocking_client(either_redis, 5.0)
    yield made
    made.close()


def member(
    client: BlockingClient, name: str, claim_idle_ms: int = 60_000, max_deliveries: int = 3
) -> ConsumerGroup:
    """Consumer ``name`` of group "g"; claim_idle_ms 0 takes over whatever is pending."""
    return ConsumerGroup(
        client,
        "g",
        name,
        dead_letter_key={STREAM: DEAD}.__getitem__,
        claim_idle_ms=claim_idle_ms,
        max_deliveries=max_deliveries,
    )


def add(client: BlockingClient, *values: str) -> list[str]:
    """Append one entry per value; their ids."""
    return [str(client.xadd(STREAM, {"v": v})) for v in values]


def values(deliveries: list[Delivery]) -> list[str]:
    """The "v" field of each delivery."""
    return [d.fields["v"] for d in deliveries]


def test_a_new_group_sees_the_entries_added_before_it_and_each_once(client: BlockingClient) -> None:
    add(client, "a", "b")
    group = member(client, "c1")
    group.ensure(STREAM)
    group.ensure(STREAM)  # a second ensure is harmless (BUSYGROUP)
    add(client, "c")
    first = group.read_new(STREAM, 2)
    assert values(first) == ["a", "b"]
    assert all(d.deliveries == 1 and d.stream == STREAM for d in first)
    assert values(group.read_new(STREAM, 10)) == ["c"]
    assert group.read_new(STREAM, 10) == []


def test_reading_a_stream_that_has_no_group_creates_it(client: BlockingClient) -> None:
    add(client, "a")
    assert values(member(client, "c1").read_new(STREAM, 10)) == ["a"]


def test_another_consumer_takes_over_stale_entries_but_not_fresh_ones(
    client: BlockingClient,
) -> None:
    ids = add(client, "a", "b")
    crashed = member(client, "crashed")
    assert len(crashed.read_new(STREAM, 10)) == 2
    patient = member(client, "patient", claim_idle_ms=3_600_000)
    assert patient.take_over(STREAM, 10) == ([], 0)  # not idle for an hour yet
    taker = member(client, "taker", claim_idle_ms=0)
    claimed, dead = taker.take_over(STREAM, 10)
    assert dead == 0
    assert [(d.entry_id, d.deliveries) for d in claimed] == [(ids[0], 2), (ids[1], 2)]
    pending: Any = client.xpending_range(STREAM, "g", min="-", max="+", count=10)
    assert {row["consumer"] for row in pending} == {"taker"}


def test_an_entry_delivered_too_often_goes_to_dead_letters_once(client: BlockingClient) -> None:
    (poison,) = add(client, "poison")
    member(client, "c1").read_new(STREAM, 10)
    member(client, "c2", claim_idle_ms=0).take_over(STREAM, 10)  # second delivery
    third = member(client, "c3", claim_idle_ms=0, max_deliveries=2)
    assert third.take_over(STREAM, 10) == ([], 1)
    dead: Any = client.xrange(DEAD)
    assert [fields for _, fields in dead] == [
        {"dead_origin_id": poison, "dead_reason": "delivered too often", "v": "poison"}
    ]
    assert third.dead_letter(STREAM, [poison], "again") == 0  # acked already: not moved twice
    assert client.xlen(DEAD) == 1
    summary: Any = client.xpending(STREAM, "g")
    assert summary["pending"] == 0


def test_an_ack_counts_only_for_entries_still_pending(client: BlockingClient) -> None:
    ids = add(client, "a", "b")
    group = member(client, "c1")
    group.read_new(STREAM, 10)
    assert group.ack(STREAM, ids) == 2
    assert group.ack(STREAM, ids) == 0
    assert group.ack(STREAM, []) == 0


def test_dead_lettering_an_entry_trimmed_away_only_acks_it(client: BlockingClient) -> None:
    (gone,) = add(client, "gone")
    group = member(client, "c1")
    group.read_new(STREAM, 10)
    client.xtrim(STREAM, maxlen=0)
    assert group.dead_letter(STREAM, [gone], "unreadable") == 0
    assert client.exists(DEAD) == 0
    summary: Any = client.xpending(STREAM, "g")
    assert summary["pending"] == 0


def test_taking_over_from_a_stream_without_the_group_creates_it(client: BlockingClient) -> None:
    add(client, "a")
    group = member(client, "c1", claim_idle_ms=0)
    assert group.take_over(STREAM, 10) == ([], 0)
    assert values(group.read_new(STREAM, 10)) == ["a"]


def test_idle_consumers_with_nothing_pending_are_forgotten(client: BlockingClient) -> None:
    first, _ = add(client, "a", "b")
    gone = member(client, "gone")
    gone.read_new(STREAM, 1)
    gone.ack(STREAM, [first])
    member(client, "holder").read_new(STREAM, 1)  # "b" still pending: the holder is kept
    me = member(client, "me")
    assert me.forget_idle_consumers(STREAM, 0) == ["gone"]
    names: Any = client.xinfo_consumers(STREAM, "g")
    assert sorted(c["name"] for c in names) == ["holder"]
