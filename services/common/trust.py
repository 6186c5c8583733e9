"""Who may call what: the platform's components, the call matrix and the server-side check.

A caller is identified by the common name of the client certificate it presented in the
mutual-TLS handshake (the platform's CA issued it; ``deploy/certs.py``). The handshake
already refused anyone without such a certificate; this module decides, per RPC, which
of the authenticated components may make the call. The matrix is written out in
docs/architecture.md ("Trust model"); keep the two in step.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import TYPE_CHECKING, Any, cast

import grpc

if TYPE_CHECKING:  # grpc_runtime builds its servers with this module's interceptor
    from services.common.grpc_runtime import Behavior, Context, Handler

log = logging.getLogger(__name__)

USER = "user"
ACTIVITY = "activity"
SAGA = "saga"
WATCH_LOGS = "watch_logs"
MOTION = "motion"
HEALTH = "health"
GATEWAY = "gateway"
# Every component that holds a certificate; the ETL reads the stores, not the services.
COMPONENTS = (USER, ACTIVITY, SAGA, WATCH_LOGS, MOTION, HEALTH, GATEWAY)

USER_SERVICE = "fitness.user.v1.UserService"
ACTIVITY_SERVICE = "fitness.activity.v1.ActivityService"
SAGA_SERVICE = "fitness.saga.v1.SagaCoordinatorService"
WATCH_LOG_SERVICE = "fitness.watch_logs.v1.WatchLogService"
MOTION_SERVICE = "fitness.motion.v1.MotionService"
HEALTH_SERVICE = "fitness.health.v1.HealthMetricsService"

# Any authenticated component may ask these (health checks, grpcurl-style discovery).
OPEN_SERVICES = frozenset({"grpc.health.v1.Health", "grpc.reflection.v1alpha.ServerReflection"})
# Who may call a service's RPCs that RPC_CALLERS does not name: the gateway, which serves
# the public API. Services missing here take no calls at all.
SERVICE_CALLERS: Mapping[str, frozenset[str]] = {
    USER_SERVICE: frozenset({GATEWAY}),
    ACTIVITY_SERVICE: frozenset({GATEWAY}),
    SAGA_SERVICE: frozenset({GATEWAY}),
    WATCH_LOG_SERVICE: frozenset({GATEWAY}),
    MOTION_SERVICE: frozenset({GATEWAY}),
    HEALTH_SERVICE: frozenset({GATEWAY}),
}
# RPCs with callers of their own. The saga's steps are the saga's alone; the user
# service's GetUser (which returns the e-mail) is also open to the activity service,
# which reads body weights and checks that users exist with it; RecordWorkoutProgress
# is the activity service's progress relay's alone (it drains the outbox).
SAGA_STEPS = (
    f"/{USER_SERVICE}/PrepareGoalChange",
    f"/{USER_SERVICE}/CommitGoalChange",
    f"/{USER_SERVICE}/CancelGoalChange",
    f"/{USER_SERVICE}/BeginUserDeletion",
    f"/{USER_SERVICE}/CancelUserDeletion",
    f"/{USER_SERVICE}/EraseUser",
    f"/{ACTIVITY_SERVICE}/PutGoalPlan",
    f"/{ACTIVITY_SERVICE}/RestoreGoalPlan",
    f"/{ACTIVITY_SERVICE}/DeleteUserActivity",
)
RPC_CALLERS: Mapping[str, frozenset[str]] = {
    f"/{USER_SERVICE}/GetUser": frozenset({GATEWAY, ACTIVITY}),
    f"/{USER_SERVICE}/RecordWorkoutProgress": frozenset({ACTIVITY}),
    **{step: frozenset({SAGA}) for step in SAGA_STEPS},
}


def service_of(method: str) -> str:
    """``fitness.user.v1.UserService`` of ``/fitness.user.v1.UserService/GetUser``."""
    return method.strip("/").split("/", 1)[0]


def allowed_callers(method: str) -> frozenset[str] | None:
    """The components that may call ``method``; None when any authenticated one may."""
    service = service_of(method)
    if service in OPEN_SERVICES:
        return None
    if method in RPC_CALLERS:
        return RPC_CALLERS[method]
    return SERVICE_CALLERS.get(service, frozenset())


def may_call(caller: str, method: str) -> bool:
    """Whether the component ``caller`` may call ``method``."""
    callers = allowed_callers(method)
    return callers is None or caller in callers


def peer_component(context: Context) -> str:
    """The component named by the caller's client certificate ('' if none was presented)."""
    names = context.auth_context().get("x509_common_name", ())
    return next(iter(names), b"").decode()


class AuthorizationInterceptor(grpc.aio.ServerInterceptor):  # type: ignore[misc]
    """Refuses with PERMISSION_DENIED every call the matrix does not give to its caller."""

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[Handler | None]],
        details: grpc.HandlerCallDetails,
    ) -> Handler | None:
        """Guard unary RPCs; streaming ones exist only on the open services."""
        handler = await continuation(details)
        method = details.method
        callers = allowed_callers(method)
        if handler is None or callers is None:
            return handler
        if handler.unary_unary is None:
            # Fail closed: a streaming RPC on a guarded service would otherwise pass
            # unchecked, so it is answered UNIMPLEMENTED until it gets a guard.
            return None
        return grpc.unary_unary_rpc_method_handler(
            _guarded(cast("Behavior", handler.unary_unary), method, callers),
            request_deserializer=handler.request_deserializer,
            response_serializer=handler.response_serializer,
        )


def _guarded(behavior: Behavior, method: str, callers: frozenset[str]) -> Behavior:
    async def guarded(request: Any, context: Context) -> Any:
        caller = peer_component(context)
        if caller not in callers:
            log.warning("rpc refused", extra={"caller": caller, "method": method})
            await context.abort(
                grpc.StatusCode.PERMISSION_DENIED,
                f"{caller or 'a caller without a certificate'} may not call {method}",
            )
        return await behavior(request, context)

    return guarded
