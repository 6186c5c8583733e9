"""UserRepository on SQLAlchemy Core: SQLite embedded, PostgreSQL in production."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict
from datetime import date, datetime
from typing import Any

from sqlalchemy import Engine, Table, delete, select, update
from sqlalchemy.engine import Connection, RowMapping
from sqlalchemy.exc import IntegrityError

from services.common.timeutil import Clock, as_utc, utc_now
from services.user.domain import (
    EmailAlreadyRegistered,
    Goal,
    GoalOperation,
    GoalStatus,
    GoalType,
    Notification,
    Profile,
    StaleGoal,
    User,
    UsernameTaken,
    email_key,
)
from services.user.repository import GoalWrite
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

PROFILE_COLUMNS = ("display_name", "weight_kg", "height_cm", "birth_year")


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
            self._insert(users, _user_row(user, request_id))
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
        return self._first_user(users.c.user_id == user_id)

    def find_by_email(self, email: str) -> User | None:
        """Return the user with this email, compared case-insensitively."""
        return self._first_user(users.c.email_key == email_key(email))

    def update_profile(self, user_id: str, changes: Mapping[str, Any]) -> User | None:
        """Apply the changes in one statement and return the stored result."""
        unknown = set(changes) - set(PROFILE_COLUMNS)
        if unknown:
            raise ValueError(f"not profile fields: {sorted(unknown)}")
        if changes:
            with self._engine.begin() as conn:
                changed = {**changes, "updated_at": self._clock()}
                conn.execute(update(users).where(users.c.user_id == user_id).values(changed))
        return self._first_user(users.c.user_id == user_id)

    def add_goal(self, goal: Goal, request_id: str) -> Goal:
        """Insert the goal unless this request_id already stored one."""
        earlier = self._first_goal(goals.c.request_id == request_id) if request_id else None
        if earlier:
            return earlier
        try:
            self._insert(goals, _goal_row(goal, request_id, goal.created_at))
        except IntegrityError:
            earlier = self._first_goal(goals.c.request_id == request_id) if request_id else None
            if earlier is None:
                raise
            return earlier
        return goal

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
            return [_to_goal(row) for row in conn.execute(query).mappings()]

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
        return [_to_notification(row) for row in rows]

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
        # A user being deleted is gone for every caller: login, profile, goals, tokens.
        deleting = select(user_deletions.c.user_id).where(
            user_deletions.c.user_id == users.c.user_id
        )
        query = select(users).where(condition, ~deleting.exists())
        with self._engine.connect() as conn:
            row = conn.execute(query).mappings().first()
        return _to_user(row) if row else None

    def _first_goal(self, condition: Any) -> Goal | None:
        with self._engine.connect() as conn:
            row = conn.execute(select(goals).where(condition)).mappings().first()
        return _to_goal(row) if row else None


def _user_row(user: User, request_id: str) -> dict[str, Any]:
    return {
        "user_id": user.user_id,
        "username": user.username,
        "email": user.email,
        "email_key": email_key(user.email),
        "password_hash": user.password_hash,
        "display_name": user.profile.display_name,
        "weight_kg": user.profile.weight_kg,
        "height_cm": user.profile.height_cm,
        "birth_year": user.profile.birth_year,
        "request_id": request_id or None,
        "created_at": user.created_at,
        "updated_at": user.created_at,
    }


def _to_user(row: RowMapping) -> User:
    profile = Profile(**{name: row[name] for name in PROFILE_COLUMNS})
    return User(
        user_id=row["user_id"],
        username=row["username"],
        email=row["email"],
        password_hash=row["password_hash"],
        profile=profile,
        created_at=as_utc(row["created_at"]),
    )


def _to_notification(row: RowMapping) -> Notification:
    fields = {name: row[name] for name in Notification.__dataclass_fields__}
    return Notification(**{**fields, "created_at": as_utc(row["created_at"])})


def _apply(conn: Connection, write: GoalWrite, now: datetime, request_id: str) -> None:
    """Insert, update or delete one goal, checking it did not change meanwhile."""
    if write.previous is None and write.new is not None:
        conn.execute(goals.insert().values(_goal_row(write.new, "", now)))
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
    row = _goal_row(previous, "", now)
    still = [
        goals.c[name].is_(None) if row[name] is None else goals.c[name] == row[name]
        for name in ("pending_saga_id", "current_progress", "target_value", "status")
    ]
    where = (goals.c.goal_id == previous.goal_id, *still)
    if new is None:
        return delete(goals).where(*where)
    values = {k: v for k, v in _goal_row(new, "", now).items() if k != "request_id"}
    return update(goals).where(*where).values(values)


def _goal_row(goal: Goal, request_id: str, updated_at: datetime) -> dict[str, Any]:
    target = goal.pending_target
    return {
        "pending_operation": goal.pending_operation.value if goal.pending_operation else None,
        "pending_saga_id": goal.pending_saga_id,
        "pending_target_value": target[0] if target else None,
        "pending_target_date": target[1] if target else None,
        "achieved_at": goal.achieved_at,
        "goal_id": goal.goal_id,
        "user_id": goal.user_id,
        "goal_type": goal.goal_type.value,
        "target_value": goal.target_value,
        "target_date": goal.target_date,
        "current_progress": goal.current_progress,
        "status": goal.status.value,
        "request_id": request_id or None,
        "created_at": goal.created_at,
        "updated_at": updated_at,
    }


def _to_goal(row: RowMapping) -> Goal:
    target_date: date = row["target_date"]
    created_at: datetime = row["created_at"]
    operation = row["pending_operation"]
    pending_value, pending_date = row["pending_target_value"], row["pending_target_date"]
    return Goal(
        goal_id=row["goal_id"],
        user_id=row["user_id"],
        goal_type=GoalType(row["goal_type"]),
        target_value=row["target_value"],
        target_date=target_date,
        current_progress=row["current_progress"],
        status=GoalStatus(row["status"]),
        created_at=as_utc(created_at),
        pending_operation=GoalOperation(operation) if operation else None,
        pending_saga_id=row["pending_saga_id"],
        pending_target=(pending_value, pending_date) if pending_value is not None else None,
        achieved_at=as_utc(row["achieved_at"]) if row["achieved_at"] else None,
    )
