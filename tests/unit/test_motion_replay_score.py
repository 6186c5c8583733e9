"""Scoring a replayed session's timeline and records against its labelled stretches."""

from __future__ import annotations

import numpy as np
import pytest

from bench.motion_eval.recordings import Recording, uniform_timestamps
from bench.motion_eval.replay_score import UNCOVERED, Answer, Tally, seconds_accuracy
from bench.motion_eval.sessions import Labelled, Stretch
from bench.motion_eval.transforms import resample
from services.motion.domain import Activity

STILL, WALK, UNKNOWN = Activity.STATIONARY, Activity.WALKING, Activity.UNKNOWN


def session(stretches: tuple[Stretch, ...], seconds: int = 20) -> Labelled:
    """A 50 Hz session of ``seconds`` with the given stretches."""
    times = uniform_timestamps(seconds * 50, 50.0)
    recording = Recording("t", "t", "g", UNKNOWN, times, np.zeros((len(times), 3)))
    return Labelled(recording, stretches)


TWO = (Stretch(0, 7000, STILL), Stretch(7000, 11000, None), Stretch(11000, 19981, WALK))


def test_labelled_seconds_count_the_timeline_clipped_to_each_stretch_and_what_it_left_out() -> None:
    tally = Tally()
    segments = [Answer(0, 9000, STILL), Answer(9000, 19000, WALK)]
    tally.add(session(TWO), segments, [])
    assert +tally.labelled_ms == {  # + drops the zeros
        (STILL, "stationary"): 7000,
        (WALK, "walking"): 8000,
        (WALK, UNCOVERED): 981,
    }
    total, right, covered = seconds_accuracy(tally)
    assert (total, right, covered) == pytest.approx((15.981, 15 / 15.981, 1 - 0.981 / 15.981))
    assert tally.covered_to_end == 0  # the timeline stops before the last reading
    assert not +tally.inner_ms  # no stretch is longer than 10 s: nothing is 5 s from an edge


def test_seconds_5_s_from_a_stretchs_edges_leave_the_first_windows_unknown_out() -> None:
    tally = Tally()
    segments = [
        Answer(0, 3000, UNKNOWN),  # the session's first window
        Answer(3000, 12000, WALK),
        Answer(12000, 13000, STILL),
        Answer(13000, 29981, WALK),
    ]
    tally.add(session((Stretch(0, 29981, WALK),), seconds=30), segments, [])
    assert +tally.labelled_ms == {
        (WALK, "unknown"): 3000,
        (WALK, "walking"): 25981,
        (WALK, "stationary"): 1000,
    }
    assert +tally.inner_ms == {(WALK, "walking"): 18981, (WALK, "stationary"): 1000}
    assert seconds_accuracy(tally, inner=True) == pytest.approx((19.981, 18981 / 19981, 1.0))
    assert tally.covered_to_end == 1


def test_a_window_takes_its_majority_label_and_one_mostly_in_a_transition_is_left_out() -> None:
    tally = Tally()
    windows = [
        Answer(2500, 7500, WALK),  # 4.5 s still, 0.5 s transition: still, not full
        Answer(7500, 12500, WALK),  # 3.5 s transition, 1.5 s walking: left out
        Answer(12500, 17500, WALK),  # wholly walking: full
        Answer(-2500, 2500, UNKNOWN),  # the first window: clipped to the data, not full
    ]
    tally.add(session(TWO), [], windows)
    assert tally.windows == {(STILL, WALK): 1, (WALK, WALK): 1, (STILL, UNKNOWN): 1}
    assert tally.full == {(WALK, WALK): 1}


def test_a_variant_keeps_the_stretches_within_its_own_span() -> None:
    varied = session((Stretch(0, 19981, WALK),)).varied(lambda r: resample(r, 10.0))
    assert varied.span == (0, 19901)
    assert varied.stretches == (Stretch(0, 19901, WALK),)
