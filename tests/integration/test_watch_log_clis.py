"""The producer and consumer CLIs over real HTTP against the in-process platform: faults on
the producer's sends still store every sample exactly once; extract and report read them."""

from __future__ import annotations

import asyncio
import csv
import json
import os
import stat
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from deploy.local import free_port
from services.common.timeutil import format_time
from services.watch_logs import simulator
from services.watch_logs.cli import accounts, consumer, producer
from tests.helpers import (
    FakeClock,
    KeyFiles,
    ServiceCerts,
    grant_role,
    register_and_login,
    sync_redis,
)
from tests.integration.platform import Platform, served, sqlite_platform

SEED = 3
DEVICES = 2
USERS = 2
SAMPLES_PER_DEVICE = 60  # one hour of samples a minute apart


@pytest.fixture
async def gateway(platform: Platform) -> AsyncIterator[str]:
    """The platform's gateway on a real port, as the CLIs reach it."""
    async with served(platform.app) as url:
        yield url


@pytest.fixture
async def faulty_platform(
    tmp_path: Path, jwt_keys: KeyFiles, service_certs: ServiceCerts, redis_server: str
) -> AsyncIterator[Platform]:
    """The platform with 60 % of the IngestLogs calls failed by the service (UNAVAILABLE),
    and a gateway breaker that opens at the first failure and tries again after 1 s.

    The draws are seeded, so the same calls fail in every run and the breaker opens."""
    faults = {"fault_error_rate": 0.6, "fault_methods": "IngestLogs", "fault_seed": 13}
    async with sqlite_platform(
        tmp_path,
        jwt_keys,
        redis_server,
        certs=service_certs,
        watch_log_options=faults,
        breaker_fail_max=1,
        breaker_reset_timeout=1.0,
    ) as running:
        yield running


async def time_flies(clock: FakeClock) -> None:
    """Move the breakers' clock ten times as fast as real time, until cancelled."""
    while True:
        await asyncio.sleep(0.02)
        clock.advance(0.2)


async def analyst_token(platform: Platform) -> str:
    """A fresh account with the analyst role, logged in again to carry it."""
    user_id, _ = await register_and_login(platform.client, "cli-analyst")
    grant_role(platform.user_database_url, user_id, "analyst")
    body = {"email": "cli-analyst@example.com", "password": "s3cret-pass"}
    login = await platform.client.post("/users/login", json=body)
    assert login.status_code == 200, login.text
    return str(login.json()["token"])


async def eventually(condition: Callable[[], Awaitable[bool]], what: str, within: float) -> None:
    """Poll the condition (the loop keeps serving meanwhile); TimeoutError after ``within`` s."""
    deadline = time.monotonic() + within
    while not await condition():
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what} not reached within {within:.0f} s")
        await asyncio.sleep(0.1)


async def all_logs(client: httpx.AsyncClient, token: str, user_id: str) -> list[dict[str, Any]]:
    """Every stored entry of the user, page by page through GET /watch-logs."""
    found: list[dict[str, Any]] = []
    params = {"user_id": user_id, "page_size": "50"}
    headers = {"Authorization": f"Bearer {token}"}
    while True:
        page = await client.get("/watch-logs", params=params, headers=headers)
        assert page.status_code == 200, page.text
        found += page.json()["logs"]
        if not page.json()["next_page_token"]:
            return found
        params["page_token"] = page.json()["next_page_token"]


def expected_ids(
    fleet: list[Any], start: datetime, seed: int = SEED, devices: int = DEVICES, minutes: int = 60
) -> set[str]:
    """The message ids the simulator gives the fleet's ``minutes`` from ``start``."""
    end = start + timedelta(minutes=minutes)
    return {
        entry["message_id"]
        for account in fleet
        for entry in simulator.user_samples(
            seed, simulator.make_user(seed, account.user_id, devices), start, end
        )
    }


async def produce(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, dict[str, Any]]:
    """Run the producer CLI; its exit code and its JSON summary."""
    code = await producer.run([*argv, "--no-progress", "--json"])
    out, err = capsys.readouterr()
    assert "sent " in err
    return code, json.loads(out.splitlines()[-1])  # the summary is the last line


async def test_the_producer_under_faults_stores_each_sample_once_and_the_consumer_reads_them(
    platform: Platform, gateway: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    accounts_file = tmp_path / "fleet.json"
    # A whole hour an hour ago: every sample exists, and the run is the same when repeated.
    start = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(hours=2)
    total = USERS * DEVICES * SAMPLES_PER_DEVICE
    common = [
        "--gateway", gateway, "--accounts", str(accounts_file), "--users", str(USERS),
        "--devices-per-user", str(DEVICES), "--seed", str(SEED), "--start", format_time(start),
        "--count", str(total), "--batch-size", "40", "--rate", "0", "--concurrency", "3",
        "--attempts", "12",
    ]  # fmt: skip
    code, first = await produce(
        capsys, *common, "--fail-rate", "0.3", "--lose-reply-rate", "0.2", "--delay-rate", "0.2",
        "--delay-ms", "20",
    )  # fmt: skip
    assert code == 0, first
    assert first["failed_batches"] == 0
    assert first["retries"] > 0
    assert first["accepted"] + first["duplicates"] == first["entries"] == total
    assert stat.S_IMODE(os.stat(accounts_file).st_mode) == 0o600

    fleet = accounts.load(accounts_file)
    assert len(fleet) == USERS
    token = await analyst_token(platform)
    stored = [e for a in fleet for e in await all_logs(platform.client, token, a.user_id)]
    ids = [e["message_id"] for e in stored]
    assert len(ids) == len(set(ids)) == total  # nothing lost, nothing twice
    assert set(ids) == expected_ids(fleet, start)

    # A second run reuses the saved accounts and sends the same samples: all duplicates.
    code, again = await produce(capsys, *common)
    assert code == 0
    assert (again["accepted"], again["duplicates"], again["retries"]) == (0, total, 0)
    assert accounts.load(accounts_file) == fleet

    export = tmp_path / "export.csv"
    user = fleet[0].user_id
    extract = ["extract", "--gateway", gateway, "--token", token, "--user", user, "--no-progress"]
    assert await consumer.run([*extract, "--output", str(export)]) == 0
    assert f"extracted {DEVICES * SAMPLES_PER_DEVICE} rows (csv)" in capsys.readouterr().err
    assert stat.S_IMODE(os.stat(export).st_mode) == 0o600
    with export.open(newline="") as file:
        rows = list(csv.DictReader(file))
    assert len(rows) == DEVICES * SAMPLES_PER_DEVICE
    assert {r["user_id"] for r in rows} == {user}
    assert {r["message_id"] for r in rows} <= set(ids)

    report = ["report", "--gateway", gateway, "--token", token, "--user", user]
    assert await consumer.run([*report, "--bucket", "hour", "--from", format_time(start)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split()[:3] == ["user", "start", "samples"]
    assert sum(int(line.split()[2]) for line in lines[2:]) == DEVICES * SAMPLES_PER_DEVICE

    async def summarised() -> bool:
        days = await platform.client.get(
            "/watch-logs/summaries",
            params={"user_id": user, "from_date": str(start.date() - timedelta(days=1)),
                    "to_date": str(start.date() + timedelta(days=1))},
            headers={"Authorization": f"Bearer {token}"},
        )  # fmt: skip
        counted: int = sum(d["samples"] for d in days.json()["days"])
        return counted == DEVICES * SAMPLES_PER_DEVICE

    await eventually(summarised, "the reporting consumer's daily summaries", within=30)
    assert await consumer.run([*report, "--summaries", "--from", "2d"]) == 0
    table = capsys.readouterr().out.splitlines()
    assert table[0].split()[:2] == ["day", "samples"]
    assert sum(int(line.split()[1]) for line in table[2:]) == DEVICES * SAMPLES_PER_DEVICE
    assert await consumer.run([*report, "--pipeline"]) == 0
    assert capsys.readouterr().out.splitlines()[0].split()[:3] == ["stream", "length", "lag"]


async def test_the_consumer_refuses_a_user_without_the_analyst_role_with_a_hint(
    platform: Platform, gateway: str, capsys: pytest.CaptureFixture[str]
) -> None:
    _, headers = await register_and_login(platform.client, "cli-plain-user")
    token = headers["Authorization"].removeprefix("Bearer ")
    code = await consumer.run(["report", "--gateway", gateway, "--token", token, "--pipeline"])
    err = capsys.readouterr().err
    assert code == 1
    assert "error: 403 PERMISSION_DENIED" in err
    assert "roles grant analyst" in err


class BrokenOff(httpx.AsyncByteStream):
    """An export that the gateway breaks off after its header and a row."""

    async def __aiter__(self) -> AsyncIterator[bytes]:
        yield b"user_id,message_id\r\nu1,m1\r\n"
        raise httpx.RemoteProtocolError("peer closed connection without the final chunk")


async def test_an_export_broken_off_leaves_no_partial_file_behind(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    output = tmp_path / "export.csv"
    output.write_text("an older export")
    transport = httpx.MockTransport(lambda request: httpx.Response(200, stream=BrokenOff()))
    argv = ["extract", "--token", "t", "--output", str(output), "--no-progress"]
    assert await consumer.run(argv, transport=transport) == 1
    assert "broke off after 1 rows" in capsys.readouterr().err
    assert not output.exists()


async def test_a_registration_limit_keeps_the_accounts_made_so_far_for_the_next_run(
    tmp_path: Path,
    jwt_keys: KeyFiles,
    service_certs: ServiceCerts,
    redis_server: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    with sync_redis(redis_server) as client:  # earlier tests' registrations from 127.0.0.1
        for key in client.scan_iter("login-throttle:register:*"):
            client.delete(key)
    fleet = tmp_path / "fleet.json"
    argv = ["--accounts", str(fleet), "--users", "3", "--count", "10", "--no-progress"]
    async with (
        sqlite_platform(
            tmp_path, jwt_keys, redis_server, certs=service_certs, register_max_attempts=2
        ) as limited,
        served(limited.app) as url,
    ):
        code = await producer.run([*argv, "--gateway", url])
    err = capsys.readouterr().err
    assert code == 1
    assert "error: 429 RESOURCE_EXHAUSTED: too many registrations" in err
    assert f"2 accounts saved in {fleet}; run again later for the rest" in err
    assert len(accounts.load(fleet)) == 2


async def test_the_producer_names_an_unreachable_gateway(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    code = await producer.run(
        [
            "--gateway",
            url,
            "--accounts",
            str(tmp_path / "a.json"),
            "--no-progress",
            "--timeout",
            "2",
        ]
    )
    assert code == 1
    assert f"no answer from {url}" in capsys.readouterr().err


async def test_the_breaker_opens_on_injected_faults_and_the_producer_still_stores_each_sample_once(
    faulty_platform: Platform, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    breaker = faulty_platform.upstreams.watch_logs.instances[0].breaker
    start = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(hours=1)
    ticking = asyncio.create_task(time_flies(faulty_platform.clock))
    try:
        async with served(faulty_platform.app) as url:
            code, summary = await produce(
                capsys, "--gateway", url, "--accounts", str(tmp_path / "fleet.json"),
                "--users", "2", "--devices-per-user", "1", "--seed", "5",
                "--start", format_time(start), "--count", "40", "--batch-size", "4",
                "--rate", "0", "--concurrency", "2", "--attempts", "20",
            )  # fmt: skip
    finally:
        ticking.cancel()
    assert code == 0, summary
    assert breaker.opened_at > 0  # it opened (the fake clock starts at 1000)
    assert summary["errors"] > 0
    assert summary["failed_batches"] == 0
    assert summary["accepted"] + summary["duplicates"] == 40

    fleet = accounts.load(tmp_path / "fleet.json")
    token = await analyst_token(faulty_platform)
    stored = [e for a in fleet for e in await all_logs(faulty_platform.client, token, a.user_id)]
    ids = [e["message_id"] for e in stored]
    assert len(ids) == len(set(ids)) == 40
    assert set(ids) == expected_ids(fleet, start, seed=5, devices=1, minutes=20)
