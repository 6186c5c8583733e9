"""GET /admin/etl-runs against a real PostgreSQL warehouse that real ETL runs loaded."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import date
from pathlib import Path
from typing import Any

import psycopg
import pytest

from deploy.local import free_port
from etl.domain import ReconciliationFailed
from gateway.routes import etl_runs
from gateway.routes.etl_runs import libpq_url
from tests.helpers import KeyFiles, ServiceCerts, assert_error, register_admin, register_and_login
from tests.integration.etl_world import DroppingActivitySource, EtlWorld, at
from tests.integration.platform import Platform, sqlite_platform

D1, D2 = date(2026, 3, 2), date(2026, 3, 3)


@pytest.fixture
def world(tmp_path: Path, postgres_url: str) -> EtlWorld:
    """Source stores of their own and a migrated warehouse: one good night, one row in
    quarantine, then a backfill that does not reconcile."""
    made = EtlWorld(
        f"sqlite:///{tmp_path / 'etl-user.db'}",
        f"sqlite:///{tmp_path / 'etl-activity.db'}",
        postgres_url,
    )
    ann = made.register("ann", 60.0, at(D1, 8))
    bob = made.register("bob", 80.0, at(D1, 9))
    made.users.update_profile(bob, {"display_name": "Bob\x00"})
    made.workout(ann, at(D1, 10), kcal=200.0)
    made.nightly(at(D2, 2))
    lost = made.workout(ann, at(D1, 20))
    made.now = at(D2, 9)
    with pytest.raises(ReconciliationFailed):
        made.load(D1, activity=DroppingActivitySource(made.deps.activity, drop=lost))
    return made


@asynccontextmanager
async def gateway_on(
    tmp_path: Path, keys: KeyFiles, certs: ServiceCerts, redis: str, **options: Any
) -> AsyncIterator[tuple[Platform, dict[str, str]]]:
    """A platform whose gateway has these settings, and an admin's Authorization header."""
    async with sqlite_platform(tmp_path, keys, redis, certs=certs, **options) as platform:
        _, admin = await register_admin(platform.client, f"sqlite:///{tmp_path / 'user.db'}", "ops")
        yield platform, admin


async def test_an_admin_sees_the_newest_run_first_with_its_reconciliation_and_the_quarantine(
    world: EtlWorld,
    postgres_url: str,
    tmp_path: Path,
    jwt_keys: KeyFiles,
    service_certs: ServiceCerts,
    redis_server: str,
) -> None:
    async with gateway_on(
        tmp_path, jwt_keys, service_certs, redis_server, warehouse_url=postgres_url
    ) as (platform, admin):
        answer = await platform.client.get("/admin/etl-runs", headers=admin)

    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert (body["quarantined"], body["quarantined_capped"]) == (1, False)
    failed, night = body["runs"]
    assert (failed["status"], failed["trigger"], failed["reconciliation"]) == (
        "failed",
        "manual",
        "failed",
    )
    assert failed["error"].startswith("reconciliation failed on 1 day(s): 2026-03-02 fact_workout")
    assert (night["status"], night["trigger"], night["reconciliation"]) == (
        "succeeded",
        "manual",
        "passed",
    )
    assert night["error"] is None
    assert night["rows_read"]["workouts"] == 1
    assert night["rows_quarantined"] == {"users": 1, "goals": 0, "workouts": 0}
    assert night["interval_end"] == "2026-03-03T00:00:00.000Z"
    assert night["started_at"] == "2026-03-03T02:00:00.000Z"
    assert night["finished_at"] == "2026-03-03T02:00:00.000Z"
    assert night["duration_seconds"] >= 0
    assert failed["run_id"] != night["run_id"]


async def test_page_size_bounds_the_runs_returned(
    world: EtlWorld,
    postgres_url: str,
    tmp_path: Path,
    jwt_keys: KeyFiles,
    service_certs: ServiceCerts,
    redis_server: str,
) -> None:
    async with gateway_on(
        tmp_path, jwt_keys, service_certs, redis_server, warehouse_url=postgres_url
    ) as (platform, admin):
        one = await platform.client.get("/admin/etl-runs?page_size=1", headers=admin)
        refused = [
            await platform.client.get(f"/admin/etl-runs?page_size={size}", headers=admin)
            for size in ("0", "201", "many")
        ]

    assert [run["status"] for run in one.json()["runs"]] == ["failed"]
    for answer in refused:
        assert assert_error(answer, 422)["status"] == "INVALID_ARGUMENT"


async def test_the_runs_are_for_admins_only(platform: Platform) -> None:
    _, user = await register_and_login(platform.client, "curious")

    anonymous = await platform.client.get("/admin/etl-runs")
    forbidden = await platform.client.get("/admin/etl-runs", headers=user)

    assert assert_error(anonymous, 401)["status"] == "UNAUTHENTICATED"
    assert assert_error(forbidden, 403)["message"] == "this route needs the admin role"


async def test_a_gateway_without_a_warehouse_says_it_is_not_configured(
    platform: Platform, tmp_path: Path
) -> None:
    _, admin = await register_admin(platform.client, f"sqlite:///{tmp_path / 'user.db'}", "ops")

    answer = await platform.client.get("/admin/etl-runs", headers=admin)

    error = assert_error(answer, 503)
    assert (error["status"], error["message"]) == ("UNAVAILABLE", "the warehouse is not configured")


async def test_a_warehouse_nothing_listens_on_is_unavailable_with_a_retry_after(
    tmp_path: Path, jwt_keys: KeyFiles, service_certs: ServiceCerts, redis_server: str
) -> None:
    url = f"postgresql://postgres@127.0.0.1:{free_port()}/postgres"
    async with gateway_on(tmp_path, jwt_keys, service_certs, redis_server, warehouse_url=url) as (
        platform,
        admin,
    ):
        answer = await platform.client.get("/admin/etl-runs", headers=admin)

    error = assert_error(answer, 503)
    assert (error["status"], error["message"]) == ("UNAVAILABLE", "the warehouse is unavailable")
    assert answer.headers["retry-after"] == "5"


async def test_a_warehouse_that_never_answers_is_unavailable_by_the_deadline(
    tmp_path: Path,
    jwt_keys: KeyFiles,
    service_certs: ServiceCerts,
    redis_server: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # With libpq's own connect timeout far away, only the request's 0.5 s deadline can
    # end the wait in time; the bound below leaves a loaded machine plenty of room.
    monkeypatch.setattr(etl_runs, "CONNECT_TIMEOUT", 60)
    held: list[asyncio.StreamWriter] = []

    async def accept_and_say_nothing(_: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        held.append(writer)

    silent = await asyncio.start_server(accept_and_say_nothing, "127.0.0.1", 0)
    port = silent.sockets[0].getsockname()[1]
    url = f"postgresql://postgres@127.0.0.1:{port}/postgres"
    async with (
        silent,
        gateway_on(
            tmp_path, jwt_keys, service_certs, redis_server, warehouse_url=url, call_timeout=0.5
        ) as (platform, admin),
    ):
        began = time.monotonic()
        answer = await platform.client.get("/admin/etl-runs", headers=admin)
        took = time.monotonic() - began
        for writer in held:
            writer.close()

    assert assert_error(answer, 503)["message"] == "the warehouse is unavailable"
    assert took < 20
    assert held, "the gateway never reached the silent warehouse"


async def test_a_warehouse_the_etl_has_not_migrated_says_so(
    postgres_url: str,
    tmp_path: Path,
    jwt_keys: KeyFiles,
    service_certs: ServiceCerts,
    redis_server: str,
) -> None:
    async with gateway_on(
        tmp_path, jwt_keys, service_certs, redis_server, warehouse_url=postgres_url
    ) as (platform, admin):
        answer = await platform.client.get("/admin/etl-runs", headers=admin)

    error = assert_error(answer, 503)
    assert error["message"] == "the warehouse has no ETL manifest yet: the ETL has not migrated it"


def warehouse_sql(postgres_url: str, *statements: str) -> None:
    """Run ``statements`` on the test warehouse as its owner, committed."""
    with psycopg.connect(libpq_url(postgres_url), autocommit=True) as connection:
        for statement in statements:
            connection.execute(statement)


async def test_a_quarantine_past_the_cap_is_counted_to_the_cap_and_said_to_be_larger(
    world: EtlWorld,
    postgres_url: str,
    tmp_path: Path,
    jwt_keys: KeyFiles,
    service_certs: ServiceCerts,
    redis_server: str,
) -> None:
    warehouse_sql(
        postgres_url,
        "INSERT INTO etl_quarantine (source, record_key, user_id, reason, record, run_id,"
        " first_seen_at, last_seen_at) SELECT 'goals', 'k' || n, 'u', 'r', 'x',"
        " gen_random_uuid(), now(), now() FROM generate_series(1, 100001) n",
    )
    async with gateway_on(
        tmp_path, jwt_keys, service_certs, redis_server, warehouse_url=postgres_url
    ) as (platform, admin):
        answer = await platform.client.get("/admin/etl-runs", headers=admin)

    assert answer.status_code == 200, answer.text
    assert (answer.json()["quarantined"], answer.json()["quarantined_capped"]) == (100_000, True)


async def test_a_manifest_row_the_gateway_cannot_render_is_unavailable_not_a_server_error(
    world: EtlWorld,
    postgres_url: str,
    tmp_path: Path,
    jwt_keys: KeyFiles,
    service_certs: ServiceCerts,
    redis_server: str,
) -> None:
    warehouse_sql(postgres_url, """UPDATE etl_runs SET rows_read = '{"users": "many"}'""")
    async with gateway_on(
        tmp_path, jwt_keys, service_certs, redis_server, warehouse_url=postgres_url
    ) as (platform, admin):
        answer = await platform.client.get("/admin/etl-runs", headers=admin)

    error = assert_error(answer, 503)
    assert error["message"] == "the warehouse's ETL manifest has a row this gateway cannot read"


async def test_a_manifest_query_that_outlasts_its_statement_timeout_says_it_was_too_slow(
    world: EtlWorld,
    postgres_url: str,
    tmp_path: Path,
    jwt_keys: KeyFiles,
    service_certs: ServiceCerts,
    redis_server: str,
) -> None:
    # A writer holding the table makes the count wait until the server cancels it.
    with psycopg.connect(libpq_url(postgres_url)) as locker:
        locker.execute("LOCK TABLE etl_quarantine IN ACCESS EXCLUSIVE MODE")
        async with gateway_on(
            tmp_path, jwt_keys, service_certs, redis_server, warehouse_url=postgres_url
        ) as (platform, admin):
            answer = await platform.client.get("/admin/etl-runs", headers=admin)
        locker.rollback()

    error = assert_error(answer, 503)
    assert error["message"] == "the warehouse took too long to read the ETL manifest"
    assert answer.headers["retry-after"] == "5"


async def test_a_warehouse_role_without_the_grant_says_so_and_offers_no_retry(
    world: EtlWorld,
    postgres_url: str,
    tmp_path: Path,
    jwt_keys: KeyFiles,
    service_certs: ServiceCerts,
    redis_server: str,
) -> None:
    role = f"reader_{uuid.uuid4().hex[:12]}"
    warehouse_sql(
        postgres_url,
        f"CREATE ROLE {role} LOGIN",
        f"GRANT SELECT ON etl_runs TO {role}",
    )
    scheme, _, rest = libpq_url(postgres_url).partition("://")
    url = f"{scheme}://{role}@{rest.partition('@')[2]}"
    try:
        async with gateway_on(
            tmp_path, jwt_keys, service_certs, redis_server, warehouse_url=url
        ) as (platform, admin):
            answer = await platform.client.get("/admin/etl-runs", headers=admin)
    finally:
        warehouse_sql(postgres_url, f"DROP OWNED BY {role}", f"DROP ROLE {role}")

    error = assert_error(answer, 503)
    assert error["message"] == (
        "the gateway may not read the ETL manifest: its warehouse role lacks a grant"
    )
    assert "retry-after" not in answer.headers
