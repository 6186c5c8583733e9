"""Process trees read from /proc, SIGKILL of a whole tree (PostgreSQL's included), and
stopping a child we started."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
from collections.abc import Mapping
from pathlib import Path


def stop_child(process: subprocess.Popen[bytes], grace: float = 10.0) -> None:
    """SIGTERM a child we started, by its PID; SIGKILL it if it is still there after ``grace`` s."""
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=grace)


def parent_pid(stat: str) -> int:
    """The parent PID from a /proc/PID/stat line (the command may hold spaces and ')')."""
    return int(stat.rsplit(")", 1)[1].split()[1])


def descendants(root: int, parents: Mapping[int, int]) -> list[int]:
    """``root`` and every process below it, parents before children."""
    children: dict[int, list[int]] = {}
    for pid, parent in parents.items():
        children.setdefault(parent, []).append(pid)
    tree = [root]
    for pid in tree:
        tree.extend(sorted(children.get(pid, [])))
    return tree


def process_parents(proc: Path = Path("/proc")) -> dict[int, int]:
    """Every live process and its parent, read from /proc."""
    parents = {}
    for entry in proc.iterdir():
        if entry.name.isdigit():
            try:
                parents[int(entry.name)] = parent_pid((entry / "stat").read_text())
            except (OSError, IndexError, ValueError):  # it exited while we looked
                continue
    return parents


def kill_tree(root: int) -> list[int]:
    """SIGKILL ``root`` and all its descendants at once; returns the PIDs killed.

    PostgreSQL's children call setsid, so neither a process group nor the postmaster
    alone reaches them (a backend outlives its postmaster for as long as its client
    talks). The tree is frozen first (a stopped process cannot fork) and walked again
    until it no longer grows, so nothing forked mid-walk escapes.
    """
    frozen: list[int] = []
    while True:
        tree = [pid for pid in descendants(root, process_parents()) if pid not in frozen]
        if not tree:
            break
        for pid in tree:
            _signal(pid, signal.SIGSTOP)
        frozen.extend(tree)
    for pid in frozen:
        _signal(pid, signal.SIGKILL)
    return frozen


def _signal(pid: int, signum: int) -> None:
    with contextlib.suppress(ProcessLookupError):  # it exited meanwhile
        os.kill(pid, signum)
