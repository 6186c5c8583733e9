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

from datetime import datetime

import pymongo
from pymongo import ASCENDING, DESCENDING, ReturnDocument
from pymongo.client_session import ClientSession
from pymongo.database import Database
from pymongo.errors import DuplicateKeyError

from services.activity.domain import Cursor, Statistics, WorkoutSession, progress_request_id
from services.activity.mongo_client import (
    MAJORITY,
    MAJORITY_READS,
    OPERATION_TIMEOUT_MS,
    Document,
    collection,
    connect,
)
from services.activity.mongo_documents import plan_document, session_document, to_plan, to_session
from services.activity.mongo_errors import unavailable_on_failover
from services.activity.suggestions import GoalPlan, Totals
from services.common.logs import request_id_var
from services.common.timeutil import Clock, utc_now

# The adapter's callers (outbox_mongo, __main__, export, tests) import these from here.
__all__ = [
    "OUTBOX",
    "Document",
    "MongoWorkoutRepository",
    "collection",
    "connect",
    "unavailable_on_failover",
]

OUTBOX = "progress_outbox"  # drained by outbox_mongo.MongoProgressOutbox


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
                {**session_document(session, request_id), "updated_at": self._clock()}
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
        return to_session(found) if found else None

    @unavailable_on_failover()
    def get_session(self, session_id: str) -> WorkoutSession | None:
        """Return the session with this id, if any."""
        found = self._sessions.find_one({"_id": session_id})
        return to_session(found) if found else None

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
            return to_session(ended)
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
        return [to_session(document) for document in found]

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
        document = {**plan_document(plan), "previous": previous}
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
        return to_plan(found) if found else None

    @unavailable_on_failover()
    def active_plans(self, user_id: str) -> list[GoalPlan]:
        """The user's active plans, nearest target date first."""
        found = self._plans.find({"user_id": user_id, "active": True})
        return [to_plan(d) for d in found.sort([("target_date", ASCENDING), ("_id", ASCENDING)])]

    @unavailable_on_failover()
    def delete_user_data(self, user_id: str) -> int:
        """Delete the user's documents; each delete is idempotent, so a retry finishes it."""
        deleted = self._sessions.delete_many({"user_id": user_id}).deleted_count
        self._statistics.delete_one({"_id": user_id})
        self._plans.delete_many({"user_id": user_id})
        self._outbox.delete_many({"user_id": user_id})
        return deleted
