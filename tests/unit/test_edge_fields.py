"""Properties of the edge's field rules: what they let through, protobuf and the services take."""

from __future__ import annotations

import json
import unicodedata
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from fitness.activity.v1 import activity_service_pb2 as activity_pb
from fitness.user.v1 import user_service_pb2 as user_pb
from hypothesis import event, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from gateway.edge.text import body_problem
from gateway.routes.fields import (
    EMAIL_PATTERN,
    ID_MAX,
    ID_PATTERN,
    USERNAME_PATTERN,
    WORKOUT_TYPE_NAMES,
    email_address,
    iso_date,
    rfc3339,
    safe_multiline,
    safe_text,
)
from gateway.routes.schemas import ProfilePatch, RegisterRequest, StartWorkoutRequest
from services.common.timeutil import parse_time
from services.user.domain import validate_registration

reproducible = settings(derandomize=True, database=None, max_examples=300)

TROUBLE = ["\ud800", "\udfff", "\x00", "\t", "\n", "\x1b", "\x7f", "\x85", "\u202e", "\u2066"]
TROUBLE += ["\u200b", "\u200d", "\ufeff", "\U0001f3c3", "@", ".", " ", "é"]
characters = st.one_of(st.characters(), st.sampled_from(TROUBLE))
texts = st.text(characters, max_size=40)
BIDI = {chr(c) for c in [*range(0x202A, 0x202F), *range(0x2066, 0x206A)]}


def unsafe(c: str, multiline: bool = False) -> bool:
    """The rule, stated with unicodedata instead of the implementation's regex."""
    if multiline and c in "\t\n\r":
        return False
    return unicodedata.category(c) in ("Cc", "Cs") or c in BIDI


def accepts(check: Any, value: Any) -> bool:
    try:
        check(value)
    except ValueError:
        return False
    return True


@reproducible
@given(texts)
def test_single_line_text_is_refused_exactly_when_it_holds_an_unsafe_character(
    text: str,
) -> None:
    assert accepts(safe_text, text) == (not any(unsafe(c) for c in text))


@reproducible
@given(texts)
def test_multiline_text_also_allows_tabs_and_line_breaks(text: str) -> None:
    assert accepts(safe_multiline, text) == (not any(unsafe(c, multiline=True) for c in text))


@reproducible
@given(texts)
def test_accepted_text_is_valid_unicode_protobuf_can_encode(text: str) -> None:
    if accepts(safe_multiline, text):
        user_pb.LoginRequest(email=text, password=text).SerializeToString()


emails = st.builds(lambda a, b, c: f"{a}@{b}.{c}", texts, texts, texts) | texts


@reproducible
@given(emails)
def test_an_accepted_email_holds_no_control_or_format_character_and_the_service_takes_it(
    email: str,
) -> None:
    if accepts(email_address, email):
        assert all(unicodedata.category(c) not in ("Cc", "Cf", "Cs") for c in email)
        if len(email) <= 254:
            validate_registration("alice", email, "s3cret-pass")


offsets = st.integers(min_value=-23 * 60 - 59, max_value=23 * 60 + 59).map(
    lambda minutes: timezone(timedelta(minutes=minutes))
)


@reproducible
@given(st.datetimes(min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30)), offsets)
def test_every_rfc3339_timestamp_with_an_offset_is_accepted(
    moment: datetime, offset: timezone
) -> None:
    text = moment.replace(tzinfo=offset).isoformat()
    assert rfc3339(text) == text
    assert parse_time(text) == moment.replace(tzinfo=offset).astimezone(UTC)


@reproducible
@given(st.text(st.sampled_from("0123456789-:T+Z.z tx"), max_size=32) | texts)
def test_timestamps_are_accepted_only_when_they_parse_and_nothing_else_escapes(text: str) -> None:
    if accepts(rfc3339, text):
        assert parse_time(text).tzinfo is not None


@reproducible
@given(st.dates())
def test_every_calendar_date_is_accepted_and_only_those(day: Any) -> None:
    assert iso_date(day.isoformat()) == day.isoformat()
    assert not accepts(iso_date, day.isoformat().replace("-", "/"))


json_documents = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=12,
)


@reproducible
@given(json_documents)
def test_any_json_document_of_valid_text_passes_the_body_check(document: Any) -> None:
    assert body_problem(json.dumps(document).encode()) == ""
    assert body_problem(json.dumps(document, ensure_ascii=False).encode()) == ""


@reproducible
@given(json_documents, st.sampled_from(["\ud800", "\udbff", "\udc00", "\udfff"]))
def test_a_lone_surrogate_anywhere_in_a_body_is_found(document: Any, half: str) -> None:
    body = json.dumps({"wrapped": document, half: [f"x{half}"]}).encode()
    assert "surrogate" in body_problem(body)


@reproducible
@given(st.binary(max_size=200))
def test_the_body_check_never_raises(body: bytes) -> None:
    assert isinstance(body_problem(body), str)


numbers = st.one_of(
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(),
    st.sampled_from([2**31, 2**31 - 1, -(2**31) - 1, 1900, 2000, 20.0, 400.0, 50.0, 272.0]),
)
profiles = st.fixed_dictionaries(
    {},
    optional={
        "display_name": texts,
        "weight_kg": numbers,
        "height_cm": numbers,
        "birth_year": numbers,
    },
)


# Registrations built from the schema's own rules, so most pass and reach the protobuf check:
# any character the rules allow, including the TROUBLE ones that are allowed.
printable = st.characters(exclude_categories=("Cc", "Cs")) | st.sampled_from(TROUBLE)
sound_profiles = st.fixed_dictionaries(
    {},
    optional={
        "display_name": st.text(printable, max_size=64),
        "weight_kg": st.floats(min_value=20, max_value=400),
        "height_cm": st.floats(min_value=50, max_value=272),
        "birth_year": st.integers(min_value=1900, max_value=9999),
    },
)
registrations = st.fixed_dictionaries(
    {
        "username": st.from_regex(USERNAME_PATTERN, fullmatch=True),
        "email": st.from_regex(EMAIL_PATTERN, fullmatch=True).filter(lambda e: len(e) <= 254),
        "password": st.text(printable, min_size=8, max_size=128),
    }
)


def test_an_accepted_registration_always_fits_the_protobuf_request() -> None:
    accepted = 0

    @reproducible
    @given(registrations, sound_profiles | profiles)
    def check(registration: dict[str, str], profile: dict[str, Any]) -> None:
        nonlocal accepted
        try:
            body = RegisterRequest.model_validate({**registration, **profile})
        except ValidationError:
            event("refused")
            return
        event("accepted")
        accepted += 1
        fields = body.model_dump(
            include={"weight_kg", "height_cm", "birth_year"}, exclude_none=True
        )
        user_pb.RegisterUserRequest(
            username=body.username,
            email=body.email,
            password=body.password,
            profile=user_pb.Profile(display_name=body.display_name or "", **fields),
        ).SerializeToString()

    check()
    # Derandomized, so the count is the same on every run; most examples must get this far.
    assert accepted >= 150, f"only {accepted} of 300 examples were valid registrations"


def test_an_accepted_profile_change_always_fits_the_protobuf_request() -> None:
    accepted = 0

    @reproducible
    @given(sound_profiles | profiles)
    def check(profile: dict[str, Any]) -> None:
        nonlocal accepted
        try:
            patch = ProfilePatch.model_validate(profile)
        except ValidationError:
            return
        accepted += 1
        user_pb.UpdateProfileRequest(user_id="u", **patch.changes()).SerializeToString()

    check()
    assert accepted >= 100, f"only {accepted} of 300 examples were valid profile changes"


def test_an_accepted_workout_start_always_fits_the_protobuf_request() -> None:
    accepted = 0

    @reproducible
    @given(
        st.sampled_from(WORKOUT_TYPE_NAMES) | texts,
        st.from_regex(ID_PATTERN, fullmatch=True).filter(lambda i: len(i) <= ID_MAX)
        | st.none()
        | texts,
    )
    def check(workout_type: str, user_id: str | None) -> None:
        nonlocal accepted
        try:
            body = StartWorkoutRequest.model_validate(
                {"workout_type": workout_type, "user_id": user_id}
            )
        except ValidationError:
            return
        accepted += 1
        activity_pb.StartWorkoutSessionRequest(
            user_id=body.user_id or "", workout_type=body.workout_type
        ).SerializeToString()

    check()
    assert accepted >= 75, f"only {accepted} of 300 examples were valid workout starts"


@pytest.mark.parametrize("encoding", ["utf-8", "utf-16-le", "utf-16-be", "utf-32-le", "utf-32-be"])
def test_a_lone_surrogate_escape_is_refused_in_every_encoding_json_reads(encoding: str) -> None:
    # ASCII in UTF-16 or UTF-32 without a BOM is valid UTF-8 too (NUL bytes and all).
    body = '{"name": "\\ud800"}'.encode(encoding)
    assert "lone surrogate" in body_problem(body)


def test_a_body_of_paired_or_no_escapes_is_fine() -> None:
    assert body_problem('{"name": "\\ud83d\\ude00 and é"}'.encode()) == ""
    assert body_problem(b'{"name": "\\\\ud800 is text, not an escape"}') == ""
