"""Integration fixtures: an in-process platform over real SQLite files."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from deploy.pg_formation import Formation
from tests.helpers import KeyFiles, ServiceCerts
from tests.integration.etl_world import new_warehouse_url
from tests.integration.live_cluster import Cluster, running_cluster
from tests.integration.pg_cluster import running_formation
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
async def health_platform(
    tmp_path: Path,
    jwt_keys: KeyFiles,
    service_certs: ServiceCerts,
    redis_server: str,
    postgres_url: str,
    postgres_server: str,
) -> AsyncIterator[Platform]:
    """``platform`` with the health-metrics service too, on a fresh PostgreSQL database,
    and a migrated warehouse for the ETL-runs route."""
    async with sqlite_platform(
        tmp_path,
        jwt_keys,
        redis_server,
        certs=service_certs,
        health_database_url=postgres_url,
        warehouse_url=new_warehouse_url(postgres_server),
    ) as running:
        yield running


@pytest.fixture(params=["one-redis", "redis-cluster"])
async def cluster(
    request: pytest.FixtureRequest,
    tmp_path: Path,
    jwt_keys: KeyFiles,
    service_certs: ServiceCerts,
) -> AsyncIterator[Cluster]:
    """Two gateway instances over one user and one activity service and the same Redis.

    Every test runs twice: on one Redis (pattern pub/sub) and on a Redis Cluster of 3
    masters + 3 replicas (sharded pub/sub): the two topologies share one code path.
    """
    url = either_redis_url(request)
    async for running in running_cluster(tmp_path, jwt_keys, service_certs, url):
        yield running


@pytest.fixture(params=["one-redis", "redis-cluster"])
def either_redis(request: pytest.FixtureRequest) -> str:
    """One Redis, then the Redis Cluster: a module whose ``redis_server`` returns this runs
    each of its tests on both topologies."""
    return either_redis_url(request)


def either_redis_url(request: pytest.FixtureRequest) -> str:
    """The URL of the topology ``request.param`` names."""
    if request.param == "one-redis":
        return str(request.getfixturevalue("one_redis_server"))
    return str(request.getfixturevalue("redis_cluster_server").url)


@pytest.fixture(scope="module")
def pg_formation() -> Iterator[Formation]:
    """A pg_auto_failover formation (monitor, primary, two synchronous standbys) per module."""
    with running_formation() as formation:
        yield formation
