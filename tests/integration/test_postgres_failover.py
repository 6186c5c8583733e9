"""The user store on a pg_auto_failover formation: SIGKILL the primary under a write load.

Two user-service instances share the formation's multi-host URL; four clients register
accounts through the gateway's pool (its deadlines, failover and breakers) and retry a
failed registration with the same request_id until it is acknowledged, as a client does.
Halfway, the primary's whole process tree (keeper, postmaster, backends) is SIGKILLed.
The figures are printed and written to tests/integration/pg_cluster.FIGURES_FILE.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import grpc
import psycopg
import pytest
from fitness.user.v1 import user_service_pb2 as upb

from deploy import pg_autoctl
from deploy.pg_formation import Formation, wait_for
from deploy.process_tree import parent_pid
from services.common.trust import GATEWAY, USER
from services.common.upstream import PoolSettings, UpstreamError, UpstreamPool, UserRpc, connector
from services.user.__main__ import SERVICE_NAME
from tests.helpers import KeyFiles, ServiceCerts, address, start_user_server
from tests.integration.pg_cluster import record_figures, walsender_to

WRITERS = 4
ACKS_BEFORE_KILL = 20
ACKS_AFTER_RECOVERY = 20
LAG_ROWS = 50  # committed while one standby lags
# Bounds of the waits (not asserts on durations): a run that does not get there fails.
RECOVERY_DEADLINE = 60.0
# The gateway's defaults (gateway/config.py): what a REST client's call goes through.
GATEWAY_POOL = PoolSettings(call_timeout=3.0, fail_max=5, reset_timeout=10.0)
# A client's pause before it repeats a failed call (its retry pacing, not a wait for state).
CLIENT_RETRY_PAUSE = 0.1
pytestmark = pytest.mark.timeout(300)  # the formation's start, a failover and a rejoin


@dataclass
class Ledger:
    """What the clients saw: acknowledged registrations and failed calls, with times."""

    acknowledged: dict[str, str] = field(default_factory=dict)  # request_id -> user_id
    acknowledged_before_kill: dict[str, str] = field(default_factory=dict)
    # A retry told "this email is taken": its first attempt had landed and was not found
    # by its request_id (a double application, or a guess). Must stay empty.
    refused: list[str] = field(default_factory=list)
    failed_calls: int = 0
    failed_after_kill: int = 0
    failure_codes: set[str] = field(default_factory=set)
    killed_at: float | None = None
    recovered_at: float | None = None
    acks_after_recovery: int = 0

    def acknowledge(self, request_id: str, user_id: str, sent_at: float) -> None:
        """Record an acknowledged registration whose call was sent at ``sent_at``."""
        self.acknowledged[request_id] = user_id
        # A call sent before the kill may still be answered after it: not a recovery.
        if self.killed_at is not None and sent_at > self.killed_at:
            if self.recovered_at is None:
                self.recovered_at = time.monotonic()
            self.acks_after_recovery += 1

    def kill_now(self) -> float:
        """Mark the moment of the kill; returns it."""
        self.acknowledged_before_kill = dict(self.acknowledged)
        self.killed_at = time.monotonic()
        return self.killed_at

    def fail(self, code: grpc.StatusCode) -> None:
        """Record a failed call and its status."""
        self.failure_codes.add(code.name)
        self.failed_calls += 1
        if self.killed_at is not None:
            self.failed_after_kill += 1


@dataclass
class FailoverRun:
    """The outcome of one kill under load."""

    ledger: Ledger
    old_primary: str
    new_primary: str
    killed_pids: list[int]
    promoted_after: float
    rejoined_after: float = 0.0


async def _writer(pool: UpstreamPool, ledger: Ledger, writer: int, stop: asyncio.Event) -> None:
    n = 0
    while not stop.is_set():
        n += 1
        request_id = f"w{writer}-{n}"
        request = upb.RegisterUserRequest(
            request_id=request_id,
            username=f"u{writer}x{n}",
            email=f"{request_id}@example.com",
            password="long-password",
        )
        while not stop.is_set():  # the same request (same request_id) until acknowledged
            sent_at = time.monotonic()
            try:
                reply = await pool.call(UserRpc.RegisterUser, request)
            except UpstreamError as error:
                if error.code == grpc.StatusCode.ALREADY_EXISTS:
                    ledger.refused.append(request_id)
                    break
                ledger.fail(error.code)
                await asyncio.sleep(CLIENT_RETRY_PAUSE)
                continue
            ledger.acknowledge(request_id, reply.user.user_id, sent_at)
            break


async def _until(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + RECOVERY_DEADLINE
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what} not reached within {RECOVERY_DEADLINE:.0f} s")
        await asyncio.sleep(0.05)


async def _kill_under_load(
    formation: Formation, keys: KeyFiles, certs: ServiceCerts
) -> FailoverRun:
    url = formation.url("users")
    servers = [await start_user_server(url, keys, certs=certs) for _ in range(2)]
    pool = UpstreamPool(
        SERVICE_NAME,
        [address(s) for s in servers],
        GATEWAY_POOL,
        connect=connector(certs.of(GATEWAY), USER),
    )
    ledger, stop = Ledger(), asyncio.Event()
    writers = [asyncio.create_task(_writer(pool, ledger, w, stop)) for w in range(WRITERS)]
    try:
        await _until(lambda: len(ledger.acknowledged) >= ACKS_BEFORE_KILL, "writes before kill")
        old_primary = formation.primary()
        killed_at = ledger.kill_now()
        killed_pids = formation.kill(old_primary)
        new_primary = await asyncio.to_thread(formation.wait_primary, old_primary)
        promoted_after = time.monotonic() - killed_at
        await _until(lambda: ledger.acks_after_recovery >= ACKS_AFTER_RECOVERY, "writes again")
    finally:
        stop.set()
        await asyncio.gather(*writers)
        await pool.close()
        for server in servers:
            await server.stop(0)
    return FailoverRun(ledger, old_primary, new_primary, killed_pids, promoted_after)


def _stored(node_url: str) -> dict[str, str]:
    """request_id -> user_id of every account a node holds, read from that node alone."""
    with psycopg.connect(node_url, connect_timeout=2) as conn:
        rows = conn.execute("SELECT request_id, user_id FROM users").fetchall()
    return {str(request_id): str(user_id) for request_id, user_id in rows}


def _lost(acknowledged: dict[str, str], node_url: str) -> dict[str, str]:
    """The acknowledged registrations a node does not hold (as acknowledged)."""
    stored = _stored(node_url)
    return {r: u for r, u in acknowledged.items() if stored.get(r) != u}


def _dead(pid: int) -> bool:
    """Gone, or a zombie nobody reaped yet (our container's init does not reap orphans)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return True
    return stat.rsplit(")", 1)[1].split()[0] == "Z"


@pytest.fixture(scope="module")
def failover_run(
    pg_formation: Formation, jwt_keys: KeyFiles, service_certs: ServiceCerts
) -> FailoverRun:
    """One SIGKILL of the primary under load, its figures recorded; the tests judge it."""
    run = asyncio.run(_kill_under_load(pg_formation, jwt_keys, service_certs))
    started = time.monotonic()
    # From this (the main) thread: a keeper gets SIGTERM when the thread that started it ends.
    pg_formation.restart(run.old_primary)
    run.rejoined_after = time.monotonic() - started
    ledger = run.ledger
    assert ledger.killed_at is not None
    assert ledger.recovered_at is not None
    record_figures(
        {
            "seconds_until_writes_succeed_again": round(ledger.recovered_at - ledger.killed_at, 1),
            "seconds_until_new_primary": round(run.promoted_after, 1),
            "failed_calls_in_between": ledger.failed_after_kill,
            "failed_calls_statuses": ",".join(sorted(ledger.failure_codes)),
            "acknowledged_writes": len(ledger.acknowledged),
            "acknowledged_writes_lost": len(
                _lost(ledger.acknowledged, pg_formation.node_url(run.new_primary))
            ),
            "seconds_until_old_primary_rejoined": round(run.rejoined_after, 1),
            "processes_killed": len(run.killed_pids),
            "command": "pytest tests/integration/test_postgres_failover.py",
        }
    )
    return run


def test_killing_the_primary_kills_its_postmaster_and_every_backend(
    failover_run: FailoverRun,
) -> None:
    # Keeper, its two services, the postmaster, its auxiliaries and at least one backend.
    assert len(failover_run.killed_pids) >= 6
    assert all(_dead(pid) for pid in failover_run.killed_pids)


def test_no_acknowledged_registration_is_lost_when_the_primary_is_killed(
    failover_run: FailoverRun, pg_formation: Formation
) -> None:
    acknowledged = failover_run.ledger.acknowledged
    assert len(acknowledged) >= ACKS_BEFORE_KILL + ACKS_AFTER_RECOVERY
    assert _lost(acknowledged, pg_formation.node_url(failover_run.new_primary)) == {}


def test_a_registration_retried_across_the_failover_returns_its_first_result(
    failover_run: FailoverRun, pg_formation: Formation
) -> None:
    ledger = failover_run.ledger
    assert ledger.failed_after_kill > 0  # the kill did cut calls off
    assert ledger.refused == []
    with psycopg.connect(
        pg_formation.node_url(failover_run.new_primary), connect_timeout=2
    ) as conn:
        row = conn.execute("SELECT count(*) FROM users").fetchone()
    assert row is not None
    # Every stored account is one a client asked for: at most each writer's last,
    # unacknowledged attempt more than the acknowledged ones.
    assert len(ledger.acknowledged) <= row[0] <= len(ledger.acknowledged) + WRITERS


def test_writes_succeed_again_once_a_standby_is_promoted(failover_run: FailoverRun) -> None:
    assert failover_run.new_primary != failover_run.old_primary
    assert failover_run.ledger.acks_after_recovery >= ACKS_AFTER_RECOVERY


def test_calls_cut_off_by_the_failover_are_unavailable_never_internal_or_unknown(
    failover_run: FailoverRun,
) -> None:
    # UNAVAILABLE is what the gateway fails over and answers 503 + Retry-After; a call
    # that ran out of time waiting for a connection ends DEADLINE_EXCEEDED (504).
    assert failover_run.ledger.failure_codes
    assert failover_run.ledger.failure_codes <= {"UNAVAILABLE", "DEADLINE_EXCEEDED"}


def test_the_killed_primary_rejoins_as_a_standby_holding_every_acknowledged_write(
    failover_run: FailoverRun, pg_formation: Formation
) -> None:
    states = {s.name: s for s in pg_formation.states()}
    assert states[failover_run.old_primary].reported == "secondary"
    assert states[failover_run.new_primary].reported == "primary"
    rejoined = pg_formation.node_url(failover_run.old_primary)
    acknowledged = failover_run.ledger.acknowledged

    def caught_up() -> bool:
        try:
            return _lost(acknowledged, rejoined) == {}
        except psycopg.OperationalError:  # still starting as a standby
            return False

    wait_for(caught_up, 30, "the rejoined node caught up")


def _lsn(node_url: str, function: str) -> int:
    """A WAL position of one node (``function``: pg_current_wal_lsn on a primary, etc.)."""
    with psycopg.connect(node_url, connect_timeout=2) as conn:
        row = conn.execute(f"SELECT {function}() - '0/0'::pg_lsn").fetchone()
    assert row is not None
    assert row[0] is not None
    return int(row[0])


def test_the_up_to_date_standby_is_promoted_never_the_lagging_one(
    pg_formation: Formation,
) -> None:
    # number_sync_standbys=1: a commit is acknowledged once one standby has it. One
    # standby is made to lag (the primary's WAL sender to it stopped, so the WAL never
    # leaves the primary); the primary keeps committing through the other. The monitor
    # must promote the one holding every commit: the lagging one would lose some for good.
    with psycopg.connect(pg_formation.monitor_url, connect_timeout=2) as conn:
        row = conn.execute(
            "SELECT number_sync_standbys FROM pgautofailover.formation"
            " WHERE formationid = 'default'"
        ).fetchone()
    assert row == (1,)
    pg_formation.wait_healthy()
    primary = pg_formation.primary()
    lagging, current = sorted(name for name in pg_formation.nodes if name != primary)
    sender = walsender_to(pg_formation, primary, lagging)
    os.kill(sender, signal.SIGSTOP)
    try:
        written = _write_rows(pg_formation.node_url(primary), LAG_ROWS)
        head = _lsn(pg_formation.node_url(primary), "pg_current_wal_lsn")
        assert _lsn(pg_formation.node_url(current), "pg_last_wal_receive_lsn") >= head
        assert _lsn(pg_formation.node_url(lagging), "pg_last_wal_receive_lsn") < head
        pg_formation.kill(primary)  # the stopped sender dies with it, its WAL unsent
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.kill(sender, signal.SIGCONT)
    promoted = pg_formation.wait_primary(other_than=primary)
    with psycopg.connect(pg_formation.node_url(promoted), connect_timeout=2) as conn:
        found = {n for (n,) in conn.execute("SELECT n FROM lag_probe").fetchall()}
    print(f"lagging standby {lagging}, promoted {promoted}, missing {len(written - found)}")
    assert promoted == current
    assert written - found == set()


def _write_rows(node_url: str, count: int) -> set[int]:
    """Commit ``count`` rows one by one (each acknowledged by the synchronous standby)."""
    with psycopg.connect(node_url, autocommit=True, connect_timeout=2) as conn:
        conn.execute("CREATE TABLE IF NOT EXISTS lag_probe (n integer PRIMARY KEY)")
        for n in range(count):
            conn.execute("INSERT INTO lag_probe VALUES (%s)", (n,))
    return set(range(count))


def test_over_tcp_no_role_logs_in_without_the_formation_password(
    pg_formation: Formation, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PGPASSFILE", str(pg_formation.root / "absent"))  # nor ~/.pgpass
    primary = pg_formation.primary()
    port = pg_formation.nodes[primary].port
    superuser = pg_autoctl.superuser(pg_formation.user)
    logins = [
        f"postgresql://{superuser}@127.0.0.1:{port}/postgres",
        f"postgresql://fitness@127.0.0.1:{port}/users",
        f"postgresql://autoctl_node@127.0.0.1:{pg_formation.monitor.port}/pg_auto_failover",
    ]
    refused = []
    for url in logins:
        with contextlib.suppress(psycopg.OperationalError):
            psycopg.connect(url, connect_timeout=2).close()
            continue
        refused.append(url)
    with psycopg.connect(pg_formation.superuser_url(primary), connect_timeout=2) as conn:
        conn.execute("SELECT 1")
    modes = {n: (pg_formation.root / n).stat().st_mode & 0o777 for n in ("pgpass", "superuser.pw")}
    assert refused == logins
    assert modes == {"pgpass": 0o600, "superuser.pw": 0o600}


def test_the_parent_pid_read_from_proc_is_the_one_the_kernel_reports() -> None:
    stat = Path(f"/proc/{os.getpid()}/stat").read_text()
    assert parent_pid(stat) == os.getppid()
