"""Failed-login throttling through the gateway, with its state in the real Redis."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx

from gateway.app import create_app
from gateway.config import GatewaySettings
from tests.helpers import FakeClock, register_and_login
from tests.integration.platform import Platform
from tests.integration.test_rest_users import assert_error

PASSWORD = "s3cret-pass"


class Gateways:
    """Gateway apps sharing the platform's services and Redis, with one wall clock."""

    def __init__(self, platform: Platform, **options: object) -> None:
        base: GatewaySettings = platform.app.state.settings
        self.settings = base.model_copy(update=options)
        self.clock = FakeClock(now=1_900_000_000.0)

    @asynccontextmanager
    async def client(self, address: str) -> AsyncIterator[httpx.AsyncClient]:
        """A client of a new gateway instance, calling from ``address``."""
        app = create_app(self.settings, health_checks=False, wall_clock=self.clock)
        transport = httpx.ASGITransport(app=app, client=(address, 40_000))
        async with (
            app.router.lifespan_context(app),
            httpx.AsyncClient(transport=transport, base_url="http://gateway") as client,
        ):
            yield client


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
