"""The user service refuses unsafe text itself, for callers that reach it over gRPC directly."""

from __future__ import annotations

import pytest

from services.common.timeutil import parse_time
from services.user.domain import InvalidInput, Profile, validate_registration, validated_profile

GOOD = ("alice", "alice@example.com", "s3cret-pass")


@pytest.mark.parametrize(
    ("username", "email", "password"),
    [
        ("alice\n", *GOOD[1:]),
        (GOOD[0], "alice@example.com\n", GOOD[2]),
        (GOOD[0], "ali\x00ce@example.com", GOOD[2]),
        (GOOD[0], "alice\u202e@example.com", GOOD[2]),
        (GOOD[0], "al\u200bice@example.com", GOOD[2]),
        (*GOOD[:2], "s3cret-pass\x00"),
        (*GOOD[:2], "s3cret\x1b-pass"),
    ],
)
def test_registration_refuses_controls_format_characters_and_trailing_newlines(
    username: str, email: str, password: str
) -> None:
    with pytest.raises(InvalidInput):
        validate_registration(username, email, password)


def test_registration_accepts_unicode_that_is_only_text() -> None:
    validate_registration("alice", "zoë@exämple.com", "pässwörd-🏃")


@pytest.mark.parametrize("name", ["Al\x00ice", "Alice\x07", "Ali\u202ece", "Alice\u2066"])
def test_a_display_name_with_controls_or_bidi_overrides_is_refused(name: str) -> None:
    with pytest.raises(InvalidInput, match="display_name"):
        validated_profile(Profile(display_name=name), 2026)


def test_a_display_name_may_hold_emoji_sequences() -> None:
    name = "Alice \U0001f3c3\u200d\u2640\ufe0f"
    assert validated_profile(Profile(display_name=name), 2026).display_name == name


def test_a_timestamp_that_leaves_the_calendar_in_utc_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="out of range"):
        parse_time("0001-01-01T00:00:00+01:00")
