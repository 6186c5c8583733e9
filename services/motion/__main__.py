"""Composition root of the motion service: ``python -m services.motion``."""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor

from fitness.motion.v1 import motion_service_pb2, motion_service_pb2_grpc

from services.common.cli import serve_process
from services.common.grpc_runtime import Dispatcher, GrpcServer, time_left, wait_for_signal
from services.common.redis import blocking_client
from services.motion.config import MotionSettings
from services.motion.grpc_server import STATUSES, MotionServicer
from services.motion.metrics import MotionMetrics
from services.motion.redis_store import RedisMotionStore
from services.motion.service import Limits, MotionDeps

log = logging.getLogger(__name__)
SERVICE_NAME = motion_service_pb2.DESCRIPTOR.services_by_name["MotionService"].full_name
HOUR_MS = 3_600_000


def limits(settings: MotionSettings) -> Limits:
    """What the service accepts, from the settings."""
    return Limits(
        max_devices=settings.max_devices_per_user,
        max_readings=settings.max_readings,
        max_reading_age_ms=int(settings.max_reading_age_hours * HOUR_MS),
        max_clock_skew_ms=int(settings.max_clock_skew_seconds * 1000),
    )


class MotionProcess:
    """The gRPC server over its Redis, started and stopped together."""

    def __init__(self, settings: MotionSettings, metrics: MotionMetrics) -> None:
        # One connection per worker thread, and one to spare.
        self.redis = blocking_client(
            settings.redis_url, settings.redis_timeout, settings.worker_threads + 1
        )
        store = RedisMotionStore.from_settings(self.redis, settings)
        self.server = GrpcServer(
            settings.host,
            settings.port,
            [SERVICE_NAME],
            settings.max_concurrent_rpcs,
            tls=settings.tls(),
        )
        executor = ThreadPoolExecutor(settings.worker_threads, thread_name_prefix="motion")
        servicer = MotionServicer(
            MotionDeps(store=store, limits=limits(settings), time_left=time_left),
            Dispatcher(executor, STATUSES),
            metrics,
        )
        motion_service_pb2_grpc.add_MotionServiceServicer_to_server(  # type: ignore[no-untyped-call]
            servicer, self.server.server
        )

    @property
    def bound_address(self) -> str:
        """host:port the server listens on."""
        return self.server.bound_address

    async def start(self) -> None:
        """Take calls."""
        await self.server.start()

    async def stop(self, grace: float = 5.0) -> None:
        """Stop serving (NOT_SERVING first) and close Redis."""
        await self.server.stop(grace)
        self.redis.close()


async def serve(settings: MotionSettings) -> None:
    """Build everything inside the event loop (grpc.aio binds to it) and serve."""
    process = MotionProcess(settings, MotionMetrics())
    await process.start()
    log.info("serving", extra={"address": process.bound_address})
    await wait_for_signal()
    await process.stop()


def main() -> None:
    """Serve with JSON logs and, if configured, a metrics port."""
    settings = MotionSettings()
    serve_process("motion-service", settings, lambda: serve(settings))


if __name__ == "__main__":
    main()
