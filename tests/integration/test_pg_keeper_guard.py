"""Keepers start through the orphan guard: as the server user, same PID, gone with their thread."""

from __future__ import annotations

import os
import pwd
import signal
import subprocess
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from deploy import pg_autoctl
from deploy.polling import wait_for


def proc_field(pid: int, name: str) -> str:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{name}:"):
            return line.split()[1]
    raise LookupError(name)


@pytest.fixture
def root() -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="pg-guard-") as folder:
        yield Path(folder)


def test_a_keeper_runs_as_the_server_user_in_place_and_dies_with_the_thread_that_started_it(
    root: Path,
) -> None:
    user = pg_autoctl.prepare(root)
    started: list[subprocess.Popen[bytes]] = []
    seen: dict[str, str] = {}

    def start_then_end() -> None:
        process = pg_autoctl.popen(["sleep", "60"], root, user, subprocess.DEVNULL, True)
        started.append(process)
        # Once the guard exec'd the command, the death signal is armed.
        wait_for(lambda: proc_field(process.pid, "Name") == "sleep", 10, "the exec")
        seen["uid"] = proc_field(process.pid, "Uid")

    thread = threading.Thread(target=start_then_end)
    thread.start()
    thread.join()
    (process,) = started
    try:
        code = process.wait(timeout=10)
    finally:
        if process.poll() is None:
            os.kill(process.pid, signal.SIGKILL)
            process.wait()
    expected = pwd.getpwnam(user).pw_uid if user else os.geteuid()
    assert seen["uid"] == str(expected)
    assert code == -signal.SIGTERM


def test_a_formation_folder_under_a_private_one_is_refused_and_no_mode_is_widened(
    root: Path,
) -> None:
    private = root / "private"
    private.mkdir(mode=0o700)
    private.chmod(0o700)  # whatever the umask
    with pytest.raises(PermissionError, match=f"{private} is not traversable"):
        pg_autoctl.require_traversable(private)  # the folder a formation would go in
    assert private.stat().st_mode & 0o777 == 0o700


def test_a_formation_folder_whose_parents_are_traversable_is_accepted(root: Path) -> None:
    pg_autoctl.require_traversable(root.parent)  # the system's temporary folder
