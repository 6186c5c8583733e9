"""Alembic migrations build exactly the tables the code uses, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import MetaData, text

from saga_coordinator.__main__ import MIGRATIONS as SAGA_MIGRATIONS
from saga_coordinator.log import metadata as saga_metadata
from services.activity.__main__ import MIGRATIONS as ACTIVITY_MIGRATIONS
from services.activity.tables import metadata as activity_metadata
from services.common.db import make_engine, migrate
from services.common.timeutil import as_utc
from services.user.__main__ import MIGRATIONS as USER_MIGRATIONS
from services.user.tables import metadata as user_metadata

VERSION_TABLES = {SAGA_MIGRATIONS: "saga_alembic_version"}


@pytest.mark.parametrize(
    ("migrations", "metadata"),
    [
        (USER_MIGRATIONS, user_metadata),
        (ACTIVITY_MIGRATIONS, activity_metadata),
        (SAGA_MIGRATIONS, saga_metadata),
    ],
    ids=["user", "activity", "saga"],
)
def test_the_migrated_schema_matches_the_code(
    database_url: str, migrations: Path, metadata: MetaData
) -> None:
    engine = make_engine(database_url)
    migrate(engine, migrations)
    with engine.connect() as connection:
        version_table = VERSION_TABLES.get(migrations, "alembic_version")
        context = MigrationContext.configure(connection, opts={"version_table": version_table})
        differences = compare_metadata(context, metadata)
    engine.dispose()
    assert differences == []


def test_the_saga_log_and_the_user_service_can_share_one_database(sqlite_url: str) -> None:
    engine = make_engine(sqlite_url)
    migrate(engine, USER_MIGRATIONS)
    migrate(engine, SAGA_MIGRATIONS)
    with engine.connect() as connection:
        user_revision = MigrationContext.configure(connection).get_current_revision()
        saga_context = MigrationContext.configure(
            connection, opts={"version_table": "saga_alembic_version"}
        )
        assert (user_revision, saga_context.get_current_revision()) == ("0006", "0001")


def test_migrating_twice_changes_nothing(sqlite_url: str) -> None:
    engine = make_engine(sqlite_url)
    migrate(engine, USER_MIGRATIONS)
    migrate(engine, USER_MIGRATIONS)
    with engine.connect() as connection:
        assert MigrationContext.configure(connection).get_current_revision() == "0006"


def test_change_tracking_backfills_updated_at_from_what_the_rows_already_say(
    database_url: str,
) -> None:
    users_engine = make_engine(database_url)
    migrate(users_engine, USER_MIGRATIONS, "0002")
    created = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)
    with users_engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO users (user_id, username, email, email_key, password_hash,"
                " display_name, created_at) VALUES ('u1', 'ann', 'a@x.io', 'a@x.io', 'h', '', :at)"
            ),
            {"at": created},
        )
    migrate(users_engine, USER_MIGRATIONS)
    with users_engine.connect() as conn:
        stored = conn.execute(text("SELECT updated_at FROM users")).scalar_one()
    users_engine.dispose()
    assert as_utc(_as_datetime(stored)) == created


def _as_datetime(value: object) -> datetime:
    return value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
