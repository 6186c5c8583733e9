"""SIGKILL a Redis Cluster master during watch-log ingestion: what was acknowledged survives.

A watch-log service on the shared 3 + 3 cluster acknowledges a batch only once a replica
has it (WAIT 1). Writers post batches for users whose partition lives on one master,
retrying a failed batch as the producer CLI does (entries are idempotent by message id).
The master is SIGKILLed mid-ingestion; its replica takes over. Afterwards every
acknowledged entry must be stored exactly once. Figures are printed (run with ``-s``;
docs/operations.md quotes them). The killed node rejoins as a replica before the end.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import timedelta

import grpc
import pytest
from fitness.watch_logs.v1 import watch_logs_service_pb2 as pb
from fitness.watch_logs.v1 import watch_logs_service_pb2_grpc as pb_grpc

from deploy.polling import wait_for
from deploy.redis_cluster import Node, RedisCluster
from services.common.timeutil import format_time, utc_now
from services.common.trust import GATEWAY, WATCH_LOGS
from services.watch_logs.partitions import Partitions
from tests.helpers import ServiceCerts, channel_as, flush, start_watch_log_server

WINDOW_LIMIT = 30.0  # the failover must be over well within this (seconds)
WRITERS = 4
BATCH = 20
PARTITIONS = 16


@dataclass
class Figures:
    """What the writers saw around the kill."""

    acknowledged: set[str] = field(default_factory=set)
    failed_calls: int = 0
    first_failure: float | None = None
    last_failure: float | None = None
    # Anything but "not now" (UNAVAILABLE, DEADLINE_EXCEEDED) would be a wrong answer.
    unexpected: list[grpc.StatusCode] = field(default_factory=list)
    reasons: Counter[str] = field(default_factory=Counter)

    def failed(self, code: grpc.StatusCode, details: str) -> None:
        now = time.monotonic()
        self.reasons[details[:60]] += 1
        if code not in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED):
            self.unexpected.append(code)
        self.failed_calls += 1
        self.first_failure = self.first_failure or now
        self.last_failure = now


@pytest.fixture
async def stub(
    redis_cluster_server: RedisCluster, service_certs: ServiceCerts
) -> AsyncIterator[pb_grpc.WatchLogServiceStub]:
    """A watch-log service on the cluster acknowledging after WAIT 1; every node up after."""
    url = redis_cluster_server.url
    flush(url)
    process = await start_watch_log_server(
        url,
        certs=service_certs,
        replicas_to_ack=1,
        replica_ack_timeout_ms=500,
        partitions=PARTITIONS,
        consumer_enabled=False,
    )
    channel = channel_as(service_certs, GATEWAY, WATCH_LOGS, process.bound_address)
    try:
        yield pb_grpc.WatchLogServiceStub(channel)
    finally:
        await channel.close()
        await process.stop(grace=0)
        for node in redis_cluster_server.nodes:
            if not node.running:
                await asyncio.to_thread(redis_cluster_server.restart, node)
        await asyncio.to_thread(redis_cluster_server.wait_healthy)


def users_on(redis: RedisCluster, master: Node, wanted: int) -> list[str]:
    """Users whose partition stream lives on ``master``."""
    partitions = Partitions(PARTITIONS)
    found = []
    for n in range(10_000):
        user = f"watcher{n}"
        if redis.master_for(partitions.of_user(user).stream) == master:
            found.append(user)
            if len(found) == wanted:
                return found
    raise AssertionError("too few users hash to the master to be killed")


def batch(user: str, first: int) -> pb.IngestLogsRequest:
    """BATCH walking samples of ``user``, message ids first..first+BATCH-1."""
    now = utc_now()
    logs = [
        pb.WatchLog(
            message_id=f"{user}-{n}",
            device_id="watch-1",
            device_model="Venu 3",
            firmware="12.1",
            timestamp=format_time(now - timedelta(seconds=n % 600)),
            activity="walking",
            duration_s=60,
            steps=80,
            heart_rate=90,
            calories=4.0,
            distance_m=60.0,
            battery=70,
        )
        for n in range(first, first + BATCH)
    ]
    return pb.IngestLogsRequest(request_id=f"{user}-{first}", user_id=user, logs=logs)


async def write_until(
    stub: pb_grpc.WatchLogServiceStub, user: str, stop: asyncio.Event, figures: Figures
) -> None:
    """Post batches; retry a failed one until it is acknowledged (the producer's way)."""
    first = 0
    while not stop.is_set():
        request = batch(user, first)
        try:
            await stub.IngestLogs(request, timeout=3.0)
        except grpc.aio.AioRpcError as error:
            figures.failed(error.code(), error.details() or "")
            await asyncio.sleep(0.1)
            continue
        figures.acknowledged.update(log.message_id for log in request.logs)
        first += BATCH
        await asyncio.sleep(0.01)


async def stored_ids(stub: pb_grpc.WatchLogServiceStub, user: str) -> list[str]:
    """Every message id stored for ``user``, as often as it is stored."""
    ids: list[str] = []
    token = ""
    while True:
        where = pb.LogFilter(user_id=user, from_time=format_time(utc_now() - timedelta(hours=1)))
        page = await stub.ListLogs(
            pb.ListLogsRequest(filter=where, page_size=1000, page_token=token), timeout=5.0
        )
        ids.extend(stored.log.message_id for stored in page.logs)
        token = page.next_page_token
        if not token:
            return ids


async def test_killing_a_master_during_ingestion_loses_no_acknowledged_log(
    stub: pb_grpc.WatchLogServiceStub, redis_cluster_server: RedisCluster
) -> None:
    redis = redis_cluster_server
    master = redis.master_for(Partitions(PARTITIONS).all[0].stream)
    await asyncio.to_thread(
        wait_for,
        lambda: any(
            r.info("replication").get("master_link_status") == "up"
            for r in redis.replicas_of(master)
        ),
        10,
        "the replica's link to its master",
    )
    users = users_on(redis, master, WRITERS)
    stop, figures = asyncio.Event(), Figures()
    writers = [asyncio.create_task(write_until(stub, user, stop, figures)) for user in users]
    async with asyncio.timeout(WINDOW_LIMIT):
        while len(figures.acknowledged) < 10 * BATCH:  # noqa: ASYNC110 - figures are counters
            await asyncio.sleep(0.05)
    [replica] = redis.replicas_of(master)
    killed_at = time.monotonic()
    await asyncio.to_thread(redis.kill, master)
    await asyncio.to_thread(
        wait_for,
        lambda: replica.info("replication").get("role") == "master",
        WINDOW_LIMIT,
        "the replica's promotion",
    )
    promoted_at = time.monotonic()
    # The promoted replica has no replica of its own, so WAIT 1 cannot be met and its
    # partitions refuse writes (503) rather than acknowledge what one crash could lose;
    # the killed node, restarted as a supervisor or Kubernetes would, rejoins as its replica.
    await asyncio.to_thread(redis.restart, master)
    restarted_at = time.monotonic()
    async with asyncio.timeout(WINDOW_LIMIT):
        # Until writes have worked for a second again.
        while figures.last_failure is None or time.monotonic() - figures.last_failure < 1.0:  # noqa: ASYNC110
            await asyncio.sleep(0.05)
    stop.set()
    for task in writers:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    await asyncio.to_thread(redis.wait_healthy)
    stored = [message for user in users for message in await stored_ids(stub, user)]
    lost = figures.acknowledged - set(stored)
    twice = len(stored) - len(set(stored))
    recovered_after = (figures.last_failure or killed_at) - killed_at
    print(
        f"\nRedis master SIGKILLed during watch-log ingestion (WAIT 1): batches failed for "
        f"{recovered_after:.1f} s, of which {(figures.last_failure or 0) - restarted_at:.1f} s "
        f"after the killed node was restarted (the replica was promoted "
        f"{promoted_at - killed_at:.1f} s after the kill, the node restarted "
        f"{restarted_at - killed_at:.1f} s after it) "
        f"({figures.failed_calls} calls failed, each retried); "
        f"{len(figures.acknowledged)} entries acknowledged, {len(stored)} stored, "
        f"acknowledged entries lost: {len(lost)}, entries stored twice: {twice}; "
        f"failures: {dict(figures.reasons)}"
    )
    assert figures.failed_calls > 0, "the kill never reached the writers' partition"
    assert figures.unexpected == []
    assert lost == set()
    assert twice == 0
