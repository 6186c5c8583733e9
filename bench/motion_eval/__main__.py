"""Measure the motion classifier on stm32-har and UCI HAPT; print markdown tables.

    python -m bench.motion_eval [--stm32 DIR] [--cache DIR]

Splits keep a recording (stm32) or a person (HAPT) on one side; each model is tuned on
training parts over every variant (as recorded, gravity removed, 10 Hz, ...) and measured
on the other parts, variant by variant.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from pathlib import Path

from bench.motion_eval import hapt, stm32, tuning
from bench.motion_eval.recordings import Recording
from bench.motion_eval.report import confusion_table, score, table
from bench.motion_eval.transforms import remove_gravity, resample
from bench.motion_eval.windows import Window, measure_all
from services.motion.classifier import DEFAULT, Thresholds

Variant = Callable[[Recording], Recording]
VARIANTS: dict[str, Variant] = {
    "as recorded": lambda r: r,
    "gravity removed": remove_gravity,
    "10 Hz": lambda r: resample(r, 10.0),
    "gravity removed, 10 Hz": lambda r: remove_gravity(resample(r, 10.0)),
    "100 Hz": lambda r: resample(r, 100.0),
}
CONFUSIONS = ("as recorded", "gravity removed, 10 Hz")
# HAPT has no running: a model tuned on it alone keeps the first version's running
# threshold, set before either data set was looked at.
PRIOR_RUN_RMS = 8.0


@dataclass(frozen=True)
class Measured:
    """Every window of one data set, per variant, and which groups train."""

    name: str
    windows: dict[str, list[Window]]
    train_groups: frozenset[str]

    def part(self, variant: str, train: bool | None) -> list[Window]:
        """The training part, the test part, or all (None) of one variant's windows."""
        return [
            w
            for w in self.windows[variant]
            if train is None or (w.group in self.train_groups) == train
        ]


def stm32_split(recordings: Iterable[Recording]) -> frozenset[str]:
    """Every other recording of each activity trains."""
    by_label: dict[str, list[str]] = {}
    for r in recordings:
        by_label.setdefault(r.label.value, []).append(r.group)
    return frozenset(g for groups in by_label.values() for g in sorted(groups)[::2])


def hapt_split(recordings: Iterable[Recording]) -> frozenset[str]:
    """Odd-numbered people train, even-numbered people are measured."""
    return frozenset(r.group for r in recordings if int(r.group.removeprefix("person")) % 2)


def measure_dataset(name: str, recordings: list[Recording], train: frozenset[str]) -> Measured:
    """Cut and measure every variant of every recording."""
    windows = {v: measure_all(map(f, recordings)) for v, f in VARIANTS.items()}
    return Measured(name, windows, train)


def training(sets: Iterable[Measured]) -> list[tuple[str, Window]]:
    """The training windows of the given sets, every variant pooled."""
    return [(m.name, w) for m in sets for v in VARIANTS for w in m.part(v, True)]


def main() -> None:
    """Load, tune, measure, print."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--stm32", type=Path, default=stm32.DEFAULT_ROOT)
    parser.add_argument("--cache", type=Path, default=hapt.DEFAULT_CACHE)
    args = parser.parse_args()
    st_recordings = list(stm32.load(args.stm32))
    ha_recordings = list(hapt.load(args.cache))
    st = measure_dataset("stm32", st_recordings, stm32_split(st_recordings))
    ha = measure_dataset("hapt", ha_recordings, hapt_split(ha_recordings))
    models = {
        "stm32": tuning.fit(training([st])),
        "hapt": tuning.fit(training([ha]), Thresholds(run_rms=PRIOR_RUN_RMS)),
        "both": tuning.fit(training([st, ha])),
        "shipped": DEFAULT,
    }
    print_models(models)
    runs = [
        ("stm32", st, True),
        ("hapt", ha, True),  # within: tuned on train, measured on test
        ("stm32", ha, False),
        ("hapt", st, False),  # across: measured on every window
        ("both", st, True),
        ("both", ha, True),
        ("shipped", st, True),
        ("shipped", ha, True),
    ]
    print_summary(models, runs)
    print_confusions(models, runs)


def print_models(models: dict[str, Thresholds]) -> None:
    """The fitted constants, one row per model."""
    fields = ("still_rms", "rms_weight", "periodicity_weight", "run_rms")
    rows = [[name, *(round(asdict(t)[f], 3) for f in fields)] for name, t in models.items()]
    print("## Models\n\n" + table(["tuned on", *fields], rows) + "\n")


def print_summary(models: dict[str, Thresholds], runs: list[tuple[str, Measured, bool]]) -> None:
    """Accuracy (UNKNOWN counted wrong) per model, test set and variant."""
    rows = []
    for model, data, within in runs:
        measured = f"{data.name} test part" if within else f"{data.name}, all"
        for variant in VARIANTS:
            result = score(data.part(variant, False if within else None), models[model])
            rows.append([model, measured, variant, result.windows, result.accuracy, result.unknown])
    header = ["tuned on", "measured on", "variant", "windows", "accuracy", "unknown"]
    print("## Accuracy\n\n" + table(header, rows) + "\n")


def print_confusions(models: dict[str, Thresholds], runs: list[tuple[str, Measured, bool]]) -> None:
    """Confusion matrices of the as-recorded and the hardest variant."""
    print("## Confusion matrices\n")
    for model, data, within in runs:
        for variant in CONFUSIONS:
            result = score(data.part(variant, False if within else None), models[model])
            part = "test part" if within else "all"
            print(f"Tuned on {model}, measured on {data.name} ({part}), {variant}:\n")
            print(confusion_table(result) + "\n")


if __name__ == "__main__":
    main()
