"""WorkoutRepository on MongoDB (pymongo): the production store.

The database handle should come from a client built by ``connect`` (majority
write concern, retryable writes); ending a session and updating the owner's
statistics run in one multi-document transaction, which needs a replica set.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pymongo import ASCENDING, DESCENDING, MongoClient, ReturnDocument
from pymongo.client_session import ClientSession
from pymongo.database import Database
from pymongo.errors import DuplicateKeyError
from pymongo.read_concern import ReadConcern
from pymongo.write_concern import WriteConcern

from services.activity.domain import Cursor, Statistics, WorkoutSession
from services.common.timeutil import as_utc

Document = dict[str, Any]


def connect(url: str, database: str) -> Database[Document]:
    """A database handle with majority reads and writes and retryable writes."""
    client: MongoClient[Document] = MongoClient(url, retryWrites=True, tz_aware=True)
    return client.get_database(
        database, write_concern=WriteConcern("majority"), read_concern=ReadConcern("majority")
    )


class MongoWorkoutRepository:
    """Sessions keyed by session_id; statistics kept per user with atomic $inc."""

    def __init__(self, db: Database[Document]) -> None:
        self._db = db
        self._sessions = db["workout_sessions"]
        self._statistics = db["user_statistics"]

    def ensure_indexes(self) -> None:
        """Create the indexes the queries rely on; safe to call on every start."""
        self._sessions.create_index(
            [("user_id", ASCENDING), ("start_time", DESCENDING), ("_id", DESCENDING)],
            name="user_newest_first",
        )
        self._sessions.create_index("request_id", unique=True, sparse=True, name="request_id")

    def add_session(self, session: WorkoutSession, request_id: str) -> WorkoutSession:
        """Insert the session unless this request_id already stored one."""
        earlier = self._by_request(request_id)
        if earlier:
            return earlier
        try:
            self._sessions.insert_one(_document(session, request_id))
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

    def get_session(self, session_id: str) -> WorkoutSession | None:
        """Return the session with this id, if any."""
        found = self._sessions.find_one({"_id": session_id})
        return _to_session(found) if found else None

    def complete_session(
        self, session_id: str, end_time: datetime, duration: float, calories: float, request_id: str
    ) -> WorkoutSession | None:
        """End the session and $inc the statistics in one transaction."""
        changes = {
            "end_time": end_time,
            "duration": duration,
            "calories_burned": calories,
            "end_request_id": request_id,
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
            return ended

        with self._db.client.start_session() as tx:
            ended = tx.with_transaction(end_and_count)
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

    def get_statistics(self, user_id: str) -> Statistics:
        """Read the maintained totals: one _id lookup."""
        found = self._statistics.find_one({"_id": user_id})
        return Statistics.from_totals(found) if found else Statistics()


def _document(session: WorkoutSession, request_id: str) -> Document:
    document: Document = {
        "_id": session.session_id,
        "user_id": session.user_id,
        "workout_type": session.workout_type,
        "start_time": session.start_time,
        "end_time": session.end_time,
        "duration": session.duration,
        "calories_burned": session.calories_burned,
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
    )
