"""End to end: the saga coordinator SIGKILLed at every step boundary, and failing participants.

Real processes (one user service, one activity service, the coordinator) on loopback;
the coordinator is frozen at a chosen boundary by its fault-injection setting, killed
by PID there, restarted, and must finish every saga with each effect applied once.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import grpc
import pytest
from fitness.activity.v1 import activity_service_pb2 as activity_pb
from fitness.activity.v1 import activity_service_pb2_grpc as activity_grpc
from fitness.goal.v1 import goal_pb2
from fitness.saga.v1 import saga_service_pb2 as saga_pb
from fitness.saga.v1 import saga_service_pb2_grpc as saga_grpc
from fitness.user.v1 import user_service_pb2 as user_pb
from fitness.user.v1 import user_service_pb2_grpc as user_grpc

from deploy.certs import component_files
from deploy.local import (
    ProcessSpec,
    Supervisor,
    Topology,
    build_topology,
    certs_dir,
    prepare,
    settings_on_free_ports,
)
from services.common.tls import secure_channel
from services.common.trust import ACTIVITY, GATEWAY, SAGA, USER

SOON = (datetime.now(UTC).date() + timedelta(days=13)).isoformat()
FINISHED = {
    saga_pb.SAGA_STATUS_COMPLETED,
    saga_pb.SAGA_STATUS_COMPENSATED,
    saga_pb.SAGA_STATUS_NEEDS_ATTENTION,
}


@dataclass
class Participants:
    """The running user and activity services and how to reach them."""

    supervisor: Supervisor
    users: user_grpc.UserServiceStub
    activity: activity_grpc.ActivityServiceStub
    saga_spec: ProcessSpec
    root: Path

    def new_user(self) -> str:
        name = f"u{uuid.uuid4().hex[:10]}"
        request = user_pb.RegisterUserRequest(
            request_id=name, username=name, email=f"{name}@example.com", password="s3cret-pass"
        )
        return str(self.users.RegisterUser(request, timeout=10).user.user_id)

    def start_coordinator(self, **env: str) -> saga_grpc.SagaCoordinatorServiceStub:
        spec = ProcessSpec("saga", self.saga_spec.argv, {**self.saga_spec.env, **env}, [])
        self.supervisor.start(spec)
        target = f"127.0.0.1:{self.saga_spec.env['SAGA_PORT']}"
        channel = gateway_channel(self.supervisor.topology, target, SAGA)
        grpc.channel_ready_future(channel).result(timeout=20)
        return saga_grpc.SagaCoordinatorServiceStub(channel)

    def goals(self, user_id: str) -> list[user_pb.Goal]:
        request = user_pb.ListGoalsRequest(user_id=user_id)
        return list(self.users.ListGoals(request, timeout=5).goals)

    def suggestions(self, user_id: str) -> list[activity_pb.Suggestion]:
        request = activity_pb.GetSuggestionsRequest(user_id=user_id)
        return list(self.activity.GetSuggestions(request, timeout=5).suggestions)


def gateway_channel(topology: Topology, target: str, server: str) -> grpc.Channel:
    """An mTLS channel to the component ``server``, presenting the gateway's certificate."""
    files = component_files(certs_dir(topology.settings.data_dir.resolve()), GATEWAY)
    return secure_channel(target, files, server)


@pytest.fixture(scope="module")
def participants(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Participants]:
    root = tmp_path_factory.mktemp("sagas")
    topology = build_topology(settings_on_free_ports(root / "data", instances=1))
    prepare(topology)
    supervisor = Supervisor(topology, log_dir=root / "logs")
    for name in ("user-1", "activity-1"):
        supervisor.start(supervisor.spec(name))
    env = topology.specs
    users = gateway_channel(topology, topology.user_addresses()[0], USER)
    activity = gateway_channel(topology, topology.activity_addresses()[0], ACTIVITY)
    try:
        for channel in (users, activity):
            grpc.channel_ready_future(channel).result(timeout=30)
        yield Participants(
            supervisor,
            user_grpc.UserServiceStub(users),
            activity_grpc.ActivityServiceStub(activity),
            next(s for s in env if s.name == "saga"),
            root,
        )
    finally:
        supervisor.stop_all()


def wait_for_file(path: Path, within: float = 20.0) -> str:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if path.exists() and path.read_text():
            return path.read_text()
        time.sleep(0.05)
    raise TimeoutError(f"{path} never appeared")


def finished_saga(
    sagas: saga_grpc.SagaCoordinatorServiceStub, saga_id: str, within: float = 30.0
) -> saga_pb.Saga:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        saga: saga_pb.Saga = sagas.GetSaga(saga_pb.GetSagaRequest(saga_id=saga_id), timeout=5)
        if saga.status in FINISHED:
            return saga
        time.sleep(0.1)
    raise TimeoutError(f"saga {saga_id} did not finish")


def create_request(user_id: str, target_value: float = 300) -> saga_pb.CreateGoalRequest:
    return saga_pb.CreateGoalRequest(
        request_id=f"saga-{uuid.uuid4().hex}",
        user_id=user_id,
        goal_type=goal_pb2.GOAL_TYPE_ACTIVE_MINUTES,
        target_value=target_value,
        target_date=SOON,
    )


def start_without_waiting(sagas: saga_grpc.SagaCoordinatorServiceStub, request: object) -> None:
    """Start a saga with a deadline too short to see it finish."""
    method = getattr(sagas, type(request).__name__.removesuffix("Request"))
    call = method.future(request, timeout=0.5)
    expected = (grpc.StatusCode.OK, grpc.StatusCode.DEADLINE_EXCEEDED, grpc.StatusCode.UNAVAILABLE)
    assert call.code() in expected


def crash_at(participants: Participants, boundary: str, request: object) -> str:
    """Start the saga on a coordinator frozen at ``boundary``, SIGKILL it there; return the id."""
    marker = participants.root / f"frozen-{uuid.uuid4().hex}"
    sagas = participants.start_coordinator(SAGA_FREEZE_AT=boundary, SAGA_FREEZE_MARKER=str(marker))
    start_without_waiting(sagas, request)
    assert wait_for_file(marker) == boundary
    participants.supervisor.kill("saga")
    return str(request.request_id)  # type: ignore[attr-defined]


FORWARD_BOUNDARIES = [
    f"create_goal/{step}/action/{when}"
    for step in ("prepare_goal_change", "plan_suggestions", "commit_goal_change")
    for when in ("before", "after")
]


@pytest.mark.parametrize("boundary", FORWARD_BOUNDARIES)
def test_a_goal_saga_killed_at_any_forward_boundary_completes_once_after_restart(
    participants: Participants, boundary: str
) -> None:
    user_id = participants.new_user()
    request = create_request(user_id)
    saga_id = crash_at(participants, boundary, request)
    sagas = participants.start_coordinator()
    try:
        saga = finished_saga(sagas, saga_id)
        assert saga.status == saga_pb.SAGA_STATUS_COMPLETED, saga
        [goal] = participants.goals(user_id)
        assert goal.goal_id == saga.goal_id
        assert goal.pending_operation == user_pb.GOAL_OPERATION_UNSPECIFIED
        [suggestion] = participants.suggestions(user_id)
        assert suggestion.goal_id == goal.goal_id
        again = sagas.CreateGoal(request, timeout=5)
        assert (again.saga_id, again.status) == (saga_id, saga_pb.SAGA_STATUS_COMPLETED)
        assert len(participants.goals(user_id)) == 1
    finally:
        participants.supervisor.kill("saga")


COMPENSATION_BOUNDARIES = [
    "create_goal/plan_suggestions/action/before",
    "create_goal/prepare_goal_change/compensation/before",
    "create_goal/prepare_goal_change/compensation/after",
]


@pytest.mark.parametrize("boundary", COMPENSATION_BOUNDARIES)
def test_a_refused_goal_saga_killed_at_any_boundary_is_compensated_after_restart(
    participants: Participants, boundary: str
) -> None:
    user_id = participants.new_user()
    infeasible = create_request(user_id, target_value=50_000)
    saga_id = crash_at(participants, boundary, infeasible)
    sagas = participants.start_coordinator()
    try:
        saga = finished_saga(sagas, saga_id)
        assert saga.status == saga_pb.SAGA_STATUS_COMPENSATED, saga
        assert saga.failure_code == "FAILED_PRECONDITION"
        assert participants.goals(user_id) == []
        assert participants.suggestions(user_id) == []
    finally:
        participants.supervisor.kill("saga")


def test_an_update_killed_after_its_commit_applies_the_new_target_once(
    participants: Participants,
) -> None:
    user_id = participants.new_user()
    sagas = participants.start_coordinator()
    created = sagas.CreateGoal(create_request(user_id), timeout=10)
    participants.supervisor.kill("saga")
    update = saga_pb.UpdateGoalRequest(
        request_id=f"saga-{uuid.uuid4().hex}",
        user_id=user_id,
        goal_id=created.goal_id,
        target_value=450,
        target_date=SOON,
    )
    saga_id = crash_at(participants, "update_goal/commit_goal_change/action/after", update)
    sagas = participants.start_coordinator()
    try:
        saga = finished_saga(sagas, saga_id)
        assert saga.status == saga_pb.SAGA_STATUS_COMPLETED
        [goal] = participants.goals(user_id)
        assert (goal.target_value, goal.pending_saga_id) == (450, "")
        [suggestion] = participants.suggestions(user_id)
        assert suggestion.target_value == 450
    finally:
        participants.supervisor.kill("saga")


def test_a_participant_down_for_a_while_is_retried_until_the_saga_completes(
    participants: Participants,
) -> None:
    user_id = participants.new_user()
    sagas = participants.start_coordinator(SAGA_MAX_ATTEMPTS="40", SAGA_RETRY_MAX_DELAY="0.5")
    participants.supervisor.kill("activity-1")
    try:
        request = create_request(user_id)
        start_without_waiting(sagas, request)
        time.sleep(1.5)
        restart_activity(participants)
        saga = finished_saga(sagas, request.request_id)
        assert saga.status == saga_pb.SAGA_STATUS_COMPLETED
        history = sagas.GetSaga(saga_pb.GetSagaRequest(saga_id=request.request_id), timeout=5)
        outcomes = [(e.step, e.outcome) for e in history.events]
        assert ("plan_suggestions", "retry_scheduled") in outcomes
        assert len(participants.goals(user_id)) == 1
        assert len(participants.suggestions(user_id)) == 1
    finally:
        participants.supervisor.kill("saga")


def test_a_participant_that_stays_down_gets_the_saga_compensated_once_it_is_back(
    participants: Participants,
) -> None:
    user_id = participants.new_user()
    sagas = participants.start_coordinator(SAGA_MAX_ATTEMPTS="3", SAGA_RETRY_MAX_DELAY="0.2")
    participants.supervisor.kill("activity-1")
    try:
        request = create_request(user_id)
        start_without_waiting(sagas, request)
        # The plan step gave up; its possible effect must be undone, so undoing waits too.
        until_status(sagas, request.request_id, saga_pb.SAGA_STATUS_COMPENSATING)
        restart_activity(participants)
        saga = finished_saga(sagas, request.request_id)
        assert saga.status == saga_pb.SAGA_STATUS_COMPENSATED
        assert saga.failure_code in ("UNAVAILABLE", "UNKNOWN", "DEADLINE_EXCEEDED")
        assert participants.goals(user_id) == []
        assert participants.suggestions(user_id) == []
    finally:
        participants.supervisor.kill("saga")
        restart_activity(participants)


def test_a_saga_that_cannot_be_undone_in_time_needs_attention(
    participants: Participants,
) -> None:
    user_id = participants.new_user()
    sagas = participants.start_coordinator(
        SAGA_MAX_ATTEMPTS="2", SAGA_COMPENSATION_MAX_ATTEMPTS="2", SAGA_RETRY_MAX_DELAY="0.1"
    )
    participants.supervisor.kill("activity-1")
    try:
        request = create_request(user_id)
        start_without_waiting(sagas, request)
        saga = finished_saga(sagas, request.request_id)
        assert saga.status == saga_pb.SAGA_STATUS_NEEDS_ATTENTION
        assert saga.current_step == ""
        assert "plan_suggestions" in [
            e.step
            for e in sagas.GetSaga(
                saga_pb.GetSagaRequest(saga_id=request.request_id), timeout=5
            ).events
            if e.outcome == "gave_up"
        ]
    finally:
        participants.supervisor.kill("saga")
        restart_activity(participants)


def until_status(
    sagas: saga_grpc.SagaCoordinatorServiceStub, saga_id: str, status: int, within: float = 20.0
) -> None:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if sagas.GetSaga(saga_pb.GetSagaRequest(saga_id=saga_id), timeout=5).status == status:
            return
        time.sleep(0.05)
    raise TimeoutError(f"saga {saga_id} never reached {status}")


def restart_activity(participants: Participants) -> None:
    process = participants.supervisor.processes["activity-1"]
    if process.poll() is None:
        return
    participants.supervisor.start(participants.supervisor.spec("activity-1"))
    topology = participants.supervisor.topology
    channel = gateway_channel(topology, topology.activity_addresses()[0], ACTIVITY)
    grpc.channel_ready_future(channel).result(timeout=30)
    channel.close()
