"""Fixtures: signing keys, the service CA, real SQLite files and a real PostgreSQL server."""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

from deploy import embedded_postgres, embedded_redis, redis_cluster
from deploy.certs import ensure_certs
from deploy.local import free_port
from services.user.tokens import generate_keypair
from tests.helpers import KeyFiles, ServiceCerts

# How fast examples are drawn depends on the machine (CI shares two cores with servers),
# not on the code under test; filtering and other health checks still apply.
settings.register_profile("shared-machine", suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("shared-machine")


@pytest.fixture(scope="session")
def jwt_keys(tmp_path_factory: pytest.TempPathFactory) -> KeyFiles:
    """A fresh Ed25519 key pair written to PEM files."""
    folder = tmp_path_factory.mktemp("keys")
    private, public = generate_keypair()
    (folder / "private.pem").write_bytes(private)
    (folder / "public.pem").write_bytes(public)
    return KeyFiles(folder / "private.pem", folder / "public.pem")


@pytest.fixture(scope="session")
def service_certs(tmp_path_factory: pytest.TempPathFactory) -> ServiceCerts:
    """A private CA and every component's mTLS certificate, made as `make run` makes them."""
    folder = tmp_path_factory.mktemp("certs")
    ensure_certs(folder)
    return ServiceCerts(folder)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[str]:
    """URL of a PostgreSQL server: TEST_POSTGRES_URL, or an embedded one on a free port."""
    configured = os.environ.get("TEST_POSTGRES_URL")
    if configured:
        yield configured
        return
    # Not under pytest's own temp folder: each new pytest session on the machine resets
    # that to 0700, and the server's unprivileged user then loses its way to its files.
    root = Path(tempfile.mkdtemp(prefix="pytest-postgres-"))
    root.chmod(0o755)
    server = embedded_postgres.start(root / "data", free_port())
    yield server.url
    server.stop()
    shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def postgres_url(postgres_server: str) -> str:
    """A new, empty database for one test."""
    return embedded_postgres.create_database(postgres_server, f"test_{uuid.uuid4().hex[:12]}")


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    """A new SQLite database file for one test."""
    return f"sqlite:///{tmp_path / 'test.db'}"


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest) -> str:
    """Each SQL test runs once on SQLite and once on PostgreSQL."""
    name = "sqlite_url" if request.param == "sqlite" else "postgres_url"
    return str(request.getfixturevalue(name))


@pytest.fixture(scope="session")
def redis_server(one_redis_server: str) -> str:
    """URL of the Redis most tests share (modules may override it, e.g. with both topologies)."""
    return one_redis_server


@pytest.fixture(scope="session")
def one_redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """URL of a Redis server: TEST_REDIS_URL, or an embedded one on a free port."""
    configured = os.environ.get("TEST_REDIS_URL")
    if configured:
        yield configured
        return
    server = embedded_redis.start(tmp_path_factory.mktemp("redis"), free_port())
    yield server.url
    server.stop()


@pytest.fixture(scope="session")
def redis_cluster_server(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[redis_cluster.RedisCluster]:
    """A Redis Cluster of 3 masters + 3 replicas (Debian's redis-server 7) on free ports.

    Tests that kill a node restart it and wait until the cluster is healthy again.
    """
    ports = [(free_port(), free_port()) for _ in range(6)]
    server = redis_cluster.start(tmp_path_factory.mktemp("redis-cluster"), ports)
    yield server
    server.stop()
