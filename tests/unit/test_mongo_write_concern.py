"""Every MongoDB write of the activity service waits for a majority and is retryable.

mongomock accepts write concerns and ignores them, so the adapters run over a recording
fake: a wrapper of the mongomock database whose collections and sessions note the write
concern in force for each write call (the collection's, or inside a transaction the
transaction's, resolved as pymongo does) and the adapter line that made it. The write
call sites are read from the adapters' source, so a write added later is covered or
the coverage test fails. What only a real replica set can prove is in docs/activity.md.
"""

from __future__ import annotations

import ast
import inspect
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from types import ModuleType
from typing import Any, cast

import mongomock_ng
import pytest
from pymongo.database import Database
from pymongo.read_concern import ReadConcern
from pymongo.write_concern import WriteConcern

from services.activity import mongo_repository, outbox_mongo
from services.activity.config import ActivitySettings
from services.activity.domain import WorkoutSession
from services.activity.export import EXPORT_TIMEOUT_MS, connect_mongo
from services.activity.mongo_repository import Document, MongoWorkoutRepository, connect
from services.activity.outbox_mongo import MongoProgressOutbox
from services.activity.suggestions import GoalPlan
from services.common.goal_types import GoalType

ADAPTERS = (mongo_repository, outbox_mongo)
# pymongo Collection methods that only read; any other method an adapter calls on a
# collection counts as a write (so an unknown one must show majority too).
READS = frozenset(
    {"find", "find_one", "aggregate", "count_documents", "estimated_document_count", "distinct"}
)
MAJORITY = {"w": "majority"}
T0 = datetime(2030, 1, 1, 8, 0, tzinfo=UTC)
Site = tuple[str, int, int]  # file, first and last line of the call


@dataclass(frozen=True)
class Write:
    """One write call as the store received it."""

    collection: str
    method: str
    file: str
    line: int
    write_concern: dict[str, Any]
    in_transaction: bool


@dataclass(frozen=True)
class Transaction:
    """One with_transaction call and the concerns it runs under."""

    write_concern: dict[str, Any]
    read_concern: dict[str, Any]


@dataclass
class Recorder:
    """What the fake saw."""

    writes: list[Write] = field(default_factory=list)
    transactions: list[Transaction] = field(default_factory=list)


class RecordingSession:
    """A mongomock session that resolves each transaction's concerns as pymongo does."""

    def __init__(self, inner: Any, client: RecordingClient) -> None:
        self.inner = inner
        self._client = client
        self.current: Transaction | None = None

    def with_transaction(
        self, callback: Callable[[Any], Any], read_concern: Any = None, write_concern: Any = None
    ) -> Any:
        """Run the callback in a transaction; explicit, then session, then client concerns."""
        defaults = self.inner.options.default_transaction_options
        write = write_concern or (defaults and defaults.write_concern) or self._client.write_concern
        read = read_concern or (defaults and defaults.read_concern) or self._client.read_concern
        self.current = Transaction(write.document, read.document)
        self._client.recorder.transactions.append(self.current)
        try:
            return self.inner.with_transaction(lambda _: callback(self))
        finally:
            self.current = None

    def __enter__(self) -> RecordingSession:
        self.inner.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self.inner.__exit__(*exc)


class RecordingClient:
    """The client side the adapters reach through ``db.client``: sessions."""

    def __init__(self, inner: Any, recorder: Recorder) -> None:
        self.inner = inner
        self.recorder = recorder
        # pymongo's defaults for a client given none (mongomock's has no such attributes).
        self.write_concern = WriteConcern()
        self.read_concern = ReadConcern()

    def start_session(self, **options: Any) -> RecordingSession:
        """A recording session over a mongomock one."""
        return RecordingSession(self.inner.start_session(**options), self)


class RecordingCollection:
    """A mongomock collection that records every write call with its write concern."""

    def __init__(self, inner: Any, recorder: Recorder) -> None:
        self._inner = inner
        self._recorder = recorder

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self._inner, name)
        if name in READS or name.startswith("_") or not callable(attribute):
            return self._unwrapping(attribute) if callable(attribute) else attribute
        return self._recording(name, attribute)

    def _recording(self, name: str, method: Callable[..., Any]) -> Callable[..., Any]:
        def write(*args: Any, **kwargs: Any) -> Any:
            caller = sys._getframe(1)
            session = kwargs.get("session")
            tx = session.current if isinstance(session, RecordingSession) else None
            concern = tx.write_concern if tx else self._inner.write_concern.document
            self._recorder.writes.append(
                Write(
                    self._inner.name,
                    name,
                    caller.f_code.co_filename,
                    caller.f_lineno,
                    concern,
                    tx is not None,
                )
            )
            return method(*args, **_unwrapped(kwargs))

        return write

    @staticmethod
    def _unwrapping(method: Callable[..., Any]) -> Callable[..., Any]:
        return lambda *args, **kwargs: method(*args, **_unwrapped(kwargs))


def _unwrapped(kwargs: dict[str, Any]) -> dict[str, Any]:
    session = kwargs.get("session")
    if isinstance(session, RecordingSession):
        return {**kwargs, "session": session.inner}
    return kwargs


class RecordingDatabase:
    """A mongomock database handing out recording collections and sessions."""

    def __init__(self, recorder: Recorder) -> None:
        client: Any = mongomock_ng.MongoClient(tz_aware=True)
        self._inner = client["fitness_activity"]
        self._recorder = recorder
        self.client = RecordingClient(client, recorder)
        self.write_concern = self.client.write_concern  # as a handle given no options

    def get_collection(
        self, name: str, write_concern: Any = None, read_concern: Any = None
    ) -> RecordingCollection:
        """The collection with the concerns asked for, else the database's, recording."""
        # Built afresh: mongomock would hand back a cached handle with earlier options.
        inner = self._inner.get_collection(name).with_options(
            write_concern=write_concern or self.write_concern,
            read_concern=read_concern or self.client.read_concern,
        )
        return RecordingCollection(inner, self._recorder)

    def __getitem__(self, name: str) -> RecordingCollection:
        return self.get_collection(name)


def write_call_sites(module: ModuleType) -> set[Site]:
    """Every ``self._<collection>.<method>(...)`` call in the module that is not a read."""
    source = inspect.getsource(module)
    # A collection attribute is one the constructor derives from its ``db`` argument.
    collections = {
        target.attr
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.Assign)
        and any(isinstance(n, ast.Name) and n.id == "db" for n in ast.walk(node.value))
        for target in node.targets
        if isinstance(target, ast.Attribute)
    }
    file = inspect.getfile(module)
    return {
        (file, node.lineno, node.end_lineno or node.lineno)
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and isinstance(node.func.value, ast.Attribute)
        and isinstance(node.func.value.value, ast.Name)
        and node.func.value.value.id == "self"
        and node.func.value.attr in collections
        and node.func.attr not in READS
    }


def session(n: int, user: str = "u1") -> WorkoutSession:
    return WorkoutSession(f"s{n}", user, "running", T0 + timedelta(minutes=n), weight_kg=70.0)


def plan(request_id: str) -> GoalPlan:
    return GoalPlan(
        "g1", "u1", GoalType.CALORIES_BURNED, 300, date(2030, 2, 1), T0, True, request_id
    )


def every_write(repo: MongoWorkoutRepository, outbox: MongoProgressOutbox) -> None:
    """Each write use case of both adapters, down each of their write branches."""
    repo.ensure_indexes()
    for n in (1, 2, 3):
        repo.add_session(session(n), f"start-{n}")
        repo.complete_session(f"s{n}", T0 + timedelta(hours=n), 600.0, 98.0, f"end-{n}")
    repo.add_session(session(1), "start-1")  # a retry: a read, no write
    repo.put_plan(plan("put-1"))  # creates the plan
    repo.put_plan(plan("put-2"))  # replaces it, keeping the previous one
    repo.restore_plan("g1", "put-2")  # puts the previous one back
    repo.restore_plan("g1", "put-1")  # removes the plan the first put created
    now = T0 + timedelta(days=1)
    first, second, third = outbox.claim_progress("relay-1", now, timedelta(seconds=30), 3)
    outbox.progress_delivered(first.event_id, now)
    outbox.retry_progress(second.event_id, "relay-1", now + timedelta(minutes=1), "boom")
    outbox.prune_delivered(now + timedelta(days=8), 10)
    repo.delete_user_data("u1")
    assert third.user_id == "u1"


@pytest.fixture
def recorder() -> Recorder:
    """Both adapters over one recording database, every write use case driven through them."""
    recorder = Recorder()
    db = cast("Database[Document]", RecordingDatabase(recorder))
    every_write(MongoWorkoutRepository(db), MongoProgressOutbox(db))
    return recorder


def test_every_write_call_site_of_the_adapters_is_exercised(recorder: Recorder) -> None:
    sites = set().union(*(write_call_sites(module) for module in ADAPTERS))
    missed = {
        site
        for site in sites
        if not any(w.file == site[0] and site[1] <= w.line <= site[2] for w in recorder.writes)
    }
    assert len(sites) >= 15
    assert missed == set()


def test_every_write_waits_for_a_majority(recorder: Recorder) -> None:
    weaker = [w for w in recorder.writes if w.write_concern != MAJORITY]
    assert recorder.writes
    assert weaker == []


def test_writes_reach_every_collection_of_the_activity_store(recorder: Recorder) -> None:
    collections = {w.collection for w in recorder.writes}
    assert collections == {"workout_sessions", "user_statistics", "goal_plans", "progress_outbox"}


def test_ending_a_session_writes_in_a_majority_transaction_with_majority_reads(
    recorder: Recorder,
) -> None:
    in_tx = {(w.collection, w.method) for w in recorder.writes if w.in_transaction}
    assert len(recorder.transactions) == 3
    assert {tx.write_concern.get("w") for tx in recorder.transactions} == {"majority"}
    assert {tx.read_concern.get("level") for tx in recorder.transactions} == {"majority"}
    assert in_tx == {
        ("workout_sessions", "find_one_and_update"),
        ("user_statistics", "update_one"),
        ("progress_outbox", "insert_one"),
    }


def test_the_client_from_the_settings_writes_to_a_majority_retries_and_bounds_its_waits() -> None:
    settings = ActivitySettings(
        store="mongo", mongo_url="mongodb://m1:27017,m2:27017,m3:27017/?replicaSet=rs0"
    )
    db = connect(settings.mongo_url, settings.mongo_database)
    try:
        assert db.client.options.retry_writes is True
        assert db.client.options.retry_reads is True
        assert db.client.write_concern.document == MAJORITY
        assert db.client.read_concern.level == "majority"
        assert db.write_concern.document == MAJORITY
        assert db.read_concern.level == "majority"
        assert db.client.options.server_selection_timeout == 2.0
        assert db.client.options.timeout == 3.0
    finally:
        db.client.close()


def test_a_url_asking_for_weaker_writes_or_longer_waits_is_overridden() -> None:
    url = (
        "mongodb://m1:27017/?replicaSet=rs0&w=1&retryWrites=false"
        "&serverSelectionTimeoutMS=30000&timeoutMS=0"
    )
    db = connect(url, "fitness_activity")
    try:
        assert db.client.options.retry_writes is True
        assert db.client.write_concern.document == MAJORITY
        assert db.client.options.server_selection_timeout == 2.0
        assert db.client.options.timeout == 3.0
    finally:
        db.client.close()


def test_the_nightly_export_reads_with_a_long_bound_but_finds_a_server_as_fast() -> None:
    export = connect_mongo("mongodb://m1:27017/?replicaSet=rs0", "fitness_activity")
    client = export._sessions.database.client
    try:
        assert client.options.timeout == EXPORT_TIMEOUT_MS / 1000  # big batches, not 3 s
        assert client.options.server_selection_timeout == 2.0
        assert client.read_concern.level == "majority"
    finally:
        client.close()
