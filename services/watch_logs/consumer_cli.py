"""``python -m services.watch_logs.consumer_cli``: extract and report (see cli.consumer)."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Sequence


def main(argv: Sequence[str] | None = None) -> int:
    """Run the consumer with ``argv`` (default: the command line); its exit code."""
    from services.watch_logs.cli.consumer import run

    try:
        return asyncio.run(run(sys.argv[1:] if argv is None else argv))
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
