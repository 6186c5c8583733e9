"""Failed-login throttling through the gateway, with its state in the real Redis."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

import httpx
import pytest
import redis.exceptions
from fastapi import FastAPI

from deploy.local import free_port
from gateway.app import create_app
from gateway.config import GatewaySettings
from gateway.edge.login_throttle import LoginThrottle
from services.common.redis import command_client
from tests.helpers import FakeClock, assert_error, register_and_login
from tests.integration.platform import Platform, served_as_gateway

PASSWORD = "s3cret-pass"


@pytest.fixture
def redis_server(either_redis: str) -> str:
    """Every test here runs on one Redis and on the Redis Cluster."""
    return either_redis


class Gateways:
    """Gateway apps sharing the platform's services and Redis, with one wall clock."""

    def __init__(self, platform: Platform, **options: object) -> None:
        base: GatewaySettings = platform.app.state.settings
        # What is throttled is under test here, not a slow Redis: on a loaded CI machine a
        # reply took over the 1 s default and a login answered 503 (outages have their own
        # tests); a test may still set its own.
        self.settings = base.model_copy(update={"redis_timeout": 5.0, **options})
        self.clock = FakeClock(now=1_900_000_000.0)

    def app(self) -> FastAPI:
        """A new gateway instance."""
        return create_app(self.settings, health_checks=False, wall_clock=self.clock)

    @asynccontextmanager
    async def client(
        self, address: str, adjust: Callable[[FastAPI], None] = lambda app: None
    ) -> AsyncIterator[httpx.AsyncClient]:
        """A client of a new gateway instance (started, then adjusted), calling from ``address``."""
        app = self.app()
        transport = httpx.ASGITransport(app=app, client=(address, 40_000))
        async with (
            app.router.lifespan_context(app),
            httpx.AsyncClient(transport=transport, base_url="http://gateway") as client,
        ):
            adjust(app)
            yield client


class SuccessLostToRedis(LoginThrottle):
    """A throttle whose Redis goes away just after the user service accepted the password."""

    async def succeeded(self, email: str, address: str) -> None:
        raise redis.exceptions.ConnectionError("Redis went away")


def fresh_address() -> str:
    """A client address no other test uses (the Redis outlives one test)."""
    raw = uuid.uuid4().bytes
    return f"10.{raw[0]}.{raw[1]}.{raw[2]}"


async def new_account(platform: Platform) -> str:
    """A registered account's email, unique in the session."""
    name = f"t{uuid.uuid4().hex[:10]}"
    await register_and_login(platform.client, name)
    return f"{name}@example.com"


async def login(client: httpx.AsyncClient, email: str, password: str) -> httpx.Response:
    return await client.post("/users/login", json={"email": email, "password": password})


async def test_repeated_failures_lock_the_account_even_for_the_right_password(
    platform: Platform,
) -> None:
    gateways = Gateways(platform, login_account_max_failures=3)
    email = await new_account(platform)
    async with gateways.client(fresh_address()) as client:
        for _ in range(3):
            assert_error(await login(client, email, "wrong-password"), 401)
        locked = await login(client, email, PASSWORD)
        assert assert_error(locked, 429)["status"] == "RESOURCE_EXHAUSTED"
        assert locked.headers["retry-after"] == "1"
        gateways.clock.advance(1.01)
        assert (await login(client, email, PASSWORD)).status_code == 200


async def test_an_unknown_email_is_throttled_exactly_like_a_known_one(platform: Platform) -> None:
    gateways = Gateways(platform, login_account_max_failures=2)
    known = await new_account(platform)
    unknown = f"nobody-{uuid.uuid4().hex[:8]}@example.com"
    answers = []
    async with gateways.client(fresh_address()) as client:
        for email in (known, unknown):
            seen = [await login(client, email, "wrong-password") for _ in range(3)]
            answers.append([(r.status_code, r.headers.get("retry-after"), r.json()) for r in seen])
    assert answers[0] == answers[1]
    assert [status for status, _, _ in answers[0]] == [401, 401, 429]


async def test_a_locked_account_leaves_other_accounts_and_addresses_alone(
    platform: Platform,
) -> None:
    gateways = Gateways(platform, login_account_max_failures=2)
    victim, other = await new_account(platform), await new_account(platform)
    attacker = fresh_address()
    async with gateways.client(attacker) as client:
        for _ in range(2):
            await login(client, victim, "wrong-password")
        assert_error(await login(client, victim, PASSWORD), 429)
        assert (await login(client, other, PASSWORD)).status_code == 200
    async with gateways.client(fresh_address()) as elsewhere:
        assert (await login(elsewhere, other, PASSWORD)).status_code == 200


async def test_failures_from_one_address_lock_it_for_every_account(platform: Platform) -> None:
    gateways = Gateways(platform, login_address_max_failures=3)
    email = await new_account(platform)
    sprayer = fresh_address()
    async with gateways.client(sprayer) as client:
        for n in range(3):
            assert_error(await login(client, f"guess{n}-{uuid.uuid4().hex}@x.io", "password1"), 401)
        assert_error(await login(client, email, PASSWORD), 429)
    async with gateways.client(fresh_address()) as elsewhere:
        assert (await login(elsewhere, email, PASSWORD)).status_code == 200


async def test_a_second_gateway_sharing_the_redis_sees_the_lock(platform: Platform) -> None:
    gateways = Gateways(platform, login_account_max_failures=2)
    email = await new_account(platform)
    async with gateways.client(fresh_address()) as first:
        for _ in range(2):
            await login(first, email, "wrong-password")
    async with gateways.client(fresh_address()) as second:
        assert_error(await login(second, email, PASSWORD), 429)


async def test_a_successful_login_resets_the_account_counter(platform: Platform) -> None:
    gateways = Gateways(platform, login_account_max_failures=3)
    email = await new_account(platform)
    async with gateways.client(fresh_address()) as client:
        for _ in range(2):
            assert_error(await login(client, email, "wrong-password"), 401)
        assert (await login(client, email, PASSWORD)).status_code == 200
        for _ in range(2):
            assert_error(await login(client, email, "wrong-password"), 401)
        assert (await login(client, email, PASSWORD)).status_code == 200


async def test_each_further_failure_doubles_the_lockout_up_to_the_cap(platform: Platform) -> None:
    gateways = Gateways(
        platform, login_account_max_failures=1, login_lockout_base=2.0, login_lockout_max=5.0
    )
    email = await new_account(platform)
    waits = []
    async with gateways.client(fresh_address()) as client:
        for _ in range(3):
            assert_error(await login(client, email, "wrong-password"), 401)
            locked = await login(client, email, "wrong-password")
            waits.append(locked.headers["retry-after"])
            gateways.clock.advance(float(locked.headers["retry-after"]))
    assert waits == ["2", "4", "5"]


async def test_failures_are_forgotten_after_the_window(platform: Platform) -> None:
    gateways = Gateways(
        platform, login_account_max_failures=2, login_lockout_base=0.05, login_failure_window=0.2
    )
    email = await new_account(platform)
    async with gateways.client(fresh_address()) as client:
        for _ in range(2):
            assert_error(await login(client, email, "wrong-password"), 401)
        gateways.clock.advance(0.1)
        # The counter is a Redis key that expires on Redis's clock, a window after the lock.
        await asyncio.sleep(0.5)
        assert_error(await login(client, email, "wrong-password"), 401)
        assert (await login(client, email, PASSWORD)).status_code == 200


async def test_parallel_guesses_cannot_slip_past_the_lock(platform: Platform) -> None:
    # The services run in this process: on a loaded 2-core CI machine, their password
    # hashing can hold 20 parallel Redis replies past the default 1 s deadline (a 503, as
    # documented). The lock, not that deadline, is under test here (Gateways gives 5 s).
    gateways = Gateways(platform, login_account_max_failures=3)
    email = await new_account(platform)
    async with gateways.client(fresh_address()) as client:
        answers = await asyncio.gather(*(login(client, email, "wrong-password") for _ in range(20)))
    statuses = sorted(answer.status_code for answer in answers)
    assert statuses == [401] * 3 + [429] * 17


async def test_registrations_from_one_address_are_limited_and_every_attempt_counts(
    platform: Platform,
) -> None:
    gateways = Gateways(platform, register_max_attempts=3)
    name = f"r{uuid.uuid4().hex[:10]}"
    body = {"username": name, "email": f"{name}@example.com", "password": PASSWORD}
    async with gateways.client(fresh_address()) as client:
        assert (await client.post("/users/register", json=body)).status_code == 201
        for _ in range(2):
            assert_error(await client.post("/users/register", json=body), 409)
        refused = await client.post("/users/register", json={**body, "username": name + "x"})
        assert assert_error(refused, 429)["status"] == "RESOURCE_EXHAUSTED"
        assert 1 <= int(refused.headers["retry-after"]) <= 3600
    other = {"username": name + "y", "email": f"{name}y@example.com", "password": PASSWORD}
    async with gateways.client(fresh_address()) as elsewhere:
        assert (await elsewhere.post("/users/register", json=other)).status_code == 201


async def test_a_redis_lost_after_the_password_is_accepted_still_hands_out_the_tokens(
    platform: Platform,
) -> None:
    gateways = Gateways(platform)
    email = await new_account(platform)
    async with command_client(gateways.settings.redis_url, timeout=5) as store:
        flaky = SuccessLostToRedis(
            store, gateways.settings.login_throttle_settings(), gateways.clock
        )

        def lose_redis_on_success(app: FastAPI) -> None:
            app.state.login_throttle = flaky

        async with gateways.client(fresh_address(), lose_redis_on_success) as client:
            answer = await login(client, email, PASSWORD)
    assert answer.status_code == 200, answer.text
    assert answer.json()["token"]
    assert answer.json()["refresh_token"]


async def test_x_forwarded_for_from_a_local_client_does_not_move_the_throttled_address(
    platform: Platform,
) -> None:
    gateways = Gateways(platform, login_address_max_failures=3, host="127.0.0.1", port=free_port())
    assert gateways.settings.trusted_proxies == []
    app = gateways.app()
    async with (
        command_client(gateways.settings.redis_url, timeout=5) as store,
        served_as_gateway(app, gateways.settings) as url,
        httpx.AsyncClient(base_url=url) as client,
    ):
        # Calls come from 127.0.0.1, which uvicorn's own default trusts, and which other
        # tests' clients use too: this gateway keeps its counts apart.
        app.state.login_throttle = LoginThrottle(
            store,
            gateways.settings.login_throttle_settings(),
            gateways.clock,
            prefix=f"test-{uuid.uuid4().hex}",
        )
        for n in range(4):
            answer = await client.post(
                "/users/login",
                json={"email": f"guess{n}-{uuid.uuid4().hex}@x.io", "password": "password1"},
                headers={"X-Forwarded-For": fresh_address()},
            )
            assert answer.status_code == (401 if n < 3 else 429), answer.text


async def test_x_forwarded_for_from_a_trusted_proxy_is_the_client_address(
    platform: Platform,
) -> None:
    gateways = Gateways(
        platform,
        login_address_max_failures=2,
        host="127.0.0.1",
        port=free_port(),
        trusted_proxies=["127.0.0.1"],
    )
    async with (
        served_as_gateway(gateways.app(), gateways.settings) as url,
        httpx.AsyncClient(base_url=url) as client,
    ):
        for n in range(4):
            answer = await client.post(
                "/users/login",
                json={"email": f"guess{n}-{uuid.uuid4().hex}@x.io", "password": "password1"},
                headers={"X-Forwarded-For": fresh_address()},
            )
            assert answer.status_code == 401, answer.text


async def test_logins_the_user_service_could_not_judge_do_not_count(platform: Platform) -> None:
    gateways = Gateways(platform, login_account_max_failures=1, login_address_max_failures=1)
    email = await new_account(platform)
    for server in platform.user_servers:
        await server.stop(grace=0)
    async with gateways.client(fresh_address()) as client:
        for _ in range(3):
            assert_error(await login(client, email, PASSWORD), 503)
