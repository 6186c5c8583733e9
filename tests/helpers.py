"""Building blocks shared by the test suites."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
import httpx
import redis
from prometheus_client import CollectorRegistry
from pydantic_settings import BaseSettings
from redis.cluster import ClusterNode

from deploy.certs import component_files
from etl.config import EtlSettings
from gateway.config import GatewaySettings
from saga_coordinator.__main__ import SagaProcess
from saga_coordinator.config import SagaSettings
from services.activity.__main__ import ActivityProcess
from services.activity.config import ActivitySettings
from services.common.grpc_runtime import GrpcServer
from services.common.redis import cluster_seeds, is_cluster
from services.common.tls import TlsFiles, secure_aio_channel
from services.common.trust import ACTIVITY, HEALTH, MOTION, SAGA, USER, WATCH_LOGS
from services.health_metrics.__main__ import HealthProcess
from services.health_metrics.config import HealthSettings, IngesterSettings
from services.health_metrics.metrics import HealthMetrics
from services.motion.__main__ import MotionProcess
from services.motion.config import MotionSettings, ProcessorSettings, SinkSettings
from services.motion.metrics import MotionMetrics
from services.user import roles_cli
from services.user.__main__ import MIGRATIONS as USER_MIGRATIONS
from services.user.__main__ import build_deps as build_user_deps
from services.user.__main__ import build_server as build_user_server
from services.user.config import UserSettings
from services.watch_logs.__main__ import WatchLogProcess
from services.watch_logs.config import WatchLogSettings
from services.watch_logs.metrics import WatchLogMetrics


@dataclass
class FakeClock:
    """A monotonic clock that moves only when told to."""

    now: float = 1_000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        """Move time forward."""
        self.now += seconds


@dataclass(frozen=True)
class KeyFiles:
    """PEM files of a JWT signing key pair."""

    private: Path
    public: Path


@dataclass(frozen=True)
class ServiceCerts:
    """A test CA's folder (deploy.certs layout): every component's mutual-TLS files."""

    folder: Path

    def of(self, component: str) -> TlsFiles:
        """The CA, certificate and key of ``component``."""
        return component_files(self.folder, component)


def channel_as(certs: ServiceCerts, caller: str, server: str, target: str) -> grpc.aio.Channel:
    """An mTLS channel to the component ``server`` at ``target``, presenting ``caller``'s cert."""
    return secure_aio_channel(target, certs.of(caller), server)


async def start_user_server(
    database_url: str, keys: KeyFiles, port: int = 0, *, certs: ServiceCerts, redis_url: str = ""
) -> GrpcServer:
    """A user service on loopback, migrated and serving over mTLS; it invalidates the
    shared cache in ``redis_url`` if given."""
    settings = UserSettings(
        port=port,
        database_url=database_url,
        jwt_private_key_file=keys.private,
        hash_concurrency=2,
        # A loaded CI machine can hold a sequential registration's hash past the 1 s
        # default (2.5 s stays under the gateway's 3 s deadline); the refusal is tested
        # on Passwords directly.
        hash_queue_timeout=2.5,
        redis_url=redis_url,
        tls_ca_file=certs.of(USER).ca,
        tls_cert_file=certs.of(USER).cert,
        tls_key_file=certs.of(USER).key,
    )
    server = build_user_server(settings, build_user_deps(settings))
    await server.start()
    return server


async def start_activity_server(
    database_url: str,
    user_addresses: list[str],
    port: int = 0,
    *,
    certs: ServiceCerts,
    redis_url: str = "",
    **options: Any,
) -> ActivityProcess:
    """An activity service (and its progress relay) on loopback using the SQL store,
    migrated and serving over mTLS; the relay publishes alerts to ``redis_url`` if given."""
    settings = ActivitySettings(
        port=port,
        database_url=database_url,
        user_service_addresses=user_addresses,
        tls_ca_file=certs.of(ACTIVITY).ca,
        tls_cert_file=certs.of(ACTIVITY).cert,
        tls_key_file=certs.of(ACTIVITY).key,
        redis_url=redis_url,
        # Tests wait for a returning user service: back off briefly.
        **{"relay_max_backoff": 0.5, **options},
    )
    process = ActivityProcess(settings)
    await process.start()
    return process


async def start_watch_log_server(
    redis_url: str, port: int = 0, *, certs: ServiceCerts, **options: Any
) -> WatchLogProcess:
    """A watch-log service (and its reporting consumer) on loopback over mTLS, on
    ``redis_url``, with metrics in a registry of its own (several run in one process)."""

    settings = WatchLogSettings(
        port=port,
        redis_url=redis_url,
        tls_ca_file=certs.of(WATCH_LOGS).ca,
        tls_cert_file=certs.of(WATCH_LOGS).cert,
        tls_key_file=certs.of(WATCH_LOGS).key,
        # Tests see a crashed consumer's entries taken over without a long wait.
        # In a thread: a child process per test server would cost a second of start each.
        **{
            "consumer_mode": "thread",
            "consumer_idle_seconds": 0.05,
            "consumer_claim_idle_seconds": 1.0,
            **options,
        },
    )
    process = WatchLogProcess(settings, WatchLogMetrics(CollectorRegistry()))
    await process.start()
    return process


async def start_motion_server(
    redis_url: str, port: int = 0, *, certs: ServiceCerts, **options: Any
) -> MotionProcess:
    """A motion service on loopback over mTLS, on ``redis_url``, with metrics in a registry
    of its own (several run in one process)."""
    settings = MotionSettings(
        port=port,
        redis_url=redis_url,
        tls_ca_file=certs.of(MOTION).ca,
        tls_cert_file=certs.of(MOTION).cert,
        tls_key_file=certs.of(MOTION).key,
        **options,
    )
    process = MotionProcess(settings, MotionMetrics(CollectorRegistry()))
    await process.start()
    return process


async def start_health_server(
    database_url: str, port: int = 0, *, certs: ServiceCerts, **options: Any
) -> HealthProcess:
    """A health-metrics service (and its refresh loop) on loopback over mTLS, on the
    PostgreSQL ``database_url``, with metrics in a registry of its own."""
    settings = HealthSettings(
        port=port,
        database_url=database_url,
        tls_ca_file=certs.of(HEALTH).ca,
        tls_cert_file=certs.of(HEALTH).cert,
        tls_key_file=certs.of(HEALTH).key,
        # Tests see their writes in the rollups without waiting long.
        **{"refresh_interval_seconds": 0.05, "worker_threads": 4, **options},
    )
    process = HealthProcess(settings, HealthMetrics(CollectorRegistry()))
    await process.start()
    return process


async def start_saga_coordinator(
    database_url: str,
    user_addresses: list[str],
    activity_addresses: list[str],
    *,
    certs: ServiceCerts,
    **options: Any,
) -> SagaProcess:
    """A saga coordinator on loopback over the given participants, migrated, serving mTLS."""
    settings = SagaSettings(
        port=0,
        database_url=database_url,
        user_service_addresses=user_addresses,
        activity_service_addresses=activity_addresses,
        tls_ca_file=certs.of(SAGA).ca,
        tls_cert_file=certs.of(SAGA).cert,
        tls_key_file=certs.of(SAGA).key,
        **options,
    )
    process = SagaProcess(settings)
    await process.start()
    return process


def address(server: GrpcServer | ActivityProcess) -> str:
    """host:port a server listens on."""
    return f"127.0.0.1:{server.port}"


async def register_and_login(
    client: httpx.AsyncClient, name: str, weight_kg: float | None = None
) -> tuple[str, dict[str, str]]:
    """Create an account and return its id and an Authorization header."""
    body: dict[str, object] = {
        "username": name,
        "email": f"{name}@example.com",
        "password": "s3cret-pass",
    }
    if weight_kg is not None:
        body["weight_kg"] = weight_kg
    registered = await client.post("/users/register", json=body)
    assert registered.status_code == 201, registered.text
    login = await client.post(
        "/users/login", json={"email": body["email"], "password": body["password"]}
    )
    assert login.status_code == 200, login.text
    return login.json()["user_id"], {"Authorization": f"Bearer {login.json()['token']}"}


def grant_role(database_url: str, user_id: str, role: str = "admin") -> None:
    """Grant a role the way an operator does: ``python -m services.user roles grant``."""
    settings = UserSettings(database_url=database_url)
    assert roles_cli.run(settings, USER_MIGRATIONS, ["grant", role, "--user-id", user_id]) == 0


async def register_admin(
    client: httpx.AsyncClient, user_database_url: str, name: str
) -> tuple[str, dict[str, str]]:
    """Create an account, grant it the admin role, and log in again to carry the role."""
    user_id, _ = await register_and_login(client, name)
    grant_role(user_database_url, user_id)
    login = await client.post(
        "/users/login", json={"email": f"{name}@example.com", "password": "s3cret-pass"}
    )
    assert login.status_code == 200, login.text
    return user_id, {"Authorization": f"Bearer {login.json()['token']}"}


def assert_error(response: httpx.Response, status: int) -> dict[str, object]:
    """The response has the given status and the one error shape."""
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["code"] == status
    assert error["status"]
    assert error["message"]
    return dict(error)


def linger_in_time_wait(port: int) -> None:
    """Leave a TIME_WAIT socket on ``port``, as a server that closed its connections does."""
    with socket.socket() as listener:
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", port))
        listener.listen()
        with socket.create_connection(("127.0.0.1", port)) as client:
            accepted, _ = listener.accept()
            accepted.close()  # the side that closes first keeps TIME_WAIT
            client.recv(1)


def rpc_error(code: grpc.StatusCode) -> grpc.aio.AioRpcError:
    """An error as grpc.aio raises it."""
    return grpc.aio.AioRpcError(code, grpc.aio.Metadata(), grpc.aio.Metadata(), details=code.name)


async def failing(code: grpc.StatusCode = grpc.StatusCode.UNAVAILABLE) -> None:
    """A call that fails after yielding to the loop, like a real RPC."""
    await asyncio.sleep(0)
    raise rpc_error(code)


def sync_redis(url: str) -> redis.Redis | redis.RedisCluster:
    """A blocking client for a test's own look at the Redis (one node or a cluster)."""
    if is_cluster(url):
        seeds = cluster_seeds(url)
        nodes = [ClusterNode(host, port) for host, port in seeds.nodes]
        return redis.RedisCluster(
            startup_nodes=nodes,
            username=seeds.username,
            password=seeds.password,
            decode_responses=True,
        )
    return redis.Redis.from_url(url, decode_responses=True)


def flush(url: str) -> None:
    """Empty the Redis (every master of a cluster) so a test starts from nothing."""
    with sync_redis(url) as client:
        if isinstance(client, redis.RedisCluster):
            client.flushall(target_nodes=redis.RedisCluster.PRIMARIES)
        else:
            client.flushdb()


# The settings class of each component, by the module ``python -m`` runs.
COMPONENT_SETTINGS: dict[str, type[BaseSettings]] = {
    "services.user": UserSettings,
    "services.activity": ActivitySettings,
    "services.watch_logs": WatchLogSettings,
    "services.motion": MotionSettings,
    "services.motion.processor": ProcessorSettings,
    "services.motion.sink": SinkSettings,
    "services.health_metrics": HealthSettings,
    "services.health_metrics.ingester": IngesterSettings,
    "saga_coordinator": SagaSettings,
    "gateway": GatewaySettings,
    "etl": EtlSettings,
}


@contextlib.contextmanager
def server_reachable_dir(prefix: str) -> Iterator[Path]:
    """A temporary folder (0711) outside pytest's own, removed afterwards.

    Each new pytest session on the machine resets pytest's temp root to 0700, which cuts an
    embedded PostgreSQL's unprivileged user off from a data directory below it mid-run.
    """
    with tempfile.TemporaryDirectory(prefix=prefix) as folder:
        Path(folder).chmod(0o711)
        yield Path(folder)
