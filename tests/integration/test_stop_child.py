"""Stopping a child we started: SIGTERM by its PID, SIGKILL when it does not go."""

from __future__ import annotations

import signal
import subprocess
import sys

from deploy.process_tree import stop_child

IGNORES_SIGTERM = (
    "import signal, sys, time\n"
    "signal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
    "print('ready', flush=True)\n"
    "time.sleep(60)\n"
)


def child(code: str) -> subprocess.Popen[bytes]:
    """A Python child running ``code``, started once it says it is ready."""
    process = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE)
    assert process.stdout is not None
    with process.stdout:  # it prints nothing after this
        assert process.stdout.readline() == b"ready\n"
    return process


def test_a_child_that_heeds_sigterm_ends_by_it() -> None:
    process = child("import time\nprint('ready', flush=True)\ntime.sleep(60)\n")
    stop_child(process, grace=10.0)
    assert process.returncode == -signal.SIGTERM


def test_a_child_that_ignores_sigterm_is_killed_after_the_grace() -> None:
    process = child(IGNORES_SIGTERM)
    stop_child(process, grace=0.5)
    assert process.returncode == -signal.SIGKILL


def test_a_child_that_already_exited_is_left_as_it_is() -> None:
    process = subprocess.Popen([sys.executable, "-c", "raise SystemExit(3)"])
    process.wait(timeout=10)
    stop_child(process)
    assert process.returncode == 3
