"""Fault injection for crash tests: freeze the coordinator at one step boundary."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

from saga_coordinator.engine import Probe, no_probe

log = logging.getLogger(__name__)


def freezing_probe(boundary: str, marker: Path | None) -> Probe:
    """A probe that, on reaching ``boundary``, writes it to ``marker`` and never returns.

    A test waits for the marker, then SIGKILLs the process: the crash lands exactly on the
    boundary. An empty boundary observes nothing.
    """
    if not boundary:
        return no_probe

    async def probe(reached: str) -> None:
        if reached != boundary:
            return
        log.warning("frozen at step boundary", extra={"boundary": reached})
        if marker:
            await asyncio.to_thread(marker.write_text, reached)
        await asyncio.Event().wait()

    return probe
