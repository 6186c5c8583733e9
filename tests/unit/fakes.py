"""In-memory adapters of the service ports, for unit tests."""

from __future__ import annotations

import itertools
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from services.activity.domain import (
    Cursor,
    ProgressEvent,
    Statistics,
    UnknownUser,
    WorkoutSession,
)
from services.activity.suggestions import GoalPlan, Totals
from services.common.logs import request_id_var
from services.user.domain import (
    EmailAlreadyRegistered,
    Goal,
    Notification,
    RefreshRecord,
    RoleGrant,
    StaleGoal,
    User,
    UsernameTaken,
    email_key,
)
from services.user.repository import GoalWrite
from services.user.service import UserDeps
from services.user.tokens import TokenIssuer


class FakeUserRepository:
    """UserRepository in dictionaries."""

    def __init__(self) -> None:
        self.users: dict[str, User] = {}
        self.goals: dict[str, Goal] = {}
        self.requests: dict[str, str] = {}
        self.processed: set[str] = set()
        self.notifications: list[Notification] = []
        self.notes_by_request: dict[str, list[Notification]] = {}
        # Users being deleted (hidden from reads) or erased (None), with the deleting saga.
        self.deleting: dict[str, tuple[str, User | None]] = {}

    def add_user(self, user: User, request_id: str) -> User:
        if request_id and request_id in self.requests:
            return self.users[self.requests[request_id]]
        if any(email_key(u.email) == email_key(user.email) for u in self.users.values()):
            raise EmailAlreadyRegistered("taken")
        if any(u.username == user.username for u in self.users.values()):
            raise UsernameTaken("taken")
        self.users[user.user_id] = user
        self.requests[request_id] = user.user_id
        return user

    def get_user(self, user_id: str) -> User | None:
        return self.users.get(user_id)

    def find_by_email(self, email: str) -> User | None:
        return next(
            (u for u in self.users.values() if email_key(u.email) == email_key(email)), None
        )

    def update_profile(self, user_id: str, changes: Mapping[str, Any]) -> User | None:
        user = self.users.get(user_id)
        if user is None:
            return None
        self.users[user_id] = replace(user, profile=replace(user.profile, **changes))
        return self.users[user_id]

    def get_goal(self, user_id: str, goal_id: str) -> Goal | None:
        goal = self.goals.get(goal_id)
        return goal if goal and goal.user_id == user_id else None

    def list_goals(self, user_id: str) -> list[Goal]:
        mine = [g for g in self.goals.values() if g.user_id == user_id]
        return sorted(mine, key=lambda g: (g.created_at, g.goal_id), reverse=True)

    def write_goals(self, request_id: str, writes: Sequence[GoalWrite], now: datetime) -> bool:
        if request_id in self.processed:
            return False
        for write in writes:
            key = (write.previous or write.new).goal_id  # type: ignore[union-attr]
            if self.goals.get(key) != write.previous:
                raise StaleGoal(key)
        for write in writes:
            key = (write.previous or write.new).goal_id  # type: ignore[union-attr]
            if write.new is None:
                del self.goals[key]
            else:
                self.goals[key] = write.new
            self.notifications.extend(write.notifications)
            self.notes_by_request.setdefault(request_id, []).extend(write.notifications)
        self.processed.add(request_id)
        return True

    def notifications_of(self, request_id: str) -> list[Notification]:
        mine = [n for n in self.notes_by_request.get(request_id, []) if n in self.notifications]
        return sorted(mine, key=lambda n: (n.created_at, n.notification_id))

    def list_notifications(self, user_id: str, limit: int) -> list[Notification]:
        mine = [n for n in self.notifications if n.user_id == user_id]
        return sorted(mine, key=lambda n: n.created_at, reverse=True)[:limit]

    def mark_deleting(self, user_id: str, saga_id: str, request_id: str, now: datetime) -> bool:
        if request_id in self.processed:
            return True
        user = self.users.pop(user_id, None)
        if user is None:
            return False
        self.deleting[user_id] = (saga_id, user)
        self.processed.add(request_id)
        return True

    def unmark_deleting(self, user_id: str, saga_id: str) -> None:
        if self.deleting.get(user_id, ("", None))[0] == saga_id:
            _, user = self.deleting.pop(user_id)
            if user is not None:
                self.users[user_id] = user

    def erase_user(self, user_id: str, request_id: str, now: datetime) -> None:
        self.processed.add(request_id)
        self.deleting[user_id] = ("", None)
        self.goals = {k: g for k, g in self.goals.items() if g.user_id != user_id}
        self.notifications = [n for n in self.notifications if n.user_id != user_id]


def fake_user_deps(private_key_pem: bytes) -> UserDeps:
    """User use-case dependencies on fakes, with a stepping clock and counted ids."""
    ids = (f"id-{n}" for n in itertools.count())
    clock = SteppingClock()
    tokens = TokenIssuer(
        private_key_pem, issuer="iss", audience="aud", ttl_seconds=600, clock=clock
    )
    return UserDeps(
        FakeUserRepository(),
        FakeHasher(),
        tokens,
        FakeAuthStore(),
        clock,
        lambda: next(ids),
        "hashed:decoy",
    )


class FakeAuthStore:
    """AuthStore in dictionaries."""

    def __init__(self) -> None:
        self.grants: dict[tuple[str, str], RoleGrant] = {}
        self.refresh: dict[str, RefreshRecord] = {}

    def roles_of(self, user_id: str) -> tuple[str, ...]:
        return tuple(sorted(role for uid, role in self.grants if uid == user_id))

    def grant_role(self, grant: RoleGrant) -> bool:
        key = (grant.user_id, grant.role)
        if key in self.grants:
            return False
        self.grants[key] = grant
        return True

    def revoke_role(self, user_id: str, role: str) -> bool:
        return self.grants.pop((user_id, role), None) is not None

    def list_grants(self, role: str | None) -> list[RoleGrant]:
        found = [g for g in self.grants.values() if role is None or g.role == role]
        return sorted(found, key=lambda g: (g.granted_at, g.user_id))

    def add_refresh(self, record: RefreshRecord) -> None:
        self.refresh[record.token_hash] = record

    def find_refresh(self, token_hash: str) -> RefreshRecord | None:
        return self.refresh.get(token_hash)

    def exchange_refresh(self, token_hash: str, new: RefreshRecord, now: datetime) -> bool:
        old = self.refresh[token_hash]
        if old.used_at is not None or old.revoked_at is not None:
            return False
        self.refresh[token_hash] = replace(old, used_at=now)
        self.refresh[new.token_hash] = new
        return True

    def revoke_family(self, family_id: str, now: datetime) -> None:
        for key, record in self.refresh.items():
            if record.family_id == family_id and record.revoked_at is None:
                self.refresh[key] = replace(record, revoked_at=now)


class FakeHasher:
    """Reversible 'hashing' that records how often it ran."""

    def __init__(self) -> None:
        self.verifications = 0

    def hash(self, password: str) -> str:
        return f"hashed:{password}"

    def verify(self, password_hash: str, password: str) -> bool:
        self.verifications += 1
        return password_hash == f"hashed:{password}"


@dataclass
class OutboxRow:
    """One event of the fake outbox, with its lease and delivery state."""

    event: ProgressEvent
    created_at: datetime
    due_at: datetime
    lease_owner: str | None = None
    lease_until: datetime | None = None
    delivered_at: datetime | None = None
    last_error: str = ""


class FakeProgressOutbox:
    """ProgressOutbox in a dictionary, leasing as the real adapters do."""

    def __init__(self) -> None:
        self.rows: dict[str, OutboxRow] = {}

    def add(self, event: ProgressEvent, now: datetime) -> None:
        self.rows[event.event_id] = OutboxRow(event, now, now)

    def _claimable(self, row: OutboxRow, now: datetime) -> bool:
        free = row.lease_until is None or row.lease_until < now
        return row.delivered_at is None and row.due_at <= now and free

    def claim_progress(
        self, owner: str, now: datetime, lease: timedelta, limit: int
    ) -> list[ProgressEvent]:
        due = sorted(
            (r for r in self.rows.values() if self._claimable(r, now)),
            key=lambda r: (r.due_at, r.event.event_id),
        )[:limit]
        for row in due:
            row.lease_owner, row.lease_until = owner, now + lease
        return [row.event for row in due]

    def progress_delivered(self, event_id: str, now: datetime) -> None:
        row = self.rows.get(event_id)
        if row and row.delivered_at is None:
            row.delivered_at, row.lease_owner, row.lease_until = now, None, None

    def retry_progress(self, event_id: str, owner: str, due: datetime, error: str) -> None:
        row = self.rows.get(event_id)
        if row and row.lease_owner == owner and row.delivered_at is None:
            attempts = row.event.attempts + 1
            row.event = replace(row.event, attempts=attempts)
            row.due_at, row.lease_owner, row.lease_until = due, None, None
            row.last_error = error

    def pending_progress(self) -> list[ProgressEvent]:
        pending = [r for r in self.rows.values() if r.delivered_at is None]
        return [r.event for r in sorted(pending, key=lambda r: (r.created_at, r.event.event_id))]

    def prune_delivered(self, before: datetime, limit: int) -> int:
        old = sorted(
            (r for r in self.rows.values() if r.delivered_at and r.delivered_at < before),
            key=lambda r: (r.delivered_at, r.event.event_id),
        )[:limit]
        for row in old:
            del self.rows[row.event.event_id]
        return len(old)


class FakeWorkoutRepository:
    """WorkoutRepository in dictionaries; ended sessions queue events in ``outbox``."""

    def __init__(self, outbox: FakeProgressOutbox | None = None) -> None:
        self.sessions: dict[str, WorkoutSession] = {}
        self.by_request: dict[str, str] = {}
        self.statistics: dict[str, Statistics] = {}
        # Per goal: its plan and the plan it replaced (kept one level deep, as stored).
        self.plans: dict[str, tuple[GoalPlan, GoalPlan | None]] = {}
        self._ending = threading.Lock()  # concurrent ends count once, as in a transaction
        self.outbox = outbox or FakeProgressOutbox()

    def add_session(self, session: WorkoutSession, request_id: str) -> WorkoutSession:
        if request_id and request_id in self.by_request:
            return self.sessions[self.by_request[request_id]]
        self.sessions[session.session_id] = session
        self.by_request[request_id] = session.session_id
        return session

    def get_session(self, session_id: str) -> WorkoutSession | None:
        return self.sessions.get(session_id)

    def complete_session(
        self, session_id: str, end_time: datetime, duration: float, calories: float, request_id: str
    ) -> WorkoutSession | None:
        with self._ending:
            return self._complete(session_id, end_time, duration, calories, request_id)

    def _complete(
        self, session_id: str, end_time: datetime, duration: float, calories: float, request_id: str
    ) -> WorkoutSession | None:
        session = self.sessions.get(session_id)
        if session is None:
            return None
        if session.end_time is not None:
            return session if request_id and session.end_request_id == request_id else None
        ended = replace(
            session,
            end_time=end_time,
            duration=duration,
            calories_burned=calories,
            end_request_id=request_id,
        )
        self.sessions[session_id] = ended
        old = self.statistics.get(session.user_id, Statistics())
        self.statistics[session.user_id] = Statistics(
            old.total_workouts + 1,
            old.total_duration + duration,
            old.total_calories_burned + calories,
        )
        event = replace(ProgressEvent.of(ended), trace_id=request_id_var.get())
        self.outbox.add(event, end_time)
        return ended

    def list_sessions(self, user_id: str, limit: int, after: Cursor | None) -> list[WorkoutSession]:
        mine = sorted(
            (s for s in self.sessions.values() if s.user_id == user_id),
            key=lambda s: (s.start_time, s.session_id),
            reverse=True,
        )
        if after:
            mine = [
                s
                for s in mine
                if (s.start_time, s.session_id) < (after.start_time, after.session_id)
            ]
        return mine[:limit]

    def get_statistics(self, user_id: str) -> Statistics:
        return self.statistics.get(user_id, Statistics())

    def totals_since(self, user_id: str, since: datetime) -> Totals:
        ended = [
            s
            for s in self.sessions.values()
            if s.user_id == user_id and s.end_time is not None and s.end_time >= since
        ]
        minutes = sum(s.duration for s in ended) / 60
        return Totals(len(ended), minutes, sum(s.calories_burned for s in ended))

    def put_plan(self, plan: GoalPlan) -> bool:
        stored = self.plans.get(plan.goal_id)
        if stored and stored[0].request_id == plan.request_id:
            return False
        self.plans[plan.goal_id] = (plan, stored[0] if stored else None)
        return True

    def restore_plan(self, goal_id: str, put_request_id: str) -> None:
        stored = self.plans.get(goal_id)
        if not stored or stored[0].request_id != put_request_id:
            return
        del self.plans[goal_id]
        if stored[1]:
            self.plans[goal_id] = (stored[1], None)

    def get_plan(self, goal_id: str) -> GoalPlan | None:
        stored = self.plans.get(goal_id)
        return stored[0] if stored else None

    def active_plans(self, user_id: str) -> list[GoalPlan]:
        mine = [p for p, _ in self.plans.values() if p.user_id == user_id and p.active]
        return sorted(mine, key=lambda p: (p.target_date, p.goal_id))

    def delete_user_data(self, user_id: str) -> int:
        mine = [key for key, s in self.sessions.items() if s.user_id == user_id]
        for key in mine:
            del self.sessions[key]
        self.statistics.pop(user_id, None)
        self.plans = {k: p for k, p in self.plans.items() if p[0].user_id != user_id}
        gone = [k for k, row in self.outbox.rows.items() if row.event.user_id == user_id]
        for key in gone:
            del self.outbox.rows[key]
        return len(mine)


class FakeUserDirectory:
    """UserDirectory with fixed weights; users in ``unknown`` do not exist."""

    def __init__(
        self, weights: dict[str, float] | None = None, unknown: set[str] | None = None
    ) -> None:
        self.weights = weights or {}
        self.unknown = unknown if unknown is not None else set()

    def weight_kg(self, user_id: str) -> float | None:
        if user_id in self.unknown:
            raise UnknownUser(f"user {user_id} not found")
        return self.weights.get(user_id)


class SteppingClock:
    """A wall clock that advances by a fixed step on each reading."""

    def __init__(
        self, start: datetime | None = None, step: timedelta = timedelta(seconds=1)
    ) -> None:
        self.now = start or datetime(2030, 1, 1, 8, 0, tzinfo=UTC)
        self.step = step

    def __call__(self) -> datetime:
        current = self.now
        self.now += self.step
        return current
