"""Integration fixtures: an in-process platform over real SQLite files."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.helpers import KeyFiles, ServiceCerts
from tests.integration.live_cluster import Cluster, running_cluster
from tests.integration.platform import Platform, sqlite_platform


@pytest.fixture
async def platform(
    tmp_path: Path, jwt_keys: KeyFiles, service_certs: ServiceCerts, redis_server: str
) -> AsyncIterator[Platform]:
    """User, activity and gateway, one instance each, on fresh SQLite databases."""
    async with sqlite_platform(
        tmp_path,
        jwt_keys,
        redis_server,
        certs=service_certs,
    ) as running:
        yield running


@pytest.fixture
async def cluster(
    tmp_path: Path, jwt_keys: KeyFiles, service_certs: ServiceCerts, redis_server: str
) -> AsyncIterator[Cluster]:
    """Two gateway instances over one user and one activity service and the same Redis."""
    async for running in running_cluster(tmp_path, jwt_keys, service_certs, redis_server):
        yield running
