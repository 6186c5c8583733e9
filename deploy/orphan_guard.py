"""Run a command that Linux SIGTERMs when its parent dies: ``python -m deploy.orphan_guard CMD``.

The supervisor starts every component through this instead of a ``preexec_fn``: code
run between fork and exec deadlocks when another thread of the parent (gRPC runs
several) held a lock at the moment of the fork. The death signal survives the exec.
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys

PR_SET_PDEATHSIG = 1


def main() -> None:
    """Ask for SIGTERM on the parent's death, then become the command."""
    if sys.platform == "linux":
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    os.execvp(sys.argv[1], sys.argv[1:])


if __name__ == "__main__":
    main()
