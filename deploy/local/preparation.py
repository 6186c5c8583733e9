"""What the launcher does once before starting the children: a private data directory,
signing keys, service certificates and migrated databases."""

from __future__ import annotations

import os
import shlex
import stat
import subprocess
from pathlib import Path

from deploy.certs import ensure_certs
from deploy.keygen import ensure_keys
from deploy.local.topology import LocalSettings, Topology, certs_dir
from deploy.supervisor import CHILD_UMASK

# One instance of each component with a database migrates it, before any serves.
MIGRATING = ("user-1", "activity-1", "saga")


def prepare(topology: Topology) -> None:
    """Create the private data directory, signing keys and service certificates, and
    migrate every database once."""
    prepare_files(topology.settings)
    migrate_all(topology)


def prepare_files(settings: LocalSettings) -> None:
    """The private data directory, the signing keys and the service certificates."""
    make_private(settings.data_dir)
    ensure_keys(settings.data_dir / "keys")
    ensure_certs(certs_dir(settings.data_dir.resolve()))


class MigrationFailed(RuntimeError):
    """A component's ``migrate`` command failed; its output is above."""


def migrate_all(topology: Topology) -> None:
    """Migrate every database once, by the first instance of each component that has one."""
    finish_migrations(start_migrations(topology))


Migrations = list[tuple[str, "subprocess.Popen[bytes]"]]


def start_migrations(topology: Topology) -> Migrations:
    """Start the migrations, all at once: each has its own database (or its own tables and
    Alembic version table), and interpreters starting one after another add up."""
    running = []
    for name in MIGRATING:
        spec = next(s for s in topology.specs if s.name == name)
        env = {**os.environ, **spec.env}
        running.append(
            (name, subprocess.Popen([*spec.argv, "migrate"], env=env, umask=CHILD_UMASK))
        )
    return running


def finish_migrations(running: Migrations) -> None:
    """Wait for the migrations; MigrationFailed naming those that failed."""
    failed = [name for name, process in running if process.wait() != 0]
    if failed:
        raise MigrationFailed(f"migrating the database of {', '.join(failed)} failed")


def make_private(data_dir: Path) -> None:
    """Create ``data_dir`` 0700 and take group and other permissions off all it holds.

    It holds password hashes and signing keys; a data dir from before files were
    created private is tightened too. Symbolic links are left alone.
    """
    data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    data_dir.chmod(0o700)
    for root, folders, files in os.walk(data_dir):
        for name in [*folders, *files]:
            path = Path(root, name)
            mode = path.lstat().st_mode
            if not stat.S_ISLNK(mode) and stat.S_IMODE(mode) & 0o077:
                path.chmod(stat.S_IMODE(mode) & 0o700)


def grant_admin_command(settings: LocalSettings, email: str = "you@example.com") -> str:
    """The operator command that grants the admin role to an account of this platform."""
    grant = f".venv/bin/python -m services.user roles grant admin --email {email}"
    return f"USER_DATABASE_URL={shlex.quote(settings.user_store_url())} {grant}"
