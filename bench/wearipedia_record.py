"""Records the shape of wearipedia's ``fitbit/fitbit_charge_6`` synthetic month into the
small fixture ``tests/data/wearipedia/fitbit_charge_6.json`` (run once; kept in git).

wearipedia is not a dependency of the project (~750 MB with Jupyter): it runs in a
throwaway venv outside the repository, and this script only needs that venv's Python::

    python3 -m venv /tmp/wp2
    /tmp/wp2/bin/pip install --no-deps wearipedia==0.1.7
    /tmp/wp2/bin/pip install numpy 'pandas<3' scipy tqdm fbm wget rich typer \\
        beautifulsoup4 requests polyline importlib_metadata garminconnect myfitnesspal \\
        QualtricsAPI
    /tmp/wp2/bin/python -m bench.wearipedia_record   # from the repository root

(``pip install wearipedia`` with its dependency pins backtracks over typer[all] for
minutes; the import only needs the packages above.) The generated attributes are read
instead of ``get_data``: its date slicing returns no sleep at all. The month is the
device's default (2024-01-01 to 2024-01-31, end exclusive: 30 days); charge_6 seeds only
``random`` with 0 and never numpy, so the heart rate, SpO2, HRV and breathing values
differ between runs while their ranges do not.
"""

from __future__ import annotations

import importlib
import itertools
import json
import statistics
import sys
from collections.abc import Iterable, Sequence
from datetime import datetime
from importlib.metadata import version
from pathlib import Path
from typing import Any

TARGET = Path(__file__).resolve().parents[1] / "tests" / "data" / "wearipedia"
FILE = TARGET / "fitbit_charge_6.json"
DEVICE = "fitbit/fitbit_charge_6"
EXCERPT = 3  # entries of each series kept verbatim


def stats(values: Iterable[float]) -> dict[str, float]:
    """min/max/mean/stdev of ``values`` as plain floats."""
    seq = [float(v) for v in values]
    return {
        "min": round(min(seq), 4),
        "max": round(max(seq), 4),
        "mean": round(statistics.fmean(seq), 4),
        "stdev": round(statistics.pstdev(seq), 4),
    }


def plain(value: Any) -> Any:
    """``value`` with numpy scalars turned into Python numbers (for JSON)."""
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    return value.item() if hasattr(value, "item") else value


def intervals(stamps: Sequence[str], fmt: str) -> list[float]:
    """The distinct seconds between consecutive timestamps."""
    times = [datetime.strptime(s, fmt) for s in stamps]
    return sorted({(b - a).total_seconds() for a, b in itertools.pairwise(times)})


def heart_rate(device: Any) -> dict[str, Any]:
    """Per second, a clipped random walk: its range, how often it sits on a limit."""
    days = [d["heart_rate_day"][0]["activities-heart-intraday"] for d in device.intraday_heart_rate]
    values = [float(e["value"]) for day in days for e in day["dataset"]]
    low, high = min(values), max(values)
    return {
        "fields": sorted(days[0]["dataset"][0]),
        "dataset_type": days[0]["datasetType"],
        "points_per_day": sorted({len(day["dataset"]) for day in days}),
        "interval_seconds": intervals([e["time"] for e in days[0]["dataset"]], "%H:%M:%S"),
        "value": stats(values),
        "share_on_limits": round(sum(v in (low, high) for v in values) / len(values), 4),
        "excerpt": plain(days[0]["dataset"][:EXCERPT]),
    }


def per_minute_in_sleep(days: Sequence[dict[str, Any]], fmt: str, key: str) -> dict[str, Any]:
    """Common shape of SpO2 and HRV: one entry a minute over a night's window."""
    stamps = [[e["minute"] for e in day["minutes"]] for day in days]
    return {
        "points_per_day": stats(len(s) for s in stamps),
        "interval_seconds": intervals(stamps[0], fmt),
        "start_hours": sorted({datetime.strptime(s[0], fmt).hour for s in stamps}),
        "fields": sorted(days[0]["minutes"][0]),
        "excerpt": plain(days[0]["minutes"][:EXCERPT]),
        key: True,
    }


def spo2(device: Any) -> dict[str, Any]:
    """Per minute during a night, 95-100 %."""
    days = device.intraday_spo2
    shape = per_minute_in_sleep(days, "%Y-%m-%dT%H:%M:%S", "value_is_a_number")
    shape["value"] = stats(float(e["value"]) for day in days for e in day["minutes"])
    return shape


def hrv(device: Any) -> dict[str, Any]:
    """Per minute during a night: rmssd, coverage, hf, lf."""
    days = [d["hrv"][0] for d in device.intraday_hrv]
    shape = per_minute_in_sleep(days, "%Y-%m-%dT%H:%M:%S.000", "value_is_an_object")
    shape["value_fields"] = sorted(days[0]["minutes"][0]["value"])
    for field in shape["value_fields"]:
        shape[field] = stats(float(e["value"][field]) for day in days for e in day["minutes"])
    return shape


def activity(device: Any) -> dict[str, Any]:
    """charge_6's ``intraday_activity`` is one daily step total, not a per-minute series."""
    days = device.intraday_activity
    return {
        "fields": sorted(days[0]),
        "entries_per_day": 1,
        "daily_steps": stats(d["value"] for d in days),
        "excerpt": plain(days[:EXCERPT]),
    }


def active_zone_minutes(device: Any) -> dict[str, Any]:
    """Per minute, 0 or 1, from thresholds on the minute's mean heart rate."""
    days = [
        d["activities-active-zone-minutes-intraday"][0] for d in device.intraday_active_zone_minute
    ]
    minutes = [m for day in days for m in day["minutes"]]
    return {
        "fields": sorted(minutes[0]),
        "points_per_day": sorted({len(day["minutes"]) for day in days}),
        "interval_seconds": intervals([m["minute"] for m in days[0]["minutes"]], "%H:%M:%S"),
        "value_fields": sorted({k for m in minutes for k in m["value"]}),
        "values": sorted({m["value"]["activeZoneMinutes"] for m in minutes}),
        "daily_total": stats(
            sum(m["value"]["activeZoneMinutes"] for m in d["minutes"]) for d in days
        ),
        "excerpt": plain(days[0]["minutes"][:EXCERPT]),
    }


def breathing(device: Any) -> dict[str, Any]:
    """One entry a night: a rate per sleep stage and for the whole sleep."""
    values = [d["br"][0]["value"] for d in device.intraday_breath_rate]
    summaries = sorted(values[0])
    shape: dict[str, Any] = {"fields": sorted(device.intraday_breath_rate[0]["br"][0])}
    shape["summaries"] = summaries
    for name in summaries:
        shape[name] = stats(v[name]["breathingRate"] for v in values)
    shape["excerpt"] = plain(device.intraday_breath_rate[0]["br"])
    return shape


def sleep(device: Any) -> dict[str, Any]:
    """One main sleep a date, starting that evening; its stage list overlaps itself."""
    sessions = device.sleep[0]["sleep"]
    fmt = "%Y-%m-%dT%H:%M:%S"
    spans = [span for s in sessions for span in s["levels"]["data"]]
    return {
        "fields": sorted(sessions[0]),
        "level_fields": sorted(sessions[0]["levels"]),
        "stage_fields": sorted(spans[0]),
        "stages": sorted({span["level"] for span in spans}),
        "summary_stages": sorted(sessions[0]["levels"]["summary"]),
        "sessions_per_date": 1,
        "duration_seconds": stats(s["duration"] / 1000 for s in sessions),
        "start_hours": sorted({datetime.strptime(s["startTime"], fmt).hour for s in sessions}),
        "stages_per_session": stats(len(s["levels"]["data"]) for s in sessions),
        "stage_seconds": stats(span["seconds"] for span in spans),
        "excerpt": plain({k: v for k, v in sessions[0].items() if k != "levels"}),
        "excerpt_stages": plain(sessions[0]["levels"]["data"][:EXCERPT]),
    }


def record() -> dict[str, Any]:
    """The shape of every data type the ingester simulates."""
    wearipedia = importlib.import_module("wearipedia")
    device = wearipedia.get_device(DEVICE)
    device.get_data("intraday_heart_rate")  # generates the whole month once
    return {
        "source": {
            "package": f"wearipedia {version('wearipedia')}",
            "device": DEVICE,
            "params": plain(device.init_params),
            "days": len(device.intraday_heart_rate),
            "recorded_by": "bench/wearipedia_record.py",
        },
        "intraday_heart_rate": heart_rate(device),
        "intraday_spo2": spo2(device),
        "intraday_activity": activity(device),
        "intraday_active_zone_minute": active_zone_minutes(device),
        "intraday_breath_rate": breathing(device),
        "intraday_hrv": hrv(device),
        "sleep": sleep(device),
    }


def main() -> int:
    """Write the fixture."""
    TARGET.mkdir(parents=True, exist_ok=True)
    FILE.write_text(json.dumps(record(), indent=1, sort_keys=True) + "\n")
    print(f"wrote {FILE} ({FILE.stat().st_size} bytes)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
