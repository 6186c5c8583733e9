"""The watch-log store on Redis Streams, one node or a cluster (``RedisWatchLogStore``)."""

from services.watch_logs.redis_store.store import RedisWatchLogStore

__all__ = ["RedisWatchLogStore"]
