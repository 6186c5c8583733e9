"""Series page tokens: they round-trip, and a token of another query or a forged one is refused."""

from __future__ import annotations

import base64
import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.common import page_tokens
from services.health_metrics import tokens
from services.health_metrics.domain import Fill, InvalidInput, InvalidPageToken, Metric, Resolution
from services.health_metrics.tokens import SeriesQuery

START = datetime(2026, 5, 1, tzinfo=UTC)
QUERY = SeriesQuery(
    "user-1", Metric.HEART_RATE, Resolution.MINUTE, Fill.LINEAR, START, START + timedelta(days=1)
)


def forged(time: str, fingerprint: str) -> str:
    """A token in the shared format with whatever it holds."""
    return base64.urlsafe_b64encode(json.dumps({"t": time, "id": fingerprint}).encode()).decode()


LAST = QUERY.end - timedelta(microseconds=1)


@given(st.datetimes(START.replace(tzinfo=None), LAST.replace(tzinfo=None), timezones=st.just(UTC)))
def test_a_token_names_the_time_it_was_made_from(time: datetime) -> None:
    assert tokens.decode(QUERY, tokens.encode(QUERY, time)) == time


def test_an_empty_token_is_the_first_page() -> None:
    assert tokens.decode(QUERY, "") is None


@pytest.mark.parametrize(
    "other",
    [
        replace(QUERY, user_id="user-2"),
        replace(QUERY, metric=Metric.SPO2),
        replace(QUERY, resolution=Resolution.HOUR),
        replace(QUERY, fill=Fill.NONE),
        replace(QUERY, start=START - timedelta(minutes=1)),
        replace(QUERY, end=QUERY.end + timedelta(minutes=1)),
    ],
)
def test_a_token_of_another_query_is_refused(other: SeriesQuery) -> None:
    token = tokens.encode(QUERY, START + timedelta(minutes=5))
    with pytest.raises(InvalidPageToken, match="another query"):
        tokens.decode(other, token)


@pytest.mark.parametrize(
    "token",
    [
        "not base64!",
        base64.urlsafe_b64encode(b"[1]").decode(),
        forged("2026-05-01T00:05:00", QUERY.fingerprint()),  # no timezone
        forged("2026-04-30T23:59:00+00:00", QUERY.fingerprint()),  # before the range
        forged(QUERY.end.isoformat(), QUERY.fingerprint()),  # at its end
        forged("9999-12-31T00:00:00+00:00", QUERY.fingerprint()),
    ],
)
def test_a_forged_token_is_refused(token: str) -> None:
    with pytest.raises(InvalidPageToken):
        tokens.decode(QUERY, token)


def test_the_refusal_is_an_invalid_input_as_every_bad_argument_is() -> None:
    with pytest.raises(InvalidInput, match="page_token is not valid"):
        tokens.decode(QUERY, "%%%")


@given(st.text())
def test_any_text_is_a_time_the_first_page_or_refused_never_another_error(token: str) -> None:
    try:
        found = tokens.decode(QUERY, token)
    except InvalidPageToken:
        return
    assert found is None or QUERY.start <= found < QUERY.end


def test_the_token_is_the_shared_format_with_the_fingerprint_as_its_id() -> None:
    cursor = page_tokens.decode_page_token(tokens.encode(QUERY, START))
    assert cursor == page_tokens.Cursor(START, QUERY.fingerprint())


queries = st.builds(
    SeriesQuery,
    st.sampled_from(["user-1", "user-2", "zoë"]),
    st.sampled_from(list(Metric)),
    st.sampled_from(list(Resolution)),
    st.sampled_from(list(Fill)),
    st.sampled_from([START, START + timedelta(hours=1)]),
    st.sampled_from([START + timedelta(days=1), START + timedelta(days=2)]),
)


@given(queries, queries)
def test_a_token_made_by_one_query_is_refused_by_any_other(a: SeriesQuery, b: SeriesQuery) -> None:
    token = tokens.encode(a, a.start)
    if a == b:
        assert tokens.decode(b, token) == a.start
    else:
        with pytest.raises(InvalidPageToken, match="another query"):
            tokens.decode(b, token)
