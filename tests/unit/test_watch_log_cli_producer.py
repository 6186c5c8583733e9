"""The producer against an in-process fake gateway: every entry stored once, whatever fails."""

from __future__ import annotations

import itertools
import json
import random
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from services.common.client.http import Credentials, GatewayError, Session
from services.common.client.retry import Backoff
from services.common.timeutil import parse_time
from services.watch_logs.cli.fleet import send_fleet
from services.watch_logs.cli.producer import checked_run, parser, summary_line
from services.watch_logs.cli.sender import Faults, Sender
from tests.helpers import FakeClock

NOW = datetime(2026, 12, 1, 18, 0, tzinfo=UTC)


def error(status: int, name: str, message: str, **headers: str) -> httpx.Response:
    body = {"error": {"code": status, "status": name, "message": message}}
    return httpx.Response(status, json=body, headers=headers)


@dataclass
class FakeGateway:
    """The gateway's account and ingest routes, in memory, with failures on demand."""

    clock: FakeClock
    rng: random.Random = field(default_factory=lambda: random.Random(7))
    overload_rate: float = 0.0  # 503 + Retry-After before storing anything
    always: httpx.Response | None = None  # every POST /watch-logs answered with this
    token_seconds: float = 900.0
    stored: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)
    posts: int = 0
    refreshes: int = 0
    tokens: dict[str, tuple[str, float]] = field(default_factory=dict)  # token: (user, end)
    refresh_tokens: dict[str, str] = field(default_factory=dict)
    passwords: dict[str, tuple[str, str]] = field(default_factory=dict)  # email: (pw, user)

    def account(self, name: str) -> Credentials:
        user_id = f"u-{name}"
        self.passwords[f"{name}@example.com"] = ("s3cret-pass", user_id)
        return Credentials(f"{name}@example.com", "s3cret-pass")

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self.handle)

    def handle(self, request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content or b"{}")
        if request.url.path == "/users/login":
            password, user_id = self.passwords.get(body["email"], ("", ""))
            if password != body["password"]:
                return error(401, "UNAUTHENTICATED", "wrong e-mail or password")
            return self.tokens_for(user_id)
        if request.url.path == "/users/token/refresh":
            user_id = self.refresh_tokens.pop(body["refresh_token"], "")
            if not user_id:
                return error(401, "UNAUTHENTICATED", "refresh token not valid")
            self.refreshes += 1
            return self.tokens_for(user_id)
        assert request.url.path == "/watch-logs"
        return self.ingest(request, body["logs"])

    def tokens_for(self, user_id: str) -> httpx.Response:
        token, refresh = f"t{len(self.tokens)}", f"r{len(self.tokens)}"
        self.tokens[token] = (user_id, self.clock() + self.token_seconds)
        self.refresh_tokens[refresh] = user_id
        body = {"token": token, "refresh_token": refresh, "user_id": user_id}
        return httpx.Response(200, json={**body, "expires_in": self.token_seconds})

    def ingest(self, request: httpx.Request, logs: list[dict[str, Any]]) -> httpx.Response:
        self.posts += 1
        token = request.headers.get("authorization", "").removeprefix("Bearer ")
        user_id, end = self.tokens.get(token, ("", 0.0))
        if not user_id or self.clock() >= end:
            return error(401, "UNAUTHENTICATED", "token expired")
        if self.always is not None:
            return self.always
        if self.rng.random() < self.overload_rate:
            return error(
                503, "UNAVAILABLE", "watch-log service unavailable", **{"Retry-After": "1"}
            )
        mine = self.stored.setdefault(user_id, {})
        fresh = [e for e in logs if e["message_id"] not in mine]
        mine.update({e["message_id"]: e for e in fresh})
        body = {"accepted": len(fresh), "duplicates": len(logs) - len(fresh), "rejected": []}
        return httpx.Response(200, json=body)


@dataclass
class FakeTime:
    """A monotonic clock that only sleeping moves, and the sleeps asked for."""

    clock: FakeClock = field(default_factory=FakeClock)
    slept: list[float] = field(default_factory=list)

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.clock.advance(seconds)


@pytest.fixture
def time() -> FakeTime:
    return FakeTime()


@pytest.fixture
def gateway(time: FakeTime) -> FakeGateway:
    return FakeGateway(time.clock)


@pytest.fixture
async def client(gateway: FakeGateway) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=gateway.transport(), base_url="http://gw") as c:
        yield c


def options(*extra: str) -> Any:
    return parser().parse_args(["--hours", "2", "--no-progress", "--rate", "0", *extra])


async def run_fleet(
    args: Any, client: httpx.AsyncClient, gateway: FakeGateway, time: FakeTime, users: int
) -> Any:
    fleet = [gateway.account(f"user{i}") for i in range(users)]
    run = checked_run(args, NOW)
    return await send_fleet(args, run, client, fleet, sleep=time.sleep, monotonic=time.clock)


async def test_retries_deliver_every_entry_exactly_once_when_sends_fail_at_random(
    client: httpx.AsyncClient, gateway: FakeGateway, time: FakeTime
) -> None:
    gateway.overload_rate = 0.2
    args = options(
        "--devices-per-user", "2", "--batch-size", "50", "--concurrency", "4",
        "--fail-rate", "0.3", "--lose-reply-rate", "0.2", "--attempts", "30",
    )  # fmt: skip
    tally = await run_fleet(args, client, gateway, time, users=3)
    stored = [mid for per_user in gateway.stored.values() for mid in per_user]
    assert tally.entries == len(stored) == 3 * 2 * 120  # every entry arrived
    assert tally.failed_batches == 0
    assert tally.retries > 0
    # A lost reply's batch was stored; its retry is answered as duplicates, not stored again.
    assert tally.duplicates > 0
    assert tally.accepted + tally.duplicates == tally.entries
    assert tally.accepted < len(stored)


async def test_a_retry_after_from_the_gateway_is_waited_out(
    client: httpx.AsyncClient, gateway: FakeGateway, time: FakeTime
) -> None:
    gateway.always = error(429, "RESOURCE_EXHAUSTED", "slow down", **{"Retry-After": "7"})
    args = options("--count", "10", "--attempts", "3")
    tally = await run_fleet(args, client, gateway, time, users=1)
    assert time.slept == [7.0, 7.0]  # between the three attempts, none after the last
    assert tally.failed_batches == 1
    assert tally.failed_entries == 10
    assert "undelivered: 429 RESOURCE_EXHAUSTED" in tally.reasons


async def test_a_batch_out_of_attempts_is_failed_and_the_summary_says_so(
    client: httpx.AsyncClient, gateway: FakeGateway, time: FakeTime
) -> None:
    gateway.always = error(503, "UNAVAILABLE", "no instance")
    args = options("--count", "100", "--batch-size", "100", "--attempts", "4")
    tally = await run_fleet(args, client, gateway, time, users=1)
    assert gateway.posts == 4
    assert tally.retries == 3
    assert tally.errors == 4
    assert len(time.slept) == 3
    assert all(0 <= s <= 0.2 * 2**i for i, s in enumerate(time.slept))
    assert "failed batches 1" in summary_line(tally, 1.0)


async def test_a_refused_batch_is_not_retried(
    client: httpx.AsyncClient, gateway: FakeGateway, time: FakeTime
) -> None:
    gateway.always = error(422, "INVALID_ARGUMENT", "no entry was stored: too old")
    tally = await run_fleet(options("--count", "5"), client, gateway, time, users=1)
    assert gateway.posts == 1
    assert tally.rejected == 5
    assert tally.failed_batches == 0
    assert tally.reasons == {"422 no entry was stored: too old": 5}


async def test_the_rate_paces_the_sends_at_the_target(
    client: httpx.AsyncClient, gateway: FakeGateway, time: FakeTime
) -> None:
    args = options(
        "--hours", "6", "--rate", "100", "--batch-size", "50", "--count", "600",
        "--concurrency", "1",
    )  # fmt: skip
    tally = await run_fleet(args, client, gateway, time, users=2)
    assert tally.accepted == 600
    # The first 100 go at once (the bucket starts full), the other 500 take 5 s.
    assert sum(time.slept) == pytest.approx(5.0)


async def test_a_duration_stops_the_run_when_it_is_up(
    client: httpx.AsyncClient, gateway: FakeGateway, time: FakeTime
) -> None:
    args = options(
        "--hours", "6", "--rate", "100", "--batch-size", "50", "--duration", "2",
        "--concurrency", "1",
    )  # fmt: skip
    tally = await run_fleet(args, client, gateway, time, users=2)
    assert 250 <= tally.entries <= 350  # 100 at once, then 100 a second for 2 s
    assert tally.entries < 2 * 360  # not every sample there was


async def test_follow_sends_each_new_sample_as_its_minute_comes_without_gaps_or_repeats(
    client: httpx.AsyncClient, gateway: FakeGateway, time: FakeTime
) -> None:
    args = options("--hours", "0.05", "--follow", "--duration", "300", "--devices-per-user", "2")
    fleet = [gateway.account("alice")]
    tally = await send_fleet(
        args, checked_run(args, NOW), client, fleet,
        sleep=time.sleep, monotonic=time.clock,
        wall=lambda: NOW + timedelta(seconds=time.clock() - 1000),
    )  # fmt: skip
    stored = gateway.stored["u-alice"].values()
    minutes = sorted({parse_time(e["timestamp"]) for e in stored})
    assert tally.failed_batches == 0
    assert len(stored) == tally.accepted == 2 * len(minutes)  # both watches, once each
    assert minutes[0] == NOW - timedelta(minutes=3)
    assert len(minutes) >= 3 + 4  # the backfill, then one a minute for 5 minutes
    assert all(b - a == timedelta(minutes=1) for a, b in itertools.pairwise(minutes))
    assert minutes[-1] <= NOW + timedelta(seconds=300)


async def test_a_token_about_to_end_is_refreshed_before_the_send(
    client: httpx.AsyncClient, gateway: FakeGateway, time: FakeTime
) -> None:
    gateway.token_seconds = 60.0
    session = Session(client, gateway.account("alice"), time.clock)
    first = await session.headers()
    time.clock.advance(45)  # within the 30 s margin
    second = await session.headers()
    assert first != second
    assert gateway.refreshes == 1
    assert session.user_id == "u-alice"


async def test_a_token_the_gateway_no_longer_knows_is_renewed_and_the_batch_resent(
    client: httpx.AsyncClient, gateway: FakeGateway, time: FakeTime
) -> None:
    session = Session(client, gateway.account("alice"), time.clock)
    await session.headers()
    gateway.tokens.clear()  # say, new signing keys: every access token refused
    sender = Sender(client, Backoff(attempts=3), Faults(), random.Random(1), time.sleep)
    entry = {"message_id": "m1"}
    await sender.deliver(session, [entry])
    assert sender.tally.accepted == 1
    assert gateway.refreshes == 1
    assert gateway.posts == 2


async def test_wrong_credentials_fail_the_batch_with_the_gateways_message(
    client: httpx.AsyncClient, gateway: FakeGateway, time: FakeTime
) -> None:
    session = Session(client, Credentials("nobody@example.com", "wrong-password"))
    with pytest.raises(GatewayError, match="401 UNAUTHENTICATED: wrong e-mail or password"):
        await session.headers()


async def test_accounts_another_gateway_made_are_refused_with_a_hint(
    client: httpx.AsyncClient, gateway: FakeGateway, time: FakeTime
) -> None:
    args = options("--accounts", "fleet.json", "--gateway", "http://gw")
    stranger = Credentials("stranger@example.com", "s3cret-pass", "u-x", "stranger")
    with pytest.raises(GatewayError, match=r"do not log in at http://gw: another --accounts\?"):
        await send_fleet(args, checked_run(args, NOW), client, [stranger], sleep=time.sleep)
    assert gateway.posts == 0


@pytest.mark.parametrize(
    ("argv", "problem"),
    [
        (["--batch-size", "501"], "at most 500"),
        (["--hours", "25"], "older than 24 h"),
        (["--hours", "24"], "at most 23 h 55 min back"),
        (["--start", "2026-12-01T19:00:00Z"], "in the past"),
        (["--interval", "7200"], "at most 3600"),
    ],
)
def test_options_the_service_would_refuse_are_refused_first(argv: list[str], problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        checked_run(parser().parse_args(argv), NOW)


def test_fault_rates_outside_zero_to_one_are_a_usage_error() -> None:
    with pytest.raises(SystemExit):
        parser().parse_args(["--fail-rate", "1.5"])
