"""/openapi.json is the truth: declared auth, limits and errors, checked by generated requests.

Schemathesis generates requests for every operation from the document the gateway
serves and sends them to the real gateway (uvicorn on a loopback port, over the real
services) with a real token: no answer may be a 5xx, and every answer's status, content
type and body must be the ones the document declares.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from fastapi import FastAPI
from fastapi.routing import APIRoute, iter_route_contexts
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from redis import Redis as SyncRedis
from redis.asyncio import Redis
from schemathesis import Case, GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.result import Ok
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from gateway.routes.fields import WORKOUT_TYPE_NAMES
from tests.helpers import KeyFiles, ServiceCerts, register_admin
from tests.integration.platform import Platform, served, sqlite_platform

PUBLIC = {
    ("POST", "/users/register"),
    ("POST", "/users/login"),
    ("POST", "/users/token/refresh"),
    ("POST", "/users/logout"),
    ("GET", "/health/live"),
    ("GET", "/health/ready"),
}
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
# Small and fixed: the whole run stays within a few minutes on a loaded two-core machine,
# and the same examples are generated on every run.
EXAMPLES_PER_OPERATION = 20
STATEFUL_SCENARIOS = 40
# The chains test's own Redis database (the suite shares one server, on database 0).
CHAINS_REDIS_DB = 7
# Deleting the test's own account would leave nothing for the operations after it.
KEEP_RANDOM_USER_ID = {("DELETE", "/users/{user_id}")}


def operations(app: FastAPI) -> Iterator[tuple[str, str, dict[str, Any]]]:
    """(method, path template, OpenAPI operation) for every documented route."""
    paths = app.openapi()["paths"]
    for route in iter_route_contexts(app.routes):
        if isinstance(route.original_route, APIRoute) and route.include_in_schema:
            path = route.path_format or ""
            for method in sorted(route.methods or ()):
                yield method, path, paths[path][method.lower()]


def resolve(schema: dict[str, Any], document: dict[str, Any]) -> dict[str, Any]:
    """Follow a local $ref."""
    while "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        schema = document["components"]["schemas"][name]
    return schema


async def test_every_route_but_the_public_ones_declares_bearer_auth(platform: Platform) -> None:
    document = platform.app.openapi()
    assert document["components"]["securitySchemes"]["bearerAuth"] == {
        "type": "http",
        "scheme": "bearer",
        "description": "A token from /users/login",
    }
    seen = set()
    for method, path, operation in operations(platform.app):
        seen.add((method, path))
        if (method, path) in PUBLIC:
            assert "security" not in operation, (method, path)
        else:
            assert operation["security"] == [{"bearerAuth": []}], (method, path)
            assert "401" in operation["responses"], (method, path)
    assert seen >= PUBLIC


async def test_every_input_is_bounded_in_the_schema(platform: Platform) -> None:
    document = platform.app.openapi()
    for method, path, operation in operations(platform.app):
        fields = [(p["name"], p["schema"]) for p in operation.get("parameters", [])]
        body = operation.get("requestBody", {}).get("content", {}).get("application/json")
        if body:
            model = resolve(body["schema"], document)
            fields += [(n, s) for n, s in model.get("properties", {}).items()]
        for name, field in fields:
            for variant in resolve(field, document).get("anyOf", [resolve(field, document)]):
                where = (method, path, name)
                if variant.get("type") == "string" and "enum" not in variant:
                    assert "maxLength" in variant, where
                if variant.get("type") in ("integer", "number"):
                    assert "maximum" in variant, where
                    assert "minimum" in variant or "exclusiveMinimum" in variant, where


async def test_the_limits_the_server_enforces_are_in_the_schema(platform: Platform) -> None:
    schemas = platform.app.openapi()["components"]["schemas"]
    register = schemas["RegisterRequest"]["properties"]
    assert (register["password"]["minLength"], register["password"]["maxLength"]) == (8, 128)
    assert register["username"]["pattern"] == "^[A-Za-z0-9._-]{3,32}$"
    weight = register["weight_kg"]["anyOf"][0]
    assert (weight["minimum"], weight["maximum"]) == (20, 400)
    goal = schemas["GoalRequest"]["properties"]
    assert goal["target_value"]["exclusiveMinimum"] == 0
    assert goal["target_date"]["format"] == "date"
    assert goal["goal_type"]["enum"] == [
        "workouts_count",
        "active_minutes",
        "calories_burned",
        "distance_km",
    ]
    start = schemas["StartWorkoutRequest"]["properties"]
    assert start["workout_type"]["enum"] == list(WORKOUT_TYPE_NAMES)
    assert schemas["EndWorkoutRequest"]["properties"]["end_time"]["anyOf"][0]["format"] == (
        "date-time"
    )


async def test_every_error_response_is_the_one_error_shape(platform: Platform) -> None:
    for method, path, operation in operations(platform.app):
        for status, response in operation["responses"].items():
            if status[0] in "45":
                schema = response["content"]["application/json"]["schema"]
                assert schema == {"$ref": "#/components/schemas/ErrorBody"}, (method, path, status)
    assert "HTTPValidationError" not in platform.app.openapi()["components"]["schemas"]


def own_user(case: Case[Any], user_id: str) -> None:
    """Address the caller's own resources: a random user_id only ever gets a 403."""
    if (case.method.upper(), case.operation.path) in KEEP_RANDOM_USER_ID:
        return
    if "user_id" in (case.path_parameters or {}):
        case.path_parameters = {**(case.path_parameters or {}), "user_id": user_id}


def run_schemathesis(
    document: dict[str, Any], base_url: str, headers: dict[str, str], user_id: str
) -> list[str]:
    """Every operation, positive and negative examples; the failures found, as text."""
    schema = schemathesis.openapi.from_dict(document)
    failures = []
    for result in schema.get_all_operations():
        assert isinstance(result, Ok), result
        operation = result.ok()
        for mode in GenerationMode:
            failure = _check_operation(operation, mode, base_url, headers, user_id)
            if failure:
                failures.append(f"{operation.method.upper()} {operation.path} ({mode}): {failure}")
    return failures


def _check_operation(
    operation: Any, mode: GenerationMode, base_url: str, headers: dict[str, str], user_id: str
) -> str:
    @settings(
        max_examples=EXAMPLES_PER_OPERATION,
        derandomize=True,
        database=None,
        deadline=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy(generation_mode=mode))
    def check(case: Case[Any]) -> None:
        own_user(case, user_id)
        case.call_and_validate(base_url=base_url, headers=headers, checks=CHECKS)

    try:
        check()
    except Unsatisfiable:
        if mode is GenerationMode.POSITIVE:
            return "no valid request can be generated"
        # Nothing to make invalid: the operation takes no parameters and no body.
    except Exception as failure:  # every failure of every operation, not just the first
        return str(failure)[:2000]
    return ""


def run_stateful(
    document: dict[str, Any],
    base_url: str,
    headers: dict[str, str],
    user_id: str,
    reset: Callable[[], None],
) -> list[str]:
    """Chains of calls along the links schemathesis infers (create a goal, then read it...);
    returns every check that failed.

    Failures are collected rather than raised: a chain replayed against a platform that
    kept the first run's state goes differently, which Hypothesis would report as a
    flaky strategy instead of the failure itself. For the same reason each chain starts
    from an empty Redis (``reset``): two chains that begin alike must see the same lists
    (group sessions, devices), or Hypothesis finds its draws diverging and calls the
    strategy flaky.
    """
    workflow = schemathesis.openapi.from_dict(document).as_state_machine()
    failures: list[str] = []

    class Workflow(workflow):  # type: ignore[misc, valid-type]
        def setup(self) -> None:
            reset()

        def before_call(self, case: Case[Any]) -> None:
            own_user(case, user_id)

        def get_call_kwargs(self, case: Case[Any]) -> dict[str, Any]:
            return {"base_url": base_url, "headers": headers}

        def validate_response(self, response: Any, case: Case[Any], **kwargs: Any) -> None:
            try:
                case.validate_response(response, checks=CHECKS, transport_kwargs=kwargs)
            except Exception as failure:  # every failed check of every chain
                failures.append(f"{case.method} {case.formatted_path}: {str(failure)[:2000]}")

    Workflow.run(
        settings=settings(
            max_examples=STATEFUL_SCENARIOS,
            stateful_step_count=6,
            derandomize=True,
            database=None,
            deadline=None,
            phases=[Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
    )
    return failures


# A minute on a loaded two-core machine; the default 120 s leaves too little margin.
@pytest.mark.timeout(300)
async def test_generated_requests_get_documented_answers_and_never_a_5xx(
    health_platform: Platform,
) -> None:
    # With every service running, the health-metrics one too: its answers are checked as well.
    platform = health_platform
    user_id, headers = await register_admin(
        platform.client, platform.user_database_url, "schemathesis"
    )
    document = platform.app.openapi()
    async with served(platform.app) as base_url:
        failures = await asyncio.to_thread(run_schemathesis, document, base_url, headers, user_id)
    assert failures == [], "\n\n".join(failures)


def chains_redis_url(redis_server: str) -> str:
    """The Redis database of the chains' platform, of its own."""
    return redis_server.rsplit("/", 1)[0] + f"/{CHAINS_REDIS_DB}"


def emptier(url: str) -> Callable[[], None]:
    """Empties the Redis database at ``url`` (blocking: the chains run on a thread)."""

    def empty() -> None:
        with SyncRedis.from_url(url) as client:
            client.flushdb()

    return empty


@pytest.fixture
async def fresh_platform(
    tmp_path: Path, jwt_keys: KeyFiles, service_certs: ServiceCerts, redis_server: str
) -> AsyncIterator[Platform]:
    """A platform over a Redis database of its own, empty: what an admin lists (group
    sessions) must not depend on what earlier tests left, or Hypothesis' replay of a
    chain sees other data and calls the strategy flaky."""
    url = chains_redis_url(redis_server)
    client = Redis.from_url(url)
    await client.flushdb()
    await client.aclose()
    async with sqlite_platform(
        tmp_path,
        jwt_keys,
        url,
        certs=service_certs,
    ) as running:
        yield running


# A minute on a loaded two-core machine; the default 120 s leaves too little margin.
@pytest.mark.timeout(300)
async def test_chains_of_linked_requests_get_documented_answers(
    fresh_platform: Platform, redis_server: str
) -> None:
    platform = fresh_platform
    reset = emptier(chains_redis_url(redis_server))
    user_id, headers = await register_admin(platform.client, platform.user_database_url, "stateful")
    document = platform.app.openapi()
    async with served(platform.app) as base_url:
        failures = await asyncio.to_thread(
            run_stateful, document, base_url, headers, user_id, reset
        )
    assert failures == [], "\n\n".join(failures)
