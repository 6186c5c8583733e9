"""Coordinator use cases: start or find a saga, wait for it, resume unfinished ones, inspect."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from saga_coordinator.domain import (
    InvalidRequest,
    SagaConflict,
    SagaNotFound,
    SagaRecord,
    SagaStatus,
    SagaView,
)
from saga_coordinator.engine import Engine
from saga_coordinator.log import SagaLog
from services.common.timeutil import Clock, utc_now

log = logging.getLogger(__name__)
MAX_PAGE_SIZE = 500
# The saga_type of a fence (see Coordinator.fence): no definition, never run.
FENCE_TYPE = "not_accepted"


class Coordinator:
    """Runs each saga in one task of this process; the log lets a restart pick them up."""

    def __init__(self, engine: Engine, saga_log: SagaLog, clock: Clock = utc_now) -> None:
        self.engine = engine
        self.log = saga_log
        self.clock = clock
        self._tasks: dict[str, asyncio.Task[Any]] = {}

    async def start(self, saga_type: str, saga_id: str, data: dict[str, Any]) -> SagaRecord:
        """Begin the saga, or find the one this saga_id started before (same data only)."""
        if not saga_id:
            raise InvalidRequest("request_id is required")
        now = self.clock()
        record = SagaRecord(saga_id, saga_type, SagaStatus.RUNNING, 0, data, now, now)
        stored, created = await self.log.create(record)
        if not created and not _same_request(stored, saga_type, data):
            raise SagaConflict(f"request_id {saga_id} was used for a different request")
        self._ensure_running(stored)
        return stored

    async def fence(self, saga_id: str, user_id: str) -> SagaRecord:
        """Return the saga with this id; if there is none, record that none will ever start.

        The fence takes the id in the log, so a start that arrives later (a call still in
        flight when its caller gave up) is refused: "not accepted" is then certain.
        """
        if not saga_id:
            raise InvalidRequest("saga_id is required")
        now = self.clock()
        fence = SagaRecord(
            saga_id,
            FENCE_TYPE,
            SagaStatus.NOT_ACCEPTED,
            0,
            {"user_id": user_id},
            now,
            now,
            last_error="the request never reached the coordinator; nothing was applied",
        )
        stored, _ = await self.log.create(fence)
        return stored

    async def wait(self, saga_id: str, patience: float) -> SagaRecord:
        """Wait up to ``patience`` seconds for the saga to finish; return it either way."""
        task = self._tasks.get(saga_id)
        if task is not None and patience > 0:
            await asyncio.wait({task}, timeout=patience)
        return await self._get(saga_id)

    async def recover(self) -> int:
        """Resume every unfinished saga not already running here; return how many."""
        resumed = [r for r in await self.log.unfinished() if self._ensure_running(r)]
        if resumed:
            log.info("sagas resumed", extra={"count": len(resumed)})
        return len(resumed)

    async def recover_every(self, interval: float) -> None:
        """Keep resuming sagas whose task died (e.g. the log was briefly unreachable)."""
        while True:
            await asyncio.sleep(interval)
            try:
                await self.recover()
            except Exception:
                log.exception("resuming sagas failed")

    def _ensure_running(self, record: SagaRecord) -> bool:
        if record.status.finished or record.saga_id in self._tasks:
            return False
        task = asyncio.create_task(self._run(record), name=f"saga {record.saga_id}")
        self._tasks[record.saga_id] = task
        task.add_done_callback(lambda _: self._tasks.pop(record.saga_id, None))
        return True

    async def _run(self, record: SagaRecord) -> None:
        try:
            await self.engine.run(record)
        except Exception:
            # Left unfinished in the log; recover_every picks it up again.
            log.exception("saga stopped", extra={"saga_id": record.saga_id})

    async def view(self, saga_id: str) -> SagaView:
        """The saga with its current step and history."""
        record = await self._get(saga_id)
        return SagaView(record, self.current_step(record), await self.log.events(saga_id))

    async def recent(self, status: SagaStatus | None, page_size: int) -> list[SagaView]:
        """The most recently updated sagas, without history."""
        if not 0 <= page_size <= MAX_PAGE_SIZE:
            raise InvalidRequest(f"page_size must be between 1 and {MAX_PAGE_SIZE}")
        records = await self.log.recent(status, page_size or 50)
        return [SagaView(r, self.current_step(r)) for r in records]

    def current_step(self, record: SagaRecord) -> str:
        """The name of the step being applied or undone; '' once finished."""
        if record.status.finished:
            return ""
        return self.engine.definitions[record.saga_type].step_name(record.step_index)

    async def _get(self, saga_id: str) -> SagaRecord:
        record = await self.log.get(saga_id)
        if record is None:
            raise SagaNotFound(f"saga {saga_id} not found")
        return record

    async def stop(self) -> None:
        """Cancel the running sagas; their log lets the next start resume them."""
        tasks = list(self._tasks.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


def _same_request(stored: SagaRecord, saga_type: str, data: dict[str, Any]) -> bool:
    return stored.saga_type == saga_type and all(stored.data.get(k) == v for k, v in data.items())
