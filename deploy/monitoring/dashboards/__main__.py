"""``python -m deploy.monitoring.dashboards [FOLDER]``: write every dashboard's JSON."""

from __future__ import annotations

import sys
from pathlib import Path

from deploy.monitoring.dashboards import FOLDER, write

if __name__ == "__main__":
    for path in write(Path(sys.argv[1]) if len(sys.argv) > 1 else FOLDER):
        print(f"wrote {path}")
