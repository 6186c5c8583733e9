"""A recording on disk becomes the messages a phone would send: m/s², in order, retry-safe."""

from __future__ import annotations

from pathlib import Path

import pytest

from services.motion.replay import recording


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "recording.csv"
    path.write_text(text)
    return path


def test_three_column_files_are_timed_by_the_rate_and_scaled_from_mg(tmp_path: Path) -> None:
    samples = recording.read(write(tmp_path, "1000, 0, -1000\n0,0,0\n"), "mg", 26.0)
    assert [s.offset_ms for s in samples] == [0, 38]
    assert samples[0].x == pytest.approx(9.80665)
    assert samples[0].z == pytest.approx(-9.80665)


def test_four_column_files_carry_their_own_times(tmp_path: Path) -> None:
    samples = recording.read(write(tmp_path, "0,0,0,1\n95,0,0,2\n"), "g", 26.0)
    assert [s.offset_ms for s in samples] == [0, 95]
    assert samples[1].z == pytest.approx(2 * 9.80665)


def test_a_line_of_the_wrong_width_is_named_in_the_error(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="line 2 has 2 columns"):
        recording.read(write(tmp_path, "1,2,3\n4,5\n"), "ms2", 26.0)


def test_messages_split_the_samples_in_order_with_stable_ids() -> None:
    samples = [recording.Sample(i * 20, 0.0, 0.0, 9.8) for i in range(5)]
    bodies = list(recording.messages(samples, 1_000, 2, "phone", "s1"))
    assert [b["messageId"] for b in bodies] == ["s1-0", "s1-1", "s1-2"]
    stamps = [r["timestamp"] for b in bodies for r in b["sensorReadings"]]
    assert stamps == [1_000, 1_020, 1_040, 1_060, 1_080]
    assert bodies[0]["deviceId"] == "phone"
    assert bodies[0]["sessionId"] == "s1"
    assert bodies[0]["sensorReadings"][0] == {
        "name": "accelerometer",
        "timestamp": 1_000,
        "values": [0.0, 0.0, 9.8],
    }
    assert recording.due_at(bodies[-1], 1_000) == pytest.approx(0.08)
