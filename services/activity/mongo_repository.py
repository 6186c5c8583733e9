"""WorkoutRepository on MongoDB (pymongo): the production store.

Every write waits for a majority of the replica set and is retried once across a
failover: the client from ``connect`` says so, and each collection and transaction
repeats it, so a database handle built elsewhere cannot weaken it. Ending a session,
updating the owner's statistics and queueing its progress run in one multi-document
transaction, which needs a replica set. Every operation is bounded (server selection,
then the whole operation with its retry and majority wait), and a failover's errors leave
every adapter method as DatabaseUnavailable, so the caller is answered UNAVAILABLE.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict
from datetime import UTC, date, datetime, time
from typing import Any

import pymongo
from pymongo import ASCENDING, DESCENDING, MongoClient, ReturnDocument
from pymongo.client_session import ClientSession
from pymongo.collection import Collection
from pymongo.database import Database
from pymongo.errors import ConnectionFailure, DuplicateKeyError, PyMongoError
from pymongo.read_concern import ReadConcern
from pymongo.write_concern import WriteConcern

from services.activity.domain import Cursor, Statistics, WorkoutSession, progress_request_id
from services.activity.suggestions import GoalPlan, Totals
from services.common.db import DatabaseUnavailable
from services.common.goal_types import GoalType
from services.common.logs import request_id_var
from services.common.timeutil import Clock, as_utc, utc_now

Document = dict[str, Any]
OUTBOX = "progress_outbox"  # drained by outbox_mongo.MongoProgressOutbox


# A write acknowledged by a majority survives an election; one acknowledged by the
# primary alone can be rolled back when a new primary is elected without it.
MAJORITY = WriteConcern("majority")
MAJORITY_READS = ReadConcern("majority")
# pymongo's defaults wait 30 s for a primary and forever for a majority: a worker thread
# would hang through an election or a lost majority. Finding a primary may take 2 s; the
# whole operation (selection, its one retry, the majority wait: pymongo's CSOT timeoutMS)
# 3 s, the gateway's deadline, after which nobody waits for the answer anyway.
SERVER_SELECTION_TIMEOUT_MS = 2000
OPERATION_TIMEOUT_MS = 3000
# Labels of an error another primary, or the same one soon, would not give.
UNAVAILABLE_LABELS = ("RetryableWriteError", "TransientTransactionError")
UNKNOWN_COMMIT = "UnknownTransactionCommitResult"


def client(url: str, timeout_ms: int = OPERATION_TIMEOUT_MS) -> MongoClient[Document]:
    """A client with majority writes and reads, retryable writes and bounded waits.

    ``timeout_ms`` bounds each operation (each batch of a cursor); a batch job reading
    large aggregations (the ETL) passes a longer one.
    """
    # Keyword options override the URL's; connect=False defers I/O to the first operation.
    return MongoClient(
        url,
        w="majority",
        readConcernLevel="majority",
        retryWrites=True,
        retryReads=True,
        serverSelectionTimeoutMS=SERVER_SELECTION_TIMEOUT_MS,
        timeoutMS=timeout_ms,
        tz_aware=True,
        connect=False,
    )


def is_unavailable(error: PyMongoError) -> bool:
    """Whether a pymongo error means "not now, try again": no primary, no majority, a timeout.

    ConnectionFailure covers AutoReconnect, NotPrimaryError, NetworkTimeout and
    ServerSelectionTimeoutError; ``timeout`` is set on WTimeoutError and ExecutionTimeout
    (CSOT's timeoutMS expiring); the labels mark a stepdown cut short or a commit whose
    outcome is unknown (a retry with the same request_id settles it).
    """
    if isinstance(error, ConnectionFailure) or error.timeout:
        return True
    return any(error.has_error_label(label) for label in (*UNAVAILABLE_LABELS, UNKNOWN_COMMIT))


@contextmanager
def unavailable_on_failover() -> Iterator[None]:
    """Raise DatabaseUnavailable for a failover's errors; also a decorator of adapter methods."""
    try:
        yield
    except PyMongoError as error:
        if not is_unavailable(error):
            raise
        first_line = (str(error).strip().splitlines() or [type(error).__name__])[0]
        raise DatabaseUnavailable(f"database unavailable: {first_line}") from error


def connect(url: str, database: str, timeout_ms: int = OPERATION_TIMEOUT_MS) -> Database[Document]:
    """A database handle with majority reads and writes, retryable writes, bounded waits."""
    handle = client(url, timeout_ms)
    return handle.get_database(database, write_concern=MAJORITY, read_concern=MAJORITY_READS)


def collection(db: Database[Document], name: str) -> Collection[Document]:
    """The named collection with majority writes and reads, on any database handle."""
    return db.get_collection(name, write_concern=MAJORITY, read_concern=MAJORITY_READS)


class MongoWorkoutRepository:
    """Sessions keyed by session_id; statistics kept per user with atomic $inc."""

    def __init__(self, db: Database[Document], clock: Clock = utc_now) -> None:
        self._db = db
        self._clock = clock
        self._sessions = collection(db, "workout_sessions")
        self._statistics = collection(db, "user_statistics")
        self._plans = collection(db, "goal_plans")
        self._outbox = collection(db, OUTBOX)

    @unavailable_on_failover()
    def ensure_indexes(self) -> None:
        """Create the indexes the queries rely on; safe to call on every start."""
        self._sessions.create_index(
            [("user_id", ASCENDING), ("start_time", DESCENDING), ("_id", DESCENDING)],
            name="user_newest_first",
        )
        self._sessions.create_index("request_id", unique=True, sparse=True, name="request_id")
        self._sessions.create_index(
            [("user_id", ASCENDING), ("end_time", ASCENDING)], name="user_ended"
        )
        self._sessions.create_index("updated_at", name="updated_at")  # the ETL's extract
        self._plans.create_index(
            [("user_id", ASCENDING), ("target_date", ASCENDING)], name="user_plans"
        )
        self._outbox.create_index([("delivered_at", ASCENDING), ("due_at", ASCENDING)], name="due")
        self._outbox.create_index("user_id", name="user_id")

    @unavailable_on_failover()
    def add_session(self, session: WorkoutSession, request_id: str) -> WorkoutSession:
        """Insert the session unless this request_id already stored one."""
        earlier = self._by_request(request_id)
        if earlier:
            return earlier
        try:
            self._sessions.insert_one(
                {**_document(session, request_id), "updated_at": self._clock()}
            )
        except DuplicateKeyError:
            earlier = self._by_request(request_id)
            if earlier is None:
                raise
            return earlier
        return session

    def _by_request(self, request_id: str) -> WorkoutSession | None:
        if not request_id:
            return None
        found = self._sessions.find_one({"request_id": request_id})
        return _to_session(found) if found else None

    @unavailable_on_failover()
    def get_session(self, session_id: str) -> WorkoutSession | None:
        """Return the session with this id, if any."""
        found = self._sessions.find_one({"_id": session_id})
        return _to_session(found) if found else None

    @unavailable_on_failover()
    def complete_session(
        self, session_id: str, end_time: datetime, duration: float, calories: float, request_id: str
    ) -> WorkoutSession | None:
        """End the session, $inc the statistics and queue the progress in one transaction."""
        changes = {
            "end_time": end_time,
            "duration": duration,
            "calories_burned": calories,
            "end_request_id": request_id,
            "updated_at": self._clock(),
        }

        def end_and_count(tx: ClientSession) -> Document | None:
            ended: Document | None = self._sessions.find_one_and_update(
                {"_id": session_id, "end_time": None},
                {"$set": changes},
                return_document=ReturnDocument.AFTER,
                session=tx,
            )
            if ended:
                self._count(ended["user_id"], duration, calories, tx)
                self._queue_progress(ended, tx)
            return ended

        # A transaction's writes take its write concern (the client's unless given).
        # with_transaction retries for up to 120 s unless a CSOT timeout bounds it whole.
        with pymongo.timeout(OPERATION_TIMEOUT_MS / 1000), self._db.client.start_session() as tx:
            ended = tx.with_transaction(
                end_and_count, read_concern=MAJORITY_READS, write_concern=MAJORITY
            )
        if ended:
            return _to_session(ended)
        stored = self.get_session(session_id)
        return stored if stored and request_id and stored.end_request_id == request_id else None

    def _count(self, user_id: str, duration: float, calories: float, tx: ClientSession) -> None:
        increments = {
            "total_workouts": 1,
            "total_duration": duration,
            "total_calories_burned": calories,
        }
        self._statistics.update_one({"_id": user_id}, {"$inc": increments}, upsert=True, session=tx)

    def _queue_progress(self, ended: Document, tx: ClientSession) -> None:
        now = self._clock()
        event = {
            "_id": progress_request_id(ended["_id"]),
            "user_id": ended["user_id"],
            "session_id": ended["_id"],
            "end_time": ended["end_time"],
            "duration": ended["duration"],
            "calories_burned": ended["calories_burned"],
            "created_at": now,
            "due_at": now,
            "attempts": 0,
            "lease_owner": None,
            "lease_until": None,
            "delivered_at": None,
            "trace_id": request_id_var.get(),
        }
        self._outbox.insert_one(event, session=tx)

    @unavailable_on_failover()
    def list_sessions(self, user_id: str, limit: int, after: Cursor | None) -> list[WorkoutSession]:
        """Keyset pagination on (start_time, _id), newest first, served by one index."""
        query: Document = {"user_id": user_id}
        if after:
            query["$or"] = [
                {"start_time": {"$lt": after.start_time}},
                {"start_time": after.start_time, "_id": {"$lt": after.session_id}},
            ]
        found = (
            self._sessions.find(query)
            .sort([("start_time", DESCENDING), ("_id", DESCENDING)])
            .limit(limit)
        )
        return [_to_session(document) for document in found]

    @unavailable_on_failover()
    def get_statistics(self, user_id: str) -> Statistics:
        """Read the maintained totals: one _id lookup."""
        found = self._statistics.find_one({"_id": user_id})
        return Statistics.from_totals(found) if found else Statistics()

    @unavailable_on_failover()
    def totals_since(self, user_id: str, since: datetime) -> Totals:
        """One aggregation over the user's sessions ended since ``since``."""
        pipeline: list[Document] = [
            {"$match": {"user_id": user_id, "end_time": {"$gte": since}}},
            {
                "$group": {
                    "_id": None,
                    "sessions": {"$sum": 1},
                    "seconds": {"$sum": "$duration"},
                    "calories": {"$sum": "$calories_burned"},
                }
            },
        ]
        found = next(iter(self._sessions.aggregate(pipeline)), None)
        if not found:
            return Totals()
        return Totals(found["sessions"], found["seconds"] / 60, found["calories"])

    @unavailable_on_failover()
    def put_plan(self, plan: GoalPlan) -> bool:
        """Replace the goal's plan, remembering the replaced one (compare-and-set on it)."""
        stored = self._plans.find_one({"_id": plan.goal_id})
        if stored and stored["request_id"] == plan.request_id:
            return False
        previous = {k: v for k, v in stored.items() if k != "previous"} if stored else None
        document = {**_plan_document(plan), "previous": previous}
        expected = {"request_id": stored["request_id"]} if stored else {}
        try:
            self._plans.replace_one({"_id": plan.goal_id, **expected}, document, upsert=True)
        except DuplicateKeyError:
            return False  # a concurrent retry of the same put won
        return True

    @unavailable_on_failover()
    def restore_plan(self, goal_id: str, put_request_id: str) -> None:
        """Put back the plan the given put replaced (or remove the plan it created)."""
        stored = self._plans.find_one({"_id": goal_id, "request_id": put_request_id})
        if not stored:
            return
        if stored.get("previous"):
            current = {"_id": goal_id, "request_id": put_request_id}
            self._plans.replace_one(current, {**stored["previous"], "previous": None})
        else:
            self._plans.delete_one({"_id": goal_id, "request_id": put_request_id})

    @unavailable_on_failover()
    def get_plan(self, goal_id: str) -> GoalPlan | None:
        """Return the goal's plan, if any."""
        found = self._plans.find_one({"_id": goal_id})
        return _to_plan(found) if found else None

    @unavailable_on_failover()
    def active_plans(self, user_id: str) -> list[GoalPlan]:
        """The user's active plans, nearest target date first."""
        found = self._plans.find({"user_id": user_id, "active": True})
        return [_to_plan(d) for d in found.sort([("target_date", ASCENDING), ("_id", ASCENDING)])]

    @unavailable_on_failover()
    def delete_user_data(self, user_id: str) -> int:
        """Delete the user's documents; each delete is idempotent, so a retry finishes it."""
        deleted = self._sessions.delete_many({"user_id": user_id}).deleted_count
        self._statistics.delete_one({"_id": user_id})
        self._plans.delete_many({"user_id": user_id})
        self._outbox.delete_many({"user_id": user_id})
        return deleted


def _plan_document(plan: GoalPlan) -> Document:
    document = asdict(plan)
    # BSON has no date type: a target day is stored as its UTC midnight.
    document["target_date"] = datetime.combine(plan.target_date, time(), tzinfo=UTC)
    document["_id"] = document.pop("goal_id")
    return document


def _to_plan(document: Document) -> GoalPlan:
    target: datetime = document["target_date"]
    return GoalPlan(
        goal_id=document["_id"],
        user_id=document["user_id"],
        goal_type=GoalType(document["goal_type"]),
        target_value=document["target_value"],
        target_date=date(target.year, target.month, target.day),
        start_time=as_utc(document["start_time"]),
        active=document["active"],
        request_id=document["request_id"],
    )


def _document(session: WorkoutSession, request_id: str) -> Document:
    document: Document = {
        "_id": session.session_id,
        "user_id": session.user_id,
        "workout_type": session.workout_type,
        "start_time": session.start_time,
        "end_time": session.end_time,
        "duration": session.duration,
        "calories_burned": session.calories_burned,
        "weight_kg": session.weight_kg,
    }
    if request_id:  # absent, not null, so the sparse unique index ignores it
        document["request_id"] = request_id
    return document


def _to_session(document: Document) -> WorkoutSession:
    end_time = document.get("end_time")
    return WorkoutSession(
        session_id=document["_id"],
        user_id=document["user_id"],
        workout_type=document["workout_type"],
        start_time=as_utc(document["start_time"]),
        end_time=as_utc(end_time) if end_time else None,
        duration=document["duration"],
        calories_burned=document["calories_burned"],
        end_request_id=document.get("end_request_id") or "",
        weight_kg=document.get("weight_kg"),
    )
