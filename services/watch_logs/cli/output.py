"""Where an export goes: a file created 0600, or stdout; and how many rows went by."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import BinaryIO


def open_private(path: Path) -> BinaryIO:
    """``path`` for writing, created (or truncated) readable by its owner only."""
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    # An existing file keeps its mode through O_CREAT: narrow it, the rows are personal data.
    os.fchmod(descriptor, 0o600)
    return os.fdopen(descriptor, "wb")


def destination(path: Path | None) -> BinaryIO:
    """The output file, or stdout's bytes."""
    return open_private(path) if path else sys.stdout.buffer


class RowCounter:
    """Counts the rows in a byte stream of lines (CSV without its header, or NDJSON)."""

    def __init__(self, header_lines: int) -> None:
        self._skip = header_lines
        self.lines = 0

    def feed(self, chunk: bytes) -> int:
        """The rows that ended in ``chunk``."""
        before = self.rows
        self.lines += chunk.count(b"\n")
        return self.rows - before

    @property
    def rows(self) -> int:
        """Rows seen so far."""
        return max(0, self.lines - self._skip)
