"""The dashboard benchmark's summaries: percentiles, byte totals, phases, verdicts."""

from __future__ import annotations

import math

from bench.dashboard.people import signed_in_script, stored_session
from bench.dashboard.report import (
    Resource,
    biggest,
    first_call,
    latencies_ms,
    nearest_rank,
    ratio,
    scripts_done,
    spread,
    total_bytes,
    verdict,
)


def file(name: str, kind: str, size: int, start: float = 0.0, end: float = 0.0) -> Resource:
    return Resource(name, kind, size, size - 300, size * 3, start, end)


LOAD = (
    file("/app/goals", "navigation", 900, 0, 40),
    file("/app/js/app.js", "script", 2_000, 50, 120),
    file("/app/app.css", "link", 3_000, 50, 90),
    file("/users/u/goals", "fetch", 700, 300, 340),
    file("/users/u/suggestions", "fetch", 400, 350, 380),
)


def test_the_nearest_rank_percentile_is_a_measured_value() -> None:
    values = [5.0, 1.0, 4.0, 2.0, 3.0]
    assert nearest_rank(values, 0.5) == 3.0
    assert nearest_rank(values, 0.95) == 5.0
    assert nearest_rank(values, 1.0) == 5.0
    assert nearest_rank(values, 0.0) == 1.0


def test_the_percentile_of_nothing_is_not_a_number() -> None:
    assert math.isnan(nearest_rank([], 0.5))


def test_a_spread_is_the_median_and_the_range() -> None:
    assert spread([412.4, 380.0, 455.2]) == "412 (380-455)"
    assert spread([]) == "n/a"


def test_a_ratio_against_zero_is_not_available() -> None:
    assert ratio(600.0, 200.0) == "3.0x"
    assert ratio(1.0, 0.0) == "n/a"


def test_the_total_counts_every_file_and_api_call_on_the_wire() -> None:
    assert total_bytes(LOAD) == 7_000


def test_the_biggest_files_come_first() -> None:
    assert [r.name for r in biggest(list(LOAD), 2)] == ["/app/app.css", "/app/js/app.js"]


def test_the_page_files_are_in_when_the_last_non_api_file_ends() -> None:
    assert scripts_done(LOAD) == 120


def test_the_first_api_call_is_the_earliest_fetch() -> None:
    assert first_call(LOAD) == 300
    assert first_call(LOAD[:3]) is None


def test_latencies_count_only_messages_that_arrived() -> None:
    sent = {"a": 10.0, "b": 11.0, "c": 12.0}
    seen = {"a": 10.05, "c": 12.2}
    assert [round(x) for x in latencies_ms(sent, seen)] == [50, 200]


def test_a_target_is_met_at_its_bound_and_not_above() -> None:
    assert verdict(200.0, 200.0) == "met"
    assert verdict(200.1, 200.0) == "not met"


def test_the_stored_session_has_the_shape_session_js_keeps() -> None:
    login = {"token": "t", "refresh_token": "r", "user_id": "u", "expires_in": 900}
    saved = stored_session(login)
    assert {k: saved[k] for k in ("token", "refreshToken", "userId", "roles")} == {
        "token": "t",
        "refreshToken": "r",
        "userId": "u",
        "roles": [],
    }
    assert saved["expiresAt"] > 0


def test_the_sign_in_script_only_touches_its_own_origin() -> None:
    login = {"token": "t", "refresh_token": "r", "user_id": "u", "expires_in": 900}
    script = signed_in_script("http://127.0.0.1:8000", login)
    assert 'location.origin === "http://127.0.0.1:8000"' in script
    assert "fgt.session" in script
