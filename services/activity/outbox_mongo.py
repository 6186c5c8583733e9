"""ProgressOutbox on MongoDB, over the collection mongo_repository.py writes with each end.

A claim is a lease set by find_one_and_update, whose filter repeats what makes an event
claimable: one document update is atomic, so two relays never both take an event.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from pymongo import ASCENDING, ReturnDocument
from pymongo.database import Database

from services.activity.domain import ProgressEvent
from services.activity.mongo_repository import (
    OUTBOX,
    Document,
    collection,
    unavailable_on_failover,
)
from services.common.timeutil import as_utc

MAX_ERROR_LENGTH = 512


class MongoProgressOutbox:
    """The progress events of ended sessions, leased to one relay at a time."""

    def __init__(self, db: Database[Document]) -> None:
        self._outbox = collection(db, OUTBOX)  # majority writes, as every activity write

    @unavailable_on_failover()
    def claim_progress(
        self, owner: str, now: datetime, lease: timedelta, limit: int
    ) -> list[ProgressEvent]:
        """Lease the oldest due, unleased events to ``owner``, one atomic update each."""
        claimed: list[ProgressEvent] = []
        for _ in range(limit):
            found: Document | None = self._outbox.find_one_and_update(
                _claimable(now),
                {"$set": {"lease_owner": owner, "lease_until": now + lease}},
                sort=[("due_at", ASCENDING), ("_id", ASCENDING)],
                return_document=ReturnDocument.AFTER,
            )
            if found is None:
                break
            claimed.append(_to_event(found))
        return claimed

    @unavailable_on_failover()
    def progress_delivered(self, event_id: str, now: datetime) -> None:
        """Mark the event delivered and drop its lease."""
        self._outbox.update_one(
            {"_id": event_id, "delivered_at": None},
            {"$set": {"delivered_at": now, "lease_owner": None, "lease_until": None}},
        )

    @unavailable_on_failover()
    def retry_progress(self, event_id: str, owner: str, due: datetime, error: str) -> None:
        """Count a failed attempt and release the lease, if ``owner`` still holds it."""
        self._outbox.update_one(
            {"_id": event_id, "lease_owner": owner, "delivered_at": None},
            {
                "$inc": {"attempts": 1},
                "$set": {
                    "due_at": due,
                    "lease_owner": None,
                    "lease_until": None,
                    "last_error": error[:MAX_ERROR_LENGTH],
                },
            },
        )

    @unavailable_on_failover()
    def pending_progress(self) -> list[ProgressEvent]:
        """Every undelivered event, oldest first."""
        found = self._outbox.find({"delivered_at": None})
        return [_to_event(d) for d in found.sort([("created_at", ASCENDING), ("_id", ASCENDING)])]

    @unavailable_on_failover()
    def prune_delivered(self, before: datetime, limit: int) -> int:
        """Delete up to ``limit`` of the oldest events delivered before ``before``."""
        # delete_many takes no limit: pick the ids first (the "due" index leads with
        # delivered_at), and repeat the condition so a concurrent change cannot widen it.
        old = {"delivered_at": {"$ne": None, "$lt": before}}
        oldest = self._outbox.find(old, {"_id": 1})
        ids = [d["_id"] for d in oldest.sort([("delivered_at", ASCENDING)]).limit(limit)]
        if not ids:
            return 0
        return self._outbox.delete_many({"_id": {"$in": ids}, **old}).deleted_count


def _claimable(now: datetime) -> dict[str, Any]:
    return {
        "delivered_at": None,
        "due_at": {"$lte": now},
        "$or": [{"lease_until": None}, {"lease_until": {"$lt": now}}],
    }


def _to_event(document: Document) -> ProgressEvent:
    return ProgressEvent(
        event_id=document["_id"],
        user_id=document["user_id"],
        session_id=document["session_id"],
        end_time=as_utc(document["end_time"]),
        duration=document["duration"],
        calories_burned=document["calories_burned"],
        attempts=document["attempts"],
        trace_id=document.get("trace_id") or "",
    )
