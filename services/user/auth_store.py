"""Storage of granted roles and refresh tokens: the port, and its SQLAlchemy adapter."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import Engine, bindparam, delete, select, update
from sqlalchemy.engine import RowMapping
from sqlalchemy.exc import IntegrityError

from services.common.timeutil import as_utc
from services.user.domain import RefreshRecord, RoleGrant
from services.user.tables import refresh_tokens, user_roles


class AuthStore(Protocol):
    """Port: which roles users hold, and which refresh tokens exist."""

    def roles_of(self, user_id: str) -> tuple[str, ...]:
        """The roles the user holds, sorted."""
        ...

    def grant_role(self, grant: RoleGrant) -> bool:
        """Record the grant; False when the user already held the role."""
        ...

    def revoke_role(self, user_id: str, role: str) -> bool:
        """Remove the role; False when the user did not hold it."""
        ...

    def list_grants(self, role: str | None) -> list[RoleGrant]:
        """Every grant (of one role, if given), oldest first."""
        ...

    def add_refresh(self, record: RefreshRecord) -> None:
        """Store a new refresh token."""
        ...

    def find_refresh(self, token_hash: str) -> RefreshRecord | None:
        """The refresh token with this SHA-256, if any."""
        ...

    def exchange_refresh(self, token_hash: str, new: RefreshRecord, now: datetime) -> bool:
        """Mark the token used and store its successor, all or nothing.

        False, storing nothing, when the token was used or revoked meanwhile.
        """
        ...

    def revoke_family(self, family_id: str, now: datetime) -> None:
        """Revoke every refresh token of one login."""
        ...


# Built once with bind parameters: a login runs the first three, and building a
# statement per call cost more than running it.
ROLES_OF = select(user_roles.c.role).where(user_roles.c.user_id == bindparam("user_id"))
EXPIRED_REFRESH = delete(refresh_tokens).where(
    refresh_tokens.c.user_id == bindparam("user_id"),
    refresh_tokens.c.expires_at < bindparam("now"),
)
INSERT_REFRESH = refresh_tokens.insert()
REFRESH_BY_HASH = select(refresh_tokens).where(
    refresh_tokens.c.token_hash == bindparam("token_hash")
)


class SqlAuthStore:
    """AuthStore on SQLAlchemy Core, in the user service's database."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def roles_of(self, user_id: str) -> tuple[str, ...]:
        """The roles the user holds, sorted."""
        with self._engine.connect() as conn:
            return tuple(sorted(conn.execute(ROLES_OF, {"user_id": user_id}).scalars()))

    def grant_role(self, grant: RoleGrant) -> bool:
        """Insert the grant; a primary-key clash means the user already held it."""
        row = {"user_id": grant.user_id, "role": grant.role, "granted_at": grant.granted_at}
        try:
            with self._engine.begin() as conn:
                conn.execute(user_roles.insert().values(row))
        except IntegrityError:
            if grant.role in self.roles_of(grant.user_id):
                return False
            raise
        return True

    def revoke_role(self, user_id: str, role: str) -> bool:
        """Delete the grant."""
        query = delete(user_roles).where(user_roles.c.user_id == user_id, user_roles.c.role == role)
        with self._engine.begin() as conn:
            return conn.execute(query).rowcount == 1

    def list_grants(self, role: str | None) -> list[RoleGrant]:
        """Every grant (of one role, if given), oldest first."""
        query = select(user_roles).order_by(user_roles.c.granted_at, user_roles.c.user_id)
        if role is not None:
            query = query.where(user_roles.c.role == role)
        with self._engine.connect() as conn:
            rows = conn.execute(query).mappings().all()
        return [RoleGrant(row["user_id"], row["role"], as_utc(row["granted_at"])) for row in rows]

    def add_refresh(self, record: RefreshRecord) -> None:
        """Insert the token's record, and drop the user's expired ones (they prove nothing)."""
        expired = {"user_id": record.user_id, "now": record.issued_at}
        with self._engine.begin() as conn:
            conn.execute(EXPIRED_REFRESH, expired)
            conn.execute(INSERT_REFRESH, _refresh_row(record))

    def find_refresh(self, token_hash: str) -> RefreshRecord | None:
        """The record with this SHA-256, if any."""
        with self._engine.connect() as conn:
            row = conn.execute(REFRESH_BY_HASH, {"token_hash": token_hash}).mappings().first()
        return _to_refresh(row) if row else None

    def exchange_refresh(self, token_hash: str, new: RefreshRecord, now: datetime) -> bool:
        """Compare-and-set used_at, so two concurrent exchanges cannot both succeed.

        The family's rows are locked first (PostgreSQL; SQLite serialises writers anyway),
        so a concurrent revoke_family either finishes before (and the exchange is refused)
        or waits and then sees the successor too. The family's older rows are deleted: the
        one just presented stays, marked used, so presenting it again is still detected.
        """
        family = refresh_tokens.c.family_id == new.family_id
        locked = select(refresh_tokens.c.revoked_at).where(family).with_for_update()
        claim = (
            update(refresh_tokens)
            .where(
                refresh_tokens.c.token_hash == token_hash,
                refresh_tokens.c.used_at.is_(None),
                refresh_tokens.c.revoked_at.is_(None),
            )
            .values(used_at=now)
        )
        older = delete(refresh_tokens).where(family, refresh_tokens.c.token_hash != token_hash)
        with self._engine.begin() as conn:
            if any(revoked is not None for revoked in conn.execute(locked).scalars()):
                return False
            if conn.execute(claim).rowcount != 1:
                return False
            conn.execute(older)
            conn.execute(INSERT_REFRESH, _refresh_row(new))
        return True

    def revoke_family(self, family_id: str, now: datetime) -> None:
        """Set revoked_at on the family's tokens that are not revoked yet."""
        family = refresh_tokens.c.family_id == family_id
        # Waits for an exchange in progress, then (a new statement, a new snapshot on
        # PostgreSQL's READ COMMITTED) revokes the successor it stored as well.
        locked = select(refresh_tokens.c.token_hash).where(family).with_for_update()
        query = (
            update(refresh_tokens)
            .where(family, refresh_tokens.c.revoked_at.is_(None))
            .values(revoked_at=now)
        )
        with self._engine.begin() as conn:
            conn.execute(locked)
            conn.execute(query)


def _refresh_row(record: RefreshRecord) -> dict[str, Any]:
    return {
        "token_hash": record.token_hash,
        "family_id": record.family_id,
        "user_id": record.user_id,
        "issued_at": record.issued_at,
        "expires_at": record.expires_at,
        "used_at": record.used_at,
        "revoked_at": record.revoked_at,
    }


def _to_refresh(row: RowMapping) -> RefreshRecord:
    def when(name: str) -> datetime | None:
        value = row[name]
        return as_utc(value) if value is not None else None

    return RefreshRecord(
        token_hash=row["token_hash"],
        family_id=row["family_id"],
        user_id=row["user_id"],
        issued_at=as_utc(row["issued_at"]),
        expires_at=as_utc(row["expires_at"]),
        used_at=when("used_at"),
        revoked_at=when("revoked_at"),
    )
