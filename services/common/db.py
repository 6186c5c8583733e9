"""SQLAlchemy engines for the embedded SQLite default and PostgreSQL, plus migrations."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event

SQLITE_BUSY_TIMEOUT_MS = 5000


def make_engine(url: str, pool_size: int = 16, **options: Any) -> Engine:
    """Create an engine pooling ``pool_size`` connections, one per worker thread.

    SQLite connections get WAL, a busy timeout and foreign keys. A pool smaller than
    the thread pool would open and close (and re-tune) a connection on most calls.
    """
    if url.startswith("postgresql://"):
        url = url.replace("postgresql://", "postgresql+psycopg://", 1)
    pooling = {"pool_size": pool_size, "max_overflow": 0, **options}
    if not url.startswith("sqlite"):
        return create_engine(url, pool_pre_ping=True, **pooling)
    engine = create_engine(url, connect_args={"check_same_thread": False}, **pooling)
    event.listen(engine, "connect", _tune_sqlite)
    return engine


def reads_in_process(url: str) -> bool:
    """Whether reads from this database are in-process work (SQLite) rather than network I/O."""
    return url.startswith("sqlite")


def _tune_sqlite(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def migrate(engine: Engine, migrations_dir: Path, revision: str = "head") -> None:
    """Bring the database behind the engine to an Alembic revision (the newest by default)."""
    config = Config()
    config.set_main_option("script_location", str(migrations_dir))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)
