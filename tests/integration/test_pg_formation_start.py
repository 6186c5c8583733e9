"""A formation whose start fails leaves no process behind, not even a standby's create."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from deploy import pg_formation


def processes_under(root: Path) -> dict[int, str]:
    """PIDs and command lines of every process naming ``root`` in its arguments."""
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:  # it exited meanwhile
            continue
        if str(root) in cmdline:
            found[int(entry.name)] = cmdline
    return found


@pytest.fixture
def root() -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="pg-formation-") as folder:
        yield Path(folder)


def test_a_start_failing_while_a_standby_clones_kills_that_clone_and_every_keeper(
    root: Path,
) -> None:
    # node2's data directory cannot be created: its create fails at once, while node3's
    # create is still cloning from the primary.
    (root / "node2").write_text("in the way\n")
    with pytest.raises(RuntimeError, match="creating node2 failed"):
        pg_formation.start(root, timeout=120)
    assert processes_under(root) == {}
