"""Integration fixtures: an in-process platform over real SQLite files."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.helpers import KeyFiles, ServiceCerts
from tests.integration.platform import Platform, running_platform


@pytest.fixture
async def platform(
    tmp_path: Path, jwt_keys: KeyFiles, service_certs: ServiceCerts, redis_server: str
) -> AsyncIterator[Platform]:
    """User, activity and gateway, one instance each, on fresh SQLite databases."""
    async with running_platform(
        f"sqlite:///{tmp_path / 'user.db'}",
        f"sqlite:///{tmp_path / 'activity.db'}",
        f"sqlite:///{tmp_path / 'saga.db'}",
        jwt_keys,
        redis_server,
        certs=service_certs,
    ) as running:
        yield running
