"""The OpenAPI document, completed with what routes share instead of each route repeating it.

A route declares its own business errors (``responses=errors(404, 409)``); this module
adds the ones that follow from what it uses, so routes added later get them too: 422 for
any parameter or body, 413 for a body, 401/403 for the auth dependencies, 502/503/504
for upstream calls, 503 for Redis, and the Idempotency-Key header with its answers on
the idempotent routes. FastAPI's own 422 schema (``{"detail": [...]}``) is replaced by
the one error shape the gateway really sends.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.openapi.utils import get_openapi
from fastapi.routing import APIRoute, iter_route_contexts
from starlette.routing import BaseRoute

from gateway.edge.auth import current_admin, current_analyst, current_principal, current_user
from gateway.edge.dependencies import creating_user, upstreams
from gateway.edge.idempotency import IDEMPOTENT_ROUTES
from gateway.realtime.live import live

ERROR_REF = {"$ref": "#/components/schemas/ErrorBody"}
RETRY_AFTER = {
    "Retry-After": {"description": "Seconds to wait before retrying", "schema": {"type": "string"}}
}
# The errors a route can give because it depends on something.
DEPENDENCY_ERRORS: dict[Callable[..., Any], tuple[int, ...]] = {
    current_user: (401,),
    creating_user: (401, 429),
    current_principal: (401,),  # its 403 (require_self_or_admin) is the route's own
    current_admin: (401, 403),
    current_analyst: (401, 403),
    upstreams: (502, 503, 504),
    live: (503,),
}
IDEMPOTENCY_ERRORS = (400, 409, 422, 503)
IDEMPOTENCY_HEADER = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": False,
    "description": "Makes retries safe: the same key and request get the first answer again",
    "schema": {"type": "string", "minLength": 1, "maxLength": 255, "pattern": "^[!-~]+$"},
}
_FASTAPI_VALIDATION = ("HTTPValidationError", "ValidationError")


def install_openapi(app: FastAPI) -> None:
    """Make ``app.openapi()`` (and so /openapi.json and /docs) serve the completed document."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(
                title=app.title,
                version=app.version,
                description=app.description,
                routes=app.routes,
            )
            app.openapi_schema = complete(schema, app.routes)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def complete(schema: dict[str, Any], routes: list[BaseRoute]) -> dict[str, Any]:
    """Add the shared error responses and headers to every operation of ``routes``."""
    for route in iter_route_contexts(routes):
        if not isinstance(route.original_route, APIRoute) or not route.include_in_schema:
            continue
        for method in route.methods or ():
            operation = schema["paths"].get(route.path_format, {}).get(method.lower())
            if operation is not None:
                _complete_operation(operation, route.dependant, route.path_format or "", method)
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    for name in _FASTAPI_VALIDATION:
        components.pop(name, None)
    return schema


def _complete_operation(
    operation: dict[str, Any], dependant: Dependant, path: str, method: str
) -> None:
    statuses: set[int] = set()
    for call in _calls(dependant):
        statuses.update(DEPENDENCY_ERRORS.get(call, ()))
    if operation.get("parameters") or "requestBody" in operation:
        statuses.add(422)
    if "requestBody" in operation:
        statuses.add(413)
    if _idempotent(path, method):
        statuses.update(IDEMPOTENCY_ERRORS)
        operation.setdefault("parameters", []).append(IDEMPOTENCY_HEADER)
    responses = operation.setdefault("responses", {})
    for status in sorted(statuses):
        responses.setdefault(str(status), {"description": HTTPStatus(status).phrase})
    for status, response in responses.items():
        if status.startswith(("4", "5")):
            response["content"] = {"application/json": {"schema": ERROR_REF}}
            if status in ("409", "429", "503"):
                response.setdefault("headers", RETRY_AFTER)


def _calls(dependant: Dependant) -> Iterator[Callable[..., Any]]:
    for sub in dependant.dependencies:
        if sub.call is not None:
            yield sub.call
        yield from _calls(sub)


def _idempotent(path: str, method: str) -> bool:
    # The route table matches concrete paths; a template's {param} stands for one segment.
    return any(method == m and pattern.match(path) for m, pattern in IDEMPOTENT_ROUTES)
