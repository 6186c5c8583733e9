"""What the API answered for a replayed session, compared with its labels. Pure.

Seconds: each labelled stretch against the timeline's segments clipped to it (time no
segment covers is "uncovered", counted wrong). Windows: each record's window, clipped to
the session's data, takes the label covering most of it; a window whose majority is a
transition or an unlabelled stretch is left out (the offline evaluation leaves them out
too). "Full" windows lie wholly inside the data and one labelled stretch, as the offline
evaluation's do; the others are a session's first and last (partial) windows.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

from bench.motion_eval.report import PREDICTED, TRUE, Score, table
from bench.motion_eval.sessions import Labelled, Stretch
from services.motion.domain import Activity

UNCOVERED = "uncovered"
ANSWERS = (*(a.value for a in PREDICTED), UNCOVERED)
# A stretch's seconds this far from its edges (a change of activity, a session's start or
# end) are judged by windows holding that activity only.
EDGE_MS = 5000


@dataclass(frozen=True)
class Answer:
    """A timeline segment or a record's window, in the recording's own ms."""

    start_ms: int
    end_ms: int
    activity: Activity


@dataclass
class Tally:
    """Seconds and windows of sessions, by (label, answer)."""

    labelled_ms: Counter[tuple[Activity, str]] = field(default_factory=Counter)
    inner_ms: Counter[tuple[Activity, str]] = field(default_factory=Counter)  # EDGE_MS inside
    windows: Counter[tuple[Activity, Activity]] = field(default_factory=Counter)
    full: Counter[tuple[Activity, Activity]] = field(default_factory=Counter)
    covered_to_end: int = 0  # sessions whose timeline reaches their last reading
    sessions: int = 0

    def add(self, session: Labelled, segments: list[Answer], windows: list[Answer]) -> None:
        """Count one session's timeline and records."""
        self.sessions += 1
        end = session.span[1]
        self.covered_to_end += bool(segments) and max(s.end_ms for s in segments) >= end
        for stretch in session.stretches:
            if stretch.label is not None:
                self._seconds(stretch, segments)
        for window in windows:
            self._window(session, window)

    def _seconds(self, stretch: Stretch, segments: list[Answer]) -> None:
        """One labelled stretch against the segments overlapping it."""
        assert stretch.label is not None
        inner = (stretch.start_ms + EDGE_MS, stretch.end_ms - EDGE_MS)
        covered = inner_covered = 0
        for segment in segments:
            ms = _overlap(stretch.start_ms, stretch.end_ms, segment.start_ms, segment.end_ms)
            self.labelled_ms[(stretch.label, segment.activity.value)] += ms
            inner_ms = _overlap(*inner, segment.start_ms, segment.end_ms)
            self.inner_ms[(stretch.label, segment.activity.value)] += inner_ms
            covered += ms
            inner_covered += inner_ms
        missing = stretch.end_ms - stretch.start_ms - covered
        self.labelled_ms[(stretch.label, UNCOVERED)] += missing
        self.inner_ms[(stretch.label, UNCOVERED)] += max(0, inner[1] - inner[0]) - inner_covered

    def _window(self, session: Labelled, window: Answer) -> None:
        """One record's window, under its majority label."""
        first, end = session.span
        lo, hi = max(window.start_ms, first), min(window.end_ms, end)
        shares = Counter[Activity | None]()
        for s in session.stretches:
            shares[s.label] += _overlap(lo, hi, s.start_ms, s.end_ms)
        if not shares or hi <= lo:
            return
        label, ms = shares.most_common(1)[0]
        if label is None:
            return
        self.windows[(label, window.activity)] += 1
        if lo == window.start_ms and hi == window.end_ms and ms == hi - lo:
            self.full[(label, window.activity)] += 1


def _overlap(a_start: int, a_end: int, b_start: int, b_end: int) -> int:
    """Milliseconds two [start, end) stretches share."""
    return max(0, min(a_end, b_end) - max(a_start, b_start))


def seconds_accuracy(tally: Tally, inner: bool = False) -> tuple[float, float, float]:
    """Labelled seconds (``inner``: only those EDGE_MS from their stretch's edges): total,
    share answered with their label, share covered at all."""
    counts = tally.inner_ms if inner else tally.labelled_ms
    total = sum(counts.values())
    right = sum(counts[(t, t.value)] for t in TRUE)
    uncovered = sum(counts[(t, UNCOVERED)] for t in TRUE)
    return total / 1000, right / max(total, 1), 1 - uncovered / max(total, 1)


def window_score(confusion: Counter[tuple[Activity, Activity]]) -> Score:
    """A Score of windows (UNKNOWN counted wrong), as the offline tables print."""
    full = {(t, p): confusion[(t, p)] for t in TRUE for p in PREDICTED}
    total = max(sum(full.values()), 1)
    right = sum(full[(t, t)] for t in TRUE)
    unknown = sum(full[(t, Activity.UNKNOWN)] for t in TRUE)
    return Score(sum(full.values()), right / total, unknown / total, full)


def seconds_table(tally: Tally) -> str:
    """Labelled seconds by label (rows) and what the timeline said (columns)."""
    rows = []
    for t in TRUE:
        cells = [tally.labelled_ms[(t, a)] for a in ANSWERS]
        if sum(cells):
            share = cells[TRUE.index(t)] / sum(cells)
            rows.append([t.value, *(f"{c / 1000:.1f}" for c in cells), share])
    return table(["label \\ timeline (s)", *ANSWERS, "accuracy"], rows)


def merged(tallies: Iterable[Tally]) -> Tally:
    """The sum of tallies."""
    out = Tally()
    for t in tallies:
        out.labelled_ms.update(t.labelled_ms)
        out.inner_ms.update(t.inner_ms)
        out.windows.update(t.windows)
        out.full.update(t.full)
        out.covered_to_end += t.covered_to_end
        out.sessions += t.sessions
    return out
