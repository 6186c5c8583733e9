"""Composition root of the saga coordinator: ``python -m saga_coordinator [serve|migrate]``."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

from fitness.activity.v1 import activity_service_pb2
from fitness.saga.v1 import saga_service_pb2, saga_service_pb2_grpc
from fitness.user.v1 import user_service_pb2

from saga_coordinator.account_saga import account_sagas
from saga_coordinator.config import SagaSettings
from saga_coordinator.engine import Engine
from saga_coordinator.faults import freezing_probe
from saga_coordinator.goal_saga import goal_sagas
from saga_coordinator.grpc_server import SagaCoordinatorServicer
from saga_coordinator.log import SqlSagaLog
from saga_coordinator.participants import GrpcGoalParticipants
from saga_coordinator.service import Coordinator
from services.common.cli import run_service
from services.common.db import make_engine, migrate
from services.common.grpc_runtime import GrpcServer, wait_for_signal
from services.common.trust import ACTIVITY, USER
from services.common.upstream import UpstreamPool, connector

log = logging.getLogger(__name__)
MIGRATIONS = Path(__file__).parent / "migrations"
SERVICE_NAME = saga_service_pb2.DESCRIPTOR.services_by_name["SagaCoordinatorService"].full_name
USER_SERVICE = user_service_pb2.DESCRIPTOR.services_by_name["UserService"].full_name
ACTIVITY_SERVICE = activity_service_pb2.DESCRIPTOR.services_by_name["ActivityService"].full_name


def build_coordinator(settings: SagaSettings) -> tuple[Coordinator, list[UpstreamPool]]:
    """Wire the log, the participants and the engine (needs a running event loop)."""
    database = make_engine(settings.database_url, pool_size=4)
    if settings.migrate_on_start:
        migrate(database, MIGRATIONS)
    tls = settings.tls()
    pool = settings.pool_settings()
    users = UpstreamPool(
        USER_SERVICE, settings.user_service_addresses, pool, connect=connector(tls, USER)
    )
    activity = UpstreamPool(
        ACTIVITY_SERVICE,
        settings.activity_service_addresses,
        pool,
        connect=connector(tls, ACTIVITY),
    )
    participants = GrpcGoalParticipants(users, activity)
    saga_log = SqlSagaLog(database)
    engine = Engine(
        saga_log,
        {**goal_sagas(participants), **account_sagas(participants)},
        settings.retry_policy(),
        probe=freezing_probe(settings.freeze_at, settings.freeze_marker),
    )
    return Coordinator(engine, saga_log), [users, activity]


class SagaProcess:
    """The coordinator's server, sagas and background resumer, started and stopped together."""

    def __init__(self, settings: SagaSettings) -> None:
        self.settings = settings
        self.coordinator, self.pools = build_coordinator(settings)
        self.server = GrpcServer(settings.host, settings.port, [SERVICE_NAME], tls=settings.tls())
        servicer = SagaCoordinatorServicer(self.coordinator, settings.wait_margin)
        saga_service_pb2_grpc.add_SagaCoordinatorServiceServicer_to_server(
            servicer, self.server.server
        )
        self._resumer: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Resume unfinished sagas from the log, then take calls."""
        await self.coordinator.recover()
        interval = self.settings.resume_interval
        self._resumer = asyncio.create_task(self.coordinator.recover_every(interval))
        await self.server.start()

    async def stop(self, grace: float = 5.0) -> None:
        """Stop serving and running sagas (the log keeps them) and close the pools."""
        if self._resumer:
            self._resumer.cancel()
        await self.server.stop(grace)
        await self.coordinator.stop()
        for pool in self.pools:
            await pool.close()


async def serve(settings: SagaSettings) -> None:
    """Resume unfinished sagas, then serve until signalled."""
    process = SagaProcess(settings)
    await process.start()
    log.info("serving", extra={"address": process.server.bound_address})
    await wait_for_signal()
    await process.stop()


def main() -> None:
    """Run ``serve`` (the default) or ``migrate``."""
    settings = SagaSettings()
    run_service(
        "saga-coordinator",
        settings,
        MIGRATIONS,
        lambda: serve(settings),
        prog="python -m saga_coordinator",
    )


if __name__ == "__main__":
    main()
