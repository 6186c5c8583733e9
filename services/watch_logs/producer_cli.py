"""``python -m services.watch_logs.producer_cli``: the simulated watch fleet (see cli.producer)."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Sequence


def main(argv: Sequence[str] | None = None) -> int:
    """Run the producer with ``argv`` (default: the command line); its exit code."""
    from services.watch_logs.cli.producer import run

    try:
        return asyncio.run(run(sys.argv[1:] if argv is None else argv))
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
