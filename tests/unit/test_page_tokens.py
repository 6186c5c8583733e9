"""Page tokens: opaque, round-tripping, and refused when not ours."""

from __future__ import annotations

import base64
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.common.page_tokens import (
    Cursor,
    InvalidPageToken,
    decode_page_token,
    encode_page_token,
)


@given(st.datetimes(timezones=st.just(UTC)), st.text())
def test_a_token_names_the_cursor_it_was_made_from(time: datetime, row_id: str) -> None:
    cursor = Cursor(time, row_id)
    assert decode_page_token(encode_page_token(cursor)) == cursor


def test_an_empty_token_is_the_first_page() -> None:
    assert decode_page_token("") is None


@pytest.mark.parametrize(
    "token",
    [
        "not base64!",
        base64.urlsafe_b64encode(b"not json").decode(),
        base64.urlsafe_b64encode(b'{"t": "yesterday", "id": "1"}').decode(),
        base64.urlsafe_b64encode(b'{"id": "1"}').decode(),
        base64.urlsafe_b64encode(b"[1, 2]").decode(),
    ],
)
def test_a_token_we_did_not_make_is_refused(token: str) -> None:
    with pytest.raises(InvalidPageToken):
        decode_page_token(token)


@given(st.text())
def test_any_text_is_a_cursor_the_first_page_or_refused_never_another_error(token: str) -> None:
    try:
        decoded = decode_page_token(token)
    except InvalidPageToken:
        return
    assert decoded is None or isinstance(decoded, Cursor)
