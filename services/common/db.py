"""SQLAlchemy engines for the embedded SQLite default and PostgreSQL, plus migrations."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, Select, create_engine, event, make_url
from sqlalchemy.engine import ExceptionContext

from services.common.dependency import DependencyUnavailable

SQLITE_BUSY_TIMEOUT_MS = 5000
# Seconds psycopg waits for each host of a URL: a host that hangs (rather than refusing)
# must not hold a call past the next one. 2 is the least there is: psycopg (as libpq)
# reads any smaller value as 2 (psycopg.conninfo.timeout_from_conninfo), and the hosts
# are tried in turn, so N hung hosts hold a connect for 2*N s, past the gateway's 3 s
# deadline from two on; a refusing host (the usual failover case) costs nothing.
POSTGRES_CONNECT_TIMEOUT = 2
# SQLSTATEs of a server that cannot take the call now, though another (or the same, soon)
# can: class 08 (connection exceptions), the server shutting down or starting (57P01-03),
# and a read-only transaction (25006: this server was demoted to a standby meanwhile).
UNAVAILABLE_SQLSTATES = ("08", "57P01", "57P02", "57P03", "25006")


class DatabaseUnavailable(DependencyUnavailable):
    """The database cannot take the call now: connection lost, server down, or a standby.

    Raised during a PostgreSQL failover; answered UNAVAILABLE, so callers retry. A write
    whose commit was cut off may or may not have happened: only a retry with the same
    request_id settles it (every mutating RPC carries one), never a guess.
    """


def make_engine(url: str, pool_size: int = 16, **options: Any) -> Engine:
    """Create an engine pooling ``pool_size`` connections, one per worker thread.

    SQLite connections get WAL, a busy timeout and foreign keys. A pool smaller than
    the thread pool would open and close (and re-tune) a connection on most calls.
    A new SQLite file is created readable by its owner only.
    """
    if url.startswith("postgresql://"):
        url = url.replace("postgresql://", "postgresql+psycopg://", 1)
    pooling = {"pool_size": pool_size, "max_overflow": 0, **options}
    if not url.startswith("sqlite"):
        timeout = {} if "connect_timeout" in url else {"connect_timeout": POSTGRES_CONNECT_TIMEOUT}
        engine = create_engine(url, pool_pre_ping=True, connect_args=timeout, **pooling)
        event.listen(engine, "handle_error", _unavailable_instead)
        return engine
    create_private_sqlite_file(url)
    engine = create_engine(url, connect_args={"check_same_thread": False}, **pooling)
    event.listen(engine, "connect", _tune_sqlite)
    return engine


def is_unavailable(sqlstate: str | None, operational: bool, disconnect: bool) -> bool:
    """Whether a database error means "not now, try again" rather than a refusal or a bug.

    An OperationalError without a SQLSTATE is libpq's own failure: it could not connect
    to any host, or lost the connection (the server never answered).
    """
    if disconnect or (sqlstate is None and operational):
        return True
    return sqlstate is not None and sqlstate.startswith(UNAVAILABLE_SQLSTATES)


def _unavailable_instead(context: ExceptionContext) -> BaseException | None:
    """Raise DatabaseUnavailable for a lost connection or a read-only server (PostgreSQL)."""
    error = context.original_exception
    if context.is_pre_ping or not isinstance(error, psycopg.Error):
        return None  # a failed ping only makes the pool reconnect
    operational = isinstance(error, psycopg.OperationalError)
    if not is_unavailable(error.sqlstate, operational, context.is_disconnect):
        return None
    first_line = (str(error).strip().splitlines() or [type(error).__name__])[0]
    return DatabaseUnavailable(f"database unavailable: {first_line}")


def reads_in_process(url: str) -> bool:
    """Whether reads from this database are in-process work (SQLite) rather than network I/O."""
    return url.startswith("sqlite")


def create_private_sqlite_file(url: str) -> None:
    """Create the file of a SQLite URL with mode 0600 unless it exists.

    SQLite would create it 0644 (under the usual umask), and it holds password hashes;
    it gives its -wal and -shm files the database file's mode, so they follow.
    """
    database = make_url(url).database
    if not database or database == ":memory:" or database.startswith("file:"):
        return
    path = Path(database)
    if path.exists() or not path.parent.is_dir():  # a missing folder stays SQLite's to report
        return
    with contextlib.suppress(FileExistsError):  # another instance created it first
        os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))


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


def stream(engine: Engine, query: Select[Any], chunk: int) -> Iterator[Any]:
    """Rows of a query, fetched ``chunk`` at a time on one connection held while iterating."""
    with engine.connect() as conn:
        result = conn.execution_options(stream_results=True, yield_per=chunk).execute(query)
        yield from result
