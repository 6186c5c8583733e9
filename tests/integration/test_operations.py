"""What the gateway tells the public about itself: health probes, headers, no metrics."""

from __future__ import annotations

from pathlib import Path

from deploy.local import free_port
from gateway.edge.errors import REDIS_RETRY_AFTER
from tests.helpers import KeyFiles, ServiceCerts, register_admin, register_and_login
from tests.integration.platform import Platform, running_platform


async def test_liveness_and_readiness_tell_anyone_only_a_status(platform: Platform) -> None:
    live = await platform.client.get("/health/live")
    ready = await platform.client.get("/health/ready")
    assert (live.status_code, live.json()) == (200, {"status": "ok"})
    assert (ready.status_code, ready.json()) == (200, {"status": "ok"})


async def test_not_ready_says_when_to_ask_again(
    tmp_path: Path, jwt_keys: KeyFiles, service_certs: ServiceCerts
) -> None:
    nothing_listens = f"redis://127.0.0.1:{free_port()}/0"
    user, activity, saga = (f"sqlite:///{tmp_path / n}.db" for n in ("user", "activity", "saga"))
    async with running_platform(
        user, activity, saga, jwt_keys, nothing_listens, certs=service_certs
    ) as unready:
        ready = await unready.client.get("/health/ready")
    assert ready.status_code == 503
    assert ready.headers["retry-after"] == REDIS_RETRY_AFTER
    assert ready.json()["error"]["status"] == "UNAVAILABLE"


async def test_health_details_with_instance_addresses_are_for_admins_only(
    platform: Platform, tmp_path: Path
) -> None:
    _, user = await register_and_login(platform.client, "curious")
    _, admin = await register_admin(platform.client, f"sqlite:///{tmp_path / 'user.db'}", "ops")
    anonymous = await platform.client.get("/health")
    assert anonymous.status_code == 401
    assert anonymous.json()["error"]["status"] == "UNAUTHENTICATED"
    assert (await platform.client.get("/health", headers=user)).status_code == 403

    detail = (await platform.client.get("/health", headers=admin)).json()
    address = platform.upstreams.users.instances[0].address
    assert detail["status"] == "ok"
    assert detail["redis"] == "ok"
    assert detail["upstreams"]["fitness.user.v1.UserService"][0]["address"] == address


async def test_every_answer_forbids_content_type_sniffing(platform: Platform) -> None:
    answers = [
        await platform.client.get("/health/live"),
        await platform.client.get("/no/such/route"),
        await platform.client.get("/health"),
        await platform.client.post("/users/login", content=b"x" * (65 * 1024)),
    ]
    assert [a.status_code for a in answers] == [200, 404, 401, 413]
    assert all(a.headers["x-content-type-options"] == "nosniff" for a in answers)


async def test_metrics_are_not_served_on_the_public_port(platform: Platform) -> None:
    answer = await platform.client.get("/metrics")
    assert answer.status_code == 404
    assert "gateway_http_requests_total" not in answer.text
