"""UserRepository on SQLAlchemy Core: SQLite embedded, PostgreSQL in production."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, Select, Table, bindparam, delete, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from services.common.timeutil import Clock, utc_now
from services.user.domain import (
    EmailAlreadyRegistered,
    Goal,
    Notification,
    StaleGoal,
    User,
    UsernameTaken,
    email_key,
)
from services.user.repository import GoalWrite
from services.user.sql_rows import (
    PROFILE_COLUMNS,
    goal_row,
    to_goal,
    to_notification,
    to_user,
    user_row,
)
from services.user.tables import (
    goal_deletions,
    goals,
    notifications,
    processed_requests,
    refresh_tokens,
    user_deletions,
    user_roles,
    users,
)


def _live_users_where(condition: Any) -> Select[Any]:
    """Users matching ``condition``; a user being deleted is gone for every caller."""
    deleting = select(user_deletions.c.user_id).where(user_deletions.c.user_id == users.c.user_id)
    return select(users).where(condition, ~deleting.exists())


# Built once: the lookups behind every profile read and login, where building the
# statement per call was a tenth of the user service's CPU.
USER_BY_ID = _live_users_where(users.c.user_id == bindparam("user_id"))
USER_BY_EMAIL_KEY = _live_users_where(users.c.email_key == bindparam("email_key"))


class SqlUserRepository:
    """UserRepository on SQLAlchemy Core: SQLite embedded, PostgreSQL in production."""

    def __init__(self, engine: Engine, clock: Clock = utc_now) -> None:
        self._engine = engine
        self._clock = clock

    def add_user(self, user: User, request_id: str) -> User:
        """Insert the user; on a unique violation tell which rule was broken."""
        earlier = self._first_user(users.c.request_id == request_id) if request_id else None
        if earlier:
            return earlier
        try:
            self._insert(users, user_row(user, request_id))
        except IntegrityError:
            return self._explain_user_conflict(user, request_id)
        return user

    def _explain_user_conflict(self, user: User, request_id: str) -> User:
        # A concurrent retry with the same request_id won the race: return its result.
        earlier = self._first_user(users.c.request_id == request_id) if request_id else None
        if earlier:
            return earlier
        if self._first_user(users.c.email_key == email_key(user.email)):
            raise EmailAlreadyRegistered("an account with this email already exists")
        raise UsernameTaken("this username is taken")

    def get_user(self, user_id: str) -> User | None:
        """Return the user with this id, if any."""
        return self._one_user(USER_BY_ID, {"user_id": user_id})

    def find_by_email(self, email: str) -> User | None:
        """Return the user with this email, compared case-insensitively."""
        return self._one_user(USER_BY_EMAIL_KEY, {"email_key": email_key(email)})

    def update_profile(self, user_id: str, changes: Mapping[str, Any]) -> User | None:
        """Apply the changes in one statement and return the stored result."""
        unknown = set(changes) - set(PROFILE_COLUMNS)
        if unknown:
            raise ValueError(f"not profile fields: {sorted(unknown)}")
        if changes:
            with self._engine.begin() as conn:
                changed = {**changes, "updated_at": self._clock()}
                conn.execute(update(users).where(users.c.user_id == user_id).values(changed))
        return self.get_user(user_id)

    def get_goal(self, user_id: str, goal_id: str) -> Goal | None:
        """Return one goal of the user, if it exists."""
        return self._first_goal((goals.c.goal_id == goal_id) & (goals.c.user_id == user_id))

    def list_goals(self, user_id: str) -> list[Goal]:
        """Return the user's goals, newest first."""
        query = (
            select(goals)
            .where(goals.c.user_id == user_id)
            .order_by(goals.c.created_at.desc(), goals.c.goal_id.desc())
        )
        with self._engine.connect() as conn:
            return [to_goal(row) for row in conn.execute(query).mappings()]

    def write_goals(self, request_id: str, writes: Sequence[GoalWrite], now: datetime) -> bool:
        """Apply the writes and record request_id in one transaction."""
        try:
            with self._engine.begin() as conn:
                record = {"request_id": request_id, "processed_at": now}
                conn.execute(processed_requests.insert().values(record))
                for write in writes:
                    _apply(conn, write, now, request_id)
        except IntegrityError:
            if self._processed(request_id):
                return False
            raise
        return True

    def _processed(self, request_id: str) -> bool:
        query = select(processed_requests.c.request_id).where(
            processed_requests.c.request_id == request_id
        )
        with self._engine.connect() as conn:
            return conn.execute(query).first() is not None

    def list_notifications(self, user_id: str, limit: int) -> list[Notification]:
        """Return the user's notifications, newest first."""
        query = (
            select(notifications)
            .where(notifications.c.user_id == user_id)
            .order_by(notifications.c.created_at.desc(), notifications.c.notification_id)
            .limit(limit)
        )
        return self._notifications(query)

    def notifications_of(self, request_id: str) -> list[Notification]:
        """Return the notifications the write_goals call with this request_id created."""
        query = (
            select(notifications)
            .where(notifications.c.request_id == request_id)
            .order_by(notifications.c.created_at, notifications.c.notification_id)
        )
        return self._notifications(query)

    def _notifications(self, query: Any) -> list[Notification]:
        with self._engine.connect() as conn:
            rows = conn.execute(query).mappings().all()
        return [to_notification(row) for row in rows]

    def mark_deleting(self, user_id: str, saga_id: str, request_id: str, now: datetime) -> bool:
        """Insert the deletion mark and revoke the refresh tokens in one transaction."""
        if self._processed(request_id):
            return True
        exists = select(users.c.user_id).where(users.c.user_id == user_id)
        try:
            with self._engine.begin() as conn:
                if conn.execute(exists).first() is None:
                    return False
                record = {"request_id": request_id, "processed_at": now}
                conn.execute(processed_requests.insert().values(record))
                marked = select(user_deletions).where(user_deletions.c.user_id == user_id)
                if conn.execute(marked).first() is None:  # else another saga is deleting him
                    mark = {"user_id": user_id, "saga_id": saga_id, "requested_at": now}
                    conn.execute(user_deletions.insert().values(mark))
                unrevoked = (refresh_tokens.c.user_id == user_id) & refresh_tokens.c.revoked_at.is_(
                    None
                )
                conn.execute(update(refresh_tokens).where(unrevoked).values(revoked_at=now))
        except IntegrityError:
            if self._processed(request_id):
                return True
            raise
        return True

    def unmark_deleting(self, user_id: str, saga_id: str) -> None:
        """Delete this saga's mark while the account still exists (a repeat finds none)."""
        mine = (
            (user_deletions.c.user_id == user_id)
            & (user_deletions.c.saga_id == saga_id)
            & user_deletions.c.deleted_at.is_(None)
        )
        with self._engine.begin() as conn:
            conn.execute(delete(user_deletions).where(mine))

    def erase_user(self, user_id: str, request_id: str, now: datetime) -> None:
        """Delete everything of the user in one transaction; a repeat changes nothing."""
        if self._processed(request_id):
            return
        with self._engine.begin() as conn:
            conn.execute(
                processed_requests.insert().values(request_id=request_id, processed_at=now)
            )
            mine = select(goals.c.goal_id).where(goals.c.user_id == user_id)
            goal_ids = list(conn.execute(mine).scalars())
            conn.execute(delete(goal_deletions).where(goal_deletions.c.goal_id.in_(goal_ids)))
            tombstones = [{"goal_id": g, "user_id": user_id, "deleted_at": now} for g in goal_ids]
            if tombstones:
                conn.execute(goal_deletions.insert(), tombstones)
            for table in (goals, notifications, refresh_tokens, user_roles):
                conn.execute(delete(table).where(table.c.user_id == user_id))
            conn.execute(delete(users).where(users.c.user_id == user_id))
            conn.execute(
                update(user_deletions)
                .where(user_deletions.c.user_id == user_id, user_deletions.c.deleted_at.is_(None))
                .values(deleted_at=now)
            )

    def _insert(self, table: Table, row: dict[str, Any]) -> None:
        with self._engine.begin() as conn:
            conn.execute(table.insert().values(row))

    def _first_user(self, condition: Any) -> User | None:
        return self._one_user(_live_users_where(condition), {})

    def _one_user(self, query: Select[Any], values: Mapping[str, Any]) -> User | None:
        with self._engine.connect() as conn:
            row = conn.execute(query, values).mappings().first()
        return to_user(row) if row else None

    def _first_goal(self, condition: Any) -> Goal | None:
        with self._engine.connect() as conn:
            row = conn.execute(select(goals).where(condition)).mappings().first()
        return to_goal(row) if row else None


def _apply(conn: Connection, write: GoalWrite, now: datetime, request_id: str) -> None:
    """Insert, update or delete one goal, checking it did not change meanwhile."""
    if write.previous is None and write.new is not None:
        conn.execute(goals.insert().values(goal_row(write.new, now)))
    elif write.previous is not None:
        changed = _guarded(write.previous, write.new, now)
        if conn.execute(changed).rowcount != 1:
            raise StaleGoal(f"goal {write.previous.goal_id} changed meanwhile")
        if write.new is None:
            _record_deletion(conn, write.previous, now)
    for note in write.notifications:
        conn.execute(notifications.insert().values({**asdict(note), "request_id": request_id}))


def _record_deletion(conn: Connection, goal: Goal, now: datetime) -> None:
    conn.execute(delete(goal_deletions).where(goal_deletions.c.goal_id == goal.goal_id))
    tombstone = {"goal_id": goal.goal_id, "user_id": goal.user_id, "deleted_at": now}
    conn.execute(goal_deletions.insert().values(tombstone))


def _guarded(previous: Goal, new: Goal | None, now: datetime) -> Any:
    """The update (or delete) of ``previous``, matching only while it is unchanged."""
    row = goal_row(previous, now)
    still = [
        goals.c[name].is_(None) if row[name] is None else goals.c[name] == row[name]
        for name in ("pending_saga_id", "current_progress", "target_value", "status")
    ]
    where = (goals.c.goal_id == previous.goal_id, *still)
    if new is None:
        return delete(goals).where(*where)
    return update(goals).where(*where).values(goal_row(new, now))
