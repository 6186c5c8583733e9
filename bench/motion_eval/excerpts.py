"""Writes the few real recordings ``tests/data/motion`` ships (run once; kept in git).

    python -m bench.motion_eval.excerpts [--cache DIR]

stm32-har files are copied as they are; HAPT excerpts are the first 13 s of one walking,
one upstairs and one sitting stretch of person 2 (a person the evaluation measures, never
tunes on), written back in g.
"""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

from bench.motion_eval import hapt, stm32
from bench.motion_eval.recordings import G, write_csv

TARGET = Path(__file__).resolve().parents[2] / "tests" / "data" / "motion"
STM32_FILES = (
    "stationary/stationary_26_26Hz_4g_mg.csv",  # seated, a little movement
    "stationary/stationary_06_26Hz_4g_mg.csv",  # a hand fidgeting: high RMS, no rhythm
    "walking/walking_16_26Hz_4g_mg.csv",  # the softest walking of the set
    "running/running_02_26Hz_4g_mg.csv",  # the softest running of the set
)
HAPT_EXCERPTS = ("walking", "upstairs", "sitting")
HAPT_PERSON = "person02"
EXCERPT_SAMPLES = 650  # 13 s at 50 Hz: four windows


def copy_stm32(root: Path, target: Path) -> None:
    """The chosen stm32-har files and the set's licence."""
    for name in STM32_FILES:
        (target / "stm32" / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(root / name, target / "stm32" / name)
    shutil.copyfile(root / "LICENSE", target / "stm32" / "LICENSE")


def write_hapt(cache: Path, target: Path) -> None:
    """The first long enough stretch of each chosen HAPT activity of one person."""
    wanted = set(HAPT_EXCERPTS)
    for r in hapt.load(cache):
        kind = r.name.rsplit("-", 1)[1]
        if r.group == HAPT_PERSON and kind in wanted and len(r.xyz) >= EXCERPT_SAMPLES:
            wanted.discard(kind)
            path = target / "hapt" / r.label.value / f"hapt-{HAPT_PERSON}-{kind}.csv"
            header = f"UCI HAPT (CC BY 4.0), {r.name}: x, y, z in g, 50 Hz"
            write_csv(path, r.xyz[:EXCERPT_SAMPLES] / G, header)


def main() -> None:
    """Write every excerpt."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--stm32", type=Path, default=stm32.DEFAULT_ROOT)
    parser.add_argument("--cache", type=Path, default=hapt.DEFAULT_CACHE)
    args = parser.parse_args()
    copy_stm32(args.stm32, TARGET)
    write_hapt(args.cache, TARGET)


if __name__ == "__main__":
    main()
