"""RedisWatchLogStore: appends with dedup and replica confirmation, scans, summaries, status."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, timedelta
from functools import partial
from typing import Any

import redis
from redis.cluster import RedisCluster
from redis.exceptions import (
    ClusterDownError,
    ConnectionError,
    MovedError,
    RedisClusterException,
    TimeoutError,
    TryAgainError,
)

from services.common.redis import BlockingClient, outage_as
from services.watch_logs import entries, summaries
from services.watch_logs.config import WatchLogSettings
from services.watch_logs.domain import (
    DailySummary,
    LogFilter,
    ScanCursor,
    ScanPage,
    StoreUnavailable,
    StreamStatus,
    WatchLog,
)
from services.watch_logs.partitions import Partition, Partitions
from services.watch_logs.redis_store import scan, scripts

# What a changed slot map looks like to a node client: re-read the map and try once more.
_STALE_ROUTE = (MovedError, ConnectionError, TimeoutError, ClusterDownError, TryAgainError)
# On Redis < 7 XINFO GROUPS has no lag: status counts unread entries up to this many.
LAG_COUNT_CAP = 1000


# Every Redis failure inside becomes the domain's StoreUnavailable.
_outage = partial(outage_as, StoreUnavailable)


def millis(moment: datetime) -> int:
    """Milliseconds since the epoch (a stream id's time part), never negative."""
    return max(0, int(moment.timestamp() * 1000))


class RedisWatchLogStore:
    """The WatchLogStore on Redis Streams: P partition streams, one hash tag each."""

    def __init__(
        self,
        client: BlockingClient,
        *,
        partitions: int = 16,
        retention: timedelta = timedelta(days=7),
        max_sample_age: timedelta = timedelta(hours=24),
        max_clock_skew: timedelta = timedelta(seconds=300),
        replicas_to_ack: int = 0,
        ack_timeout_ms: int = 200,
        group: str = "reporting",
        scan_chunk: int = 500,
    ) -> None:
        self.client = client
        self.partitions = Partitions(partitions)
        self.retention = retention
        self.max_sample_age = max_sample_age
        self.max_clock_skew = max_clock_skew
        self.replicas_to_ack = replicas_to_ack
        self.ack_timeout_ms = ack_timeout_ms
        self.group = group
        self.scan_chunk = scan_chunk
        self._append: Any = client.register_script(scripts.APPEND)

    @classmethod
    def from_settings(
        cls, client: BlockingClient, settings: WatchLogSettings
    ) -> RedisWatchLogStore:
        """The store the service's settings describe."""
        return cls(
            client,
            partitions=settings.partitions,
            retention=timedelta(hours=settings.retention_hours),
            max_sample_age=timedelta(hours=settings.max_sample_age_hours),
            max_clock_skew=timedelta(seconds=settings.max_clock_skew_seconds),
            replicas_to_ack=settings.replicas_to_ack,
            ack_timeout_ms=settings.replica_ack_timeout_ms,
            group=settings.consumer_group,
        )

    def append(self, user_id: str, logs: Sequence[WatchLog], now: datetime) -> list[bool]:
        """Store one user's logs in one script; per log, False if its message id was seen."""
        if not logs:
            return []
        part = self.partitions.of_user(user_id)
        keys = [part.stream, *(part.seen(user_id, log.message_id) for log in logs)]
        now_ms = millis(now)
        args: list[str | int] = [
            now_ms,
            now_ms - int(self.retention.total_seconds() * 1000),
            # A sample may be up to the skew ahead, so it is accepted for age + skew after
            # its ingest: its message id must be remembered that long.
            max(1, int((self.max_sample_age + self.max_clock_skew).total_seconds() * 1000)),
            len(entries.FIELDS),
            *entries.FIELDS,
        ]
        for log in logs:
            args.extend(entries.encode(user_id, log))
        with _outage("storing the batch"):
            if self.replicas_to_ack == 0:
                flags = self._append(keys=keys, args=args)
            else:
                flags = self._append_confirmed(part, keys, args)
        return [bool(flag) for flag in flags]

    def _append_confirmed(self, part: Partition, keys: list[str], args: list[str | int]) -> Any:
        """The script, then WAIT on the same connection (WAIT counts that connection's writes)."""
        try:
            flags, replicas = self._script_then_wait(part, keys, args)
        except _STALE_ROUTE:
            if not isinstance(self.client, RedisCluster):
                raise
            # A failover moved the slot: retry on its new master (the script dedups).
            self.client.nodes_manager.initialize()
            flags, replicas = self._script_then_wait(part, keys, args)
        if int(replicas) < self.replicas_to_ack:
            raise StoreUnavailable(
                f"the batch was stored but not confirmed on {self.replicas_to_ack} replica(s)"
                f" ({replicas} answered in {self.ack_timeout_ms} ms); retry"
            )
        return flags

    def _script_then_wait(self, part: Partition, keys: list[str], args: list[str | int]) -> Any:
        node = self._node_client(part)
        pipe = node.pipeline(transaction=False)
        self._append(keys=keys, args=args, client=pipe)
        pipe.execute_command(  # type: ignore[no-untyped-call]
            "WAIT", self.replicas_to_ack, self.ack_timeout_ms
        )
        return pipe.execute()

    def _node_client(self, part: Partition) -> redis.Redis:
        if isinstance(self.client, RedisCluster):
            node = self.client.get_node_from_key(part.stream)  # type: ignore[no-untyped-call]
            if node is None:
                raise RedisClusterException(f"no node serves slot {part.slot}")
            connection = self.client.get_redis_connection(node)
            if connection is None:  # pragma: no cover - redis-py builds one per node
                raise RedisClusterException(f"no connection to {node.name}")
            return connection
        return self.client

    def scan(self, where: LogFilter, after: ScanCursor | None, limit: int, budget: int) -> ScanPage:
        """Up to ``limit`` matches after the cursor in (entry id, partition) order."""
        parts = [self.partitions.of_user(where.user_id)] if where.user_id else self.partitions.all
        try:
            low = millis(where.start - self.max_clock_skew)
        except OverflowError:  # a start near year 1
            low = 0
        try:
            high = str(millis(where.end + self.max_sample_age))
        except OverflowError:  # an end near year 9999
            high = "+"
        ranges = [scan.StreamRange(p.index, p.stream, low, high) for p in parts]
        # Each stream is read ahead by a chunk of about its share of a page (twice that, as
        # streams fill unevenly; an emptied buffer is refilled): a page of 1000 over 16
        # streams reads about 2000 entries, not 16 000. All chunks stay within the budget.
        share = 2 * limit // len(parts) + 1
        chunk = min(self.scan_chunk, budget // len(parts) + 1, max(16, share))
        reader = scan.MergedScan(self.client, ranges, after, chunk)
        with _outage("reading logs"):
            return reader.page(where, limit, budget)

    def daily_summaries(self, user_id: str, first: date, last: date) -> list[DailySummary]:
        """The consumer group's counters of each day in [first, last] that has any."""
        part = self.partitions.of_user(user_id)
        days = [first + timedelta(days=n) for n in range((last - first).days + 1)]
        pipe = self.client.pipeline(transaction=False)
        for day in days:
            pipe.hgetall(part.day(user_id, day))
        with _outage("reading daily summaries"):
            hashes = pipe.execute()
        return [summaries.summary(d, h) for d, h in zip(days, hashes, strict=True) if h]

    def status(self) -> list[StreamStatus]:
        """Length, group lag, pending and dead letters of every partition stream."""
        with _outage("reading the pipeline status"):
            pipe = self.client.pipeline(transaction=False)
            for part in self.partitions.all:
                pipe.xlen(part.stream)
                pipe.xinfo_groups(part.stream)
                pipe.xlen(part.dead_letters)
            replies = pipe.execute(raise_on_error=False)
            return [
                self._stream_status(part, *replies[3 * i : 3 * i + 3])
                for i, part in enumerate(self.partitions.all)
            ]

    def _stream_status(self, part: Partition, length: Any, groups: Any, dead: Any) -> StreamStatus:
        for reply in (length, dead):
            if isinstance(reply, Exception):
                raise reply
        known = [] if isinstance(groups, Exception) else groups
        mine = [g for g in known if g["name"] == self.group]
        if not mine:  # no group yet (or no stream): everything is still to be read
            return StreamStatus(part.stream, int(length), int(length), 0, int(dead))
        group = mine[0]
        lag = group.get("lag")
        if lag is None:  # Redis < 7, or a lag Redis cannot compute: count what is unread
            unread: Any = self.client.xrange(
                part.stream, f"({group['last-delivered-id']}", "+", count=LAG_COUNT_CAP
            )
            lag = len(unread)
        return StreamStatus(part.stream, int(length), int(lag), int(group["pending"]), int(dead))
