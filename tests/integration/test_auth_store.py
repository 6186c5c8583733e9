"""The SQL store of roles and refresh tokens, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, delete

from services.common.db import make_engine, migrate
from services.user.__main__ import MIGRATIONS
from services.user.auth_store import SqlAuthStore
from services.user.domain import Profile, RefreshRecord, RoleGrant, User
from services.user.sql_repository import SqlUserRepository
from services.user.tables import users

NOW = datetime(2030, 1, 1, 8, 0, tzinfo=UTC)


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    engine = make_engine(database_url)
    migrate(engine, MIGRATIONS)
    repo = SqlUserRepository(engine)
    for name in ("ann", "bob"):
        repo.add_user(User(name, name, f"{name}@x.io", "h", Profile(), NOW), name)
    yield engine
    engine.dispose()


def record(token_hash: str, family: str = "f1", user_id: str = "ann") -> RefreshRecord:
    return RefreshRecord(token_hash, family, user_id, NOW, NOW + timedelta(days=30))


def test_a_token_is_exchanged_once_and_its_successor_joins_the_family(engine: Engine) -> None:
    store = SqlAuthStore(engine)
    store.add_refresh(record("a" * 64))
    assert store.exchange_refresh("a" * 64, record("b" * 64), NOW)
    assert not store.exchange_refresh("a" * 64, record("c" * 64), NOW)
    assert store.find_refresh("c" * 64) is None
    assert store.find_refresh("a" * 64) == replace(record("a" * 64), used_at=NOW)
    assert store.find_refresh("b" * 64) == record("b" * 64)


def test_a_new_token_drops_only_its_owners_expired_tokens(engine: Engine) -> None:
    store = SqlAuthStore(engine)
    long_ago = NOW - timedelta(days=60)
    expired = RefreshRecord("a" * 64, "f1", "ann", long_ago, NOW - timedelta(seconds=1))
    store.add_refresh(expired)
    store.add_refresh(replace(expired, token_hash="b" * 64, family_id="f2", user_id="bob"))
    store.add_refresh(record("c" * 64, "f3"))
    store.add_refresh(record("d" * 64, "f4"))
    assert store.find_refresh("a" * 64) is None
    assert store.find_refresh("b" * 64) is not None  # bob's: not ann's to drop
    assert store.find_refresh("c" * 64) == record("c" * 64, "f3")


def test_revoking_a_family_leaves_other_families_alone(engine: Engine) -> None:
    store = SqlAuthStore(engine)
    store.add_refresh(record("a" * 64, "f1"))
    store.add_refresh(record("b" * 64, "f2"))
    store.revoke_family("f1", NOW)
    assert store.find_refresh("a" * 64) == replace(record("a" * 64), revoked_at=NOW)
    assert store.find_refresh("b" * 64) == record("b" * 64, "f2")
    assert not store.exchange_refresh("a" * 64, record("c" * 64), NOW)


def test_roles_are_granted_once_listed_and_revoked(engine: Engine) -> None:
    store = SqlAuthStore(engine)
    assert store.grant_role(RoleGrant("bob", "admin", NOW))
    assert not store.grant_role(RoleGrant("bob", "admin", NOW))
    assert store.roles_of("bob") == ("admin",)
    assert store.roles_of("ann") == ()
    assert store.list_grants("admin") == [RoleGrant("bob", "admin", NOW)]
    assert store.revoke_role("bob", "admin")
    assert not store.revoke_role("bob", "admin")
    assert store.list_grants(None) == []


def test_roles_and_refresh_tokens_go_with_their_account(engine: Engine) -> None:
    store = SqlAuthStore(engine)
    store.grant_role(RoleGrant("ann", "admin", NOW))
    store.add_refresh(record("a" * 64))
    with engine.begin() as conn:
        conn.execute(delete(users).where(users.c.user_id == "ann"))
    assert store.roles_of("ann") == ()
    assert store.find_refresh("a" * 64) is None
