"""A progress bar on stderr (tqdm), or nothing when it is turned off."""

from __future__ import annotations

import sys
from typing import Never

from tqdm import tqdm


class Bar:
    """Counts units (entries, rows) with their rate and a line of counters."""

    def __init__(self, unit: str, total: int | None = None, *, enabled: bool = True) -> None:
        # disable=None: tqdm draws only on a terminal, so redirected stderr stays clean.
        self._bar: tqdm[Never] = tqdm(
            total=total,
            unit=f" {unit}",
            unit_scale=True,
            file=sys.stderr,
            disable=None if enabled else True,
            dynamic_ncols=True,
        )

    def advance(self, units: int, **counters: int) -> None:
        """Move the bar by ``units`` and show the counters."""
        if counters:
            self._bar.set_postfix(counters, refresh=False)
        self._bar.update(units)

    def close(self) -> None:
        """Finish the bar's line."""
        self._bar.close()
