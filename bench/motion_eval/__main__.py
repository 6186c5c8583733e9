"""Measure the motion classifier on stm32-har and UCI HAPT; print markdown tables.

    python -m bench.motion_eval [--stm32 DIR] [--cache DIR] [--replay | --replay-only]

--replay also replays the test parts through POST /sensor-data -> processor -> API on the
launcher's platform (bench.motion_eval.replay), as recorded and gravity removed at 10 Hz.

Splits keep a recording (stm32) or a person (HAPT) on one side; each model is tuned on
training parts over every variant (as recorded, gravity removed, 10 Hz, ...) and measured
on the other parts, variant by variant.
"""

from __future__ import annotations

import argparse
import functools
import timeit
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from pathlib import Path

from bench.motion_eval import hapt, replay, sessions, stm32, tuning
from bench.motion_eval.recordings import FloatArray, IntArray, Recording
from bench.motion_eval.report import confusion_table, score, table
from bench.motion_eval.transforms import jitter, remove_gravity, resample
from bench.motion_eval.windows import LENGTH_MS, Window, cut, measure_all
from services.motion.classifier import DEFAULT, Thresholds, classify, measure

Variant = Callable[[Recording], Recording]
VARIANTS: dict[str, Variant] = {
    "as recorded": lambda r: r,
    "gravity removed": remove_gravity,
    "10 Hz": lambda r: resample(r, 10.0),
    "gravity removed, 10 Hz": lambda r: remove_gravity(resample(r, 10.0)),
    "100 Hz": lambda r: resample(r, 100.0),
    "50 Hz, timestamps ±4 ms": lambda r: jitter(resample(r, 50.0), 4, seed=len(r.xyz)),
}
CONFUSIONS = ("as recorded", "gravity removed, 10 Hz")
PARTIAL_MS = (2500, 3500)  # the least a session's last emitted window holds, and more
# HAPT has no running: a model tuned on it alone keeps the first version's running
# threshold, set before either data set was looked at.
PRIOR_RUN_RMS = 8.0


@dataclass(frozen=True)
class Measured:
    """Every window of one data set, per variant, and which groups train."""

    name: str
    windows: dict[str, list[Window]]
    train_groups: frozenset[str]

    def flipped(self) -> Measured:
        """The same windows with training and test parts swapped (the second fold)."""
        groups = {w.group for w in self.windows[next(iter(VARIANTS))]}
        return Measured(f"{self.name}'", self.windows, frozenset(groups - self.train_groups))

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
    parser.add_argument("--replay", action="store_true", help="Then replay the test parts")
    parser.add_argument("--replay-only", action="store_true", help="Only the replay")
    parser.add_argument("--replay-parallel", type=int, default=6, help="Devices posting at once")
    args = parser.parse_args()
    st_recordings = list(stm32.load(args.stm32))
    ha_recordings = list(hapt.load(args.cache))
    if not args.replay_only:
        offline(st_recordings, ha_recordings)
    if args.replay or args.replay_only:
        replay_test_parts(st_recordings, ha_recordings, args)


def replay_test_parts(
    st_recordings: list[Recording], ha_recordings: list[Recording], args: argparse.Namespace
) -> None:
    """The test parts of both splits, each recording (HAPT: experiment) one session."""
    st_train, ha_train = stm32_split(st_recordings), hapt_split(ha_recordings)
    datasets = {
        "stm32 test part": [sessions.whole(r) for r in st_recordings if r.group not in st_train],
        "hapt test part": [s for s in sessions.hapt_load(args.cache) if s.group not in ha_train],
    }
    variants = {v: VARIANTS[v] for v in CONFUSIONS}
    replay.run(datasets, variants, parallel=args.replay_parallel)


def offline(st_recordings: list[Recording], ha_recordings: list[Recording]) -> None:
    """Tune and measure the classifier function on the windows; print every table."""
    st = measure_dataset("stm32", st_recordings, stm32_split(st_recordings))
    ha = measure_dataset("hapt", ha_recordings, hapt_split(ha_recordings))
    st2, ha2 = st.flipped(), ha.flipped()
    no_running = Thresholds(run_rms=PRIOR_RUN_RMS)
    models = {
        "stm32": tuning.fit(training([st])),
        "stm32'": tuning.fit(training([st2])),
        "hapt": tuning.fit(training([ha]), no_running),
        "hapt'": tuning.fit(training([ha2]), no_running),
        "both": tuning.fit(training([st, ha])),
        "shipped": DEFAULT,
    }
    print_models(models)
    within = [("stm32", st), ("stm32'", st2), ("hapt", ha), ("hapt'", ha2)]
    across = [("stm32", ha), ("hapt", st)]  # measured on every window of the other set
    shipped = [(m, d) for m in ("both", "shipped") for d in (st, ha)]
    runs = [(m, d, True) for m, d in within + shipped]
    runs[4:4] = [(m, d, False) for m, d in across]
    print_summary(models, runs)
    print_confusions(models, [run for run in runs if "'" not in run[0]])
    print_partial([st_recordings, ha_recordings], [st, ha])
    print_speed(st_recordings[0])


def print_models(models: dict[str, Thresholds]) -> None:
    """The fitted constants, one row per model."""
    fields = ("still_rms", "rms_weight", "periodicity_weight", "run_rms")
    rows = [[name, *(round(asdict(t)[f], 3) for f in fields)] for name, t in models.items()]
    print("## Models\n\n" + table(["tuned on", *fields], rows) + "\n")


def print_summary(models: dict[str, Thresholds], runs: list[tuple[str, Measured, bool]]) -> None:
    """Accuracy (UNKNOWN counted wrong) and UNKNOWN's share per model, test set and variant."""
    rows = []
    for model, data, within in runs:
        measured = f"{data.name} test part" if within else f"{data.name}, all"
        results = [score(data.part(v, False if within else None), models[model]) for v in VARIANTS]
        cells = [f"{r.accuracy:.3f} ({r.unknown:.3f})" for r in results]
        rows.append([model, measured, results[0].windows, *cells])
    header = ["tuned on", "measured on", "windows", *VARIANTS]
    print("## Accuracy (share unknown)\n\n" + table(header, rows) + "\n")


def print_confusions(models: dict[str, Thresholds], runs: list[tuple[str, Measured, bool]]) -> None:
    """Confusion matrices of the as-recorded and the hardest variant."""
    print("## Confusion matrices\n")
    for model, data, within in runs:
        for variant in CONFUSIONS:
            result = score(data.part(variant, False if within else None), models[model])
            part = "test part" if within else "all"
            print(f"Tuned on {model}, measured on {data.name} ({part}), {variant}:\n")
            print(confusion_table(result) + "\n")


def print_partial(recordings: list[list[Recording]], sets: list[Measured]) -> None:
    """The shipped model on windows holding only their first seconds (a session's last)."""
    rows = []
    for records, data in zip(recordings, sets, strict=True):
        test = [r for r in records if r.group not in data.train_groups]
        for kept_ms in PARTIAL_MS:
            for variant in CONFUSIONS:
                windows = measure_all(map(VARIANTS[variant], test), kept_ms=kept_ms)
                result = score(windows, DEFAULT)
                cells = [result.windows, result.accuracy, result.unknown]
                rows.append([f"{data.name} test part", f"{kept_ms / 1000:g} s", variant, *cells])
    header = ["measured on", "data in the 5 s window", "variant", "windows", "accuracy", "unknown"]
    print("## Partial windows, shipped model\n\n" + table(header, rows) + "\n")


def print_speed(recording: Recording) -> None:
    """Microseconds to measure and classify one 5 s window, per sampling rate."""
    rows = []
    for rate in (10.0, 26.0, 50.0, 100.0):
        times, xyz = next(cut(resample(recording, rate)))
        # The best of many short runs: on a shared machine, the runs that had a core.
        runs = timeit.repeat(functools.partial(_recognise, times, xyz), number=50, repeat=40)
        rows.append([f"{rate:g} Hz", len(times), round(min(runs) / 50 * 1e6)])
    header = ["rate", "samples", "µs per window (best of 40 runs of 50)"]
    print("## Speed\n\n" + table(header, rows) + "\n")


def _recognise(times: IntArray, xyz: FloatArray) -> None:
    """What the processor does per window."""
    classify(measure(times, xyz, LENGTH_MS))


if __name__ == "__main__":
    main()
