"""The motion store on Redis, one node or a cluster (``RedisMotionStore``)."""

from services.motion.redis_store.store import RedisMotionStore

__all__ = ["RedisMotionStore"]
