"""Accuracy and confusion matrices of windows, as markdown."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from bench.motion_eval.windows import Window
from services.motion.classifier import Thresholds, classify
from services.motion.domain import Activity

TRUE = (Activity.STATIONARY, Activity.WALKING, Activity.RUNNING)
PREDICTED = (*TRUE, Activity.UNKNOWN)


@dataclass(frozen=True)
class Score:
    """How one model did on one set of windows (UNKNOWN counts as wrong)."""

    windows: int
    accuracy: float
    unknown: float  # share answered UNKNOWN
    confusion: dict[tuple[Activity, Activity], int]  # (true, predicted) -> windows


def score(windows: Sequence[Window], thresholds: Thresholds) -> Score:
    """Classify every window and count."""
    confusion = {(t, p): 0 for t in TRUE for p in PREDICTED}
    for window in windows:
        confusion[(window.label, classify(window.features, thresholds).activity)] += 1
    total = max(len(windows), 1)
    right = sum(confusion[(t, t)] for t in TRUE)
    unknown = sum(confusion[(t, Activity.UNKNOWN)] for t in TRUE)
    return Score(len(windows), right / total, unknown / total, confusion)


def confusion_table(result: Score) -> str:
    """Rows: the label; columns: the answer."""
    head = "| label \\ answer | " + " | ".join(p.value for p in PREDICTED) + " | accuracy |"
    lines = [head, "|---" * (len(PREDICTED) + 2) + "|"]
    for t in TRUE:
        row = [result.confusion[(t, p)] for p in PREDICTED]
        if not sum(row):
            continue
        cells = " | ".join(str(v) for v in row)
        lines.append(f"| {t.value} | {cells} | {row[TRUE.index(t)] / sum(row):.3f} |")
    return "\n".join(lines)


def table(header: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """A markdown table."""
    lines = ["| " + " | ".join(header) + " |", "|---" * len(header) + "|"]
    lines += ["| " + " | ".join(_cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


def _cell(value: object) -> str:
    """Floats with three decimals, the rest as text."""
    return f"{value:.3f}" if isinstance(value, float) else str(value)
