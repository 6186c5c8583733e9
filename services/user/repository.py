"""Storage of users and goals: the port, and its SQLAlchemy adapter."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from typing import Any, Protocol

from sqlalchemy import (
    Column,
    Date,
    DateTime,
    Engine,
    Float,
    ForeignKey,
    Integer,
    MetaData,
    String,
    Table,
    select,
    update,
)
from sqlalchemy.engine import RowMapping
from sqlalchemy.exc import IntegrityError

from services.common.timeutil import as_utc
from services.user.domain import (
    EmailAlreadyRegistered,
    Goal,
    GoalStatus,
    GoalType,
    Profile,
    User,
    UsernameTaken,
    email_key,
)


class UserRepository(Protocol):
    """Port: where users and goals live."""

    def add_user(self, user: User, request_id: str) -> User:
        """Store a new user; a known request_id returns the user stored by it."""
        ...

    def get_user(self, user_id: str) -> User | None:
        """Return the user with this id, if any."""
        ...

    def find_by_email(self, email: str) -> User | None:
        """Return the user with this email, compared case-insensitively."""
        ...

    def update_profile(self, user_id: str, changes: Mapping[str, Any]) -> User | None:
        """Apply profile field changes; None when the user does not exist."""
        ...

    def add_goal(self, goal: Goal, request_id: str) -> Goal:
        """Store a new goal; a known request_id returns the goal stored by it."""
        ...

    def get_goal(self, user_id: str, goal_id: str) -> Goal | None:
        """Return one goal of the user, if it exists."""
        ...

    def list_goals(self, user_id: str) -> list[Goal]:
        """Return the user's goals, newest first."""
        ...


metadata = MetaData()

users = Table(
    "users",
    metadata,
    Column("user_id", String(36), primary_key=True),
    Column("username", String(32), nullable=False, unique=True),
    Column("email", String(254), nullable=False),
    Column("email_key", String(254), nullable=False, unique=True),
    Column("password_hash", String(255), nullable=False),
    Column("display_name", String(64), nullable=False, default=""),
    Column("weight_kg", Float, nullable=True),
    Column("height_cm", Float, nullable=True),
    Column("birth_year", Integer, nullable=True),
    Column("request_id", String(128), nullable=True, unique=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

goals = Table(
    "goals",
    metadata,
    Column("goal_id", String(36), primary_key=True),
    Column("user_id", String(36), ForeignKey("users.user_id"), nullable=False, index=True),
    Column("goal_type", String(32), nullable=False),
    Column("target_value", Float, nullable=False),
    Column("target_date", Date, nullable=False),
    Column("current_progress", Float, nullable=False, default=0.0),
    Column("status", String(16), nullable=False),
    Column("request_id", String(128), nullable=True, unique=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

PROFILE_COLUMNS = ("display_name", "weight_kg", "height_cm", "birth_year")


class SqlUserRepository:
    """UserRepository on SQLAlchemy Core: SQLite embedded, PostgreSQL in production."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

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
                conn.execute(update(users).where(users.c.user_id == user_id).values(**changes))
        return self._first_user(users.c.user_id == user_id)

    def add_goal(self, goal: Goal, request_id: str) -> Goal:
        """Insert the goal unless this request_id already stored one."""
        earlier = self._first_goal(goals.c.request_id == request_id) if request_id else None
        if earlier:
            return earlier
        try:
            self._insert(goals, _goal_row(goal, request_id))
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

    def _insert(self, table: Table, row: dict[str, Any]) -> None:
        with self._engine.begin() as conn:
            conn.execute(table.insert().values(row))

    def _first_user(self, condition: Any) -> User | None:
        with self._engine.connect() as conn:
            row = conn.execute(select(users).where(condition)).mappings().first()
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


def _goal_row(goal: Goal, request_id: str) -> dict[str, Any]:
    return {
        "goal_id": goal.goal_id,
        "user_id": goal.user_id,
        "goal_type": goal.goal_type.value,
        "target_value": goal.target_value,
        "target_date": goal.target_date,
        "current_progress": goal.current_progress,
        "status": goal.status.value,
        "request_id": request_id or None,
        "created_at": goal.created_at,
    }


def _to_goal(row: RowMapping) -> Goal:
    target_date: date = row["target_date"]
    created_at: datetime = row["created_at"]
    return Goal(
        goal_id=row["goal_id"],
        user_id=row["user_id"],
        goal_type=GoalType(row["goal_type"]),
        target_value=row["target_value"],
        target_date=target_date,
        current_progress=row["current_progress"],
        status=GoalStatus(row["status"]),
        created_at=as_utc(created_at),
    )
