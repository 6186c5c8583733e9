"""The frame parser takes anything a client may send and answers a frame or a refusal."""

from __future__ import annotations

import json
import re

import pytest
from hypothesis import given, settings

from gateway.edge.errors import GRPC_TO_HTTP, HTTP_STATUS_NAMES
from gateway.realtime import poll_store
from gateway.realtime.frames import ChatMessage, JoinSession
from gateway.realtime.parsing import MAX_DEPTH, Refusal, parse_frame
from gateway.realtime.protocol import CODES
from tests.frame_strategies import encode, frame_texts, nested

REASONS = {"MALFORMED_JSON", "UNKNOWN_TYPE", "INVALID_FRAME", "NOT_YOUR_USER_ID"}


@settings(max_examples=400, deadline=None)
@given(frame_texts)
def test_any_text_becomes_a_frame_or_a_refusal_never_an_exception(text: str) -> None:
    parsed = parse_frame(text, "me")
    if isinstance(parsed, Refusal):
        assert parsed.reason in REASONS
        assert parsed.code in {"INVALID_ARGUMENT", "PERMISSION_DENIED"}
        assert parsed.message
    else:
        # What is accepted can be stored in Redis and sent to clients: valid UTF-8 JSON.
        json.dumps(parsed.model_dump(), ensure_ascii=False).encode("utf-8")


@pytest.mark.parametrize("depth", [MAX_DEPTH, 500, 30_000])
def test_deeply_nested_json_is_an_invalid_frame(depth: int) -> None:
    parsed = parse_frame(nested(depth), "me")
    assert isinstance(parsed, Refusal)
    assert (parsed.code, parsed.reason, parsed.message) == (
        "INVALID_ARGUMENT",
        "INVALID_FRAME",
        f"frames may nest at most {MAX_DEPTH} levels",
    )


@pytest.mark.parametrize(
    "frame",
    [
        {"type": "vote", "poll_id": "\ud800", "option": 0},
        {"type": "chat_message", "message": "hi \udfff"},
        {"type": "start_poll", "question": "?", "options": ["a", "\ud83d"]},
        {"type": "chat_message", "message": "hi", "\ud800": 1},
    ],
)
def test_lone_surrogates_anywhere_are_an_invalid_frame(frame: dict[str, object]) -> None:
    parsed = parse_frame(encode(frame), "me")
    assert isinstance(parsed, Refusal)
    assert (parsed.code, parsed.reason) == ("INVALID_ARGUMENT", "INVALID_FRAME")
    assert "surrogate" in parsed.message


def test_a_well_formed_frame_is_parsed_and_a_proper_surrogate_pair_is_fine() -> None:
    assert parse_frame(encode({"type": "chat_message", "message": "💪"}), "me") == ChatMessage(
        type="chat_message", message="💪"
    )
    join = parse_frame(encode({"type": "join_session", "session_id": "s", "last_seq": 3}), "me")
    assert join == JoinSession(type="join_session", session_id="s", last_seq=3)


def test_someone_elses_user_id_is_forbidden() -> None:
    parsed = parse_frame(encode({"type": "chat_message", "message": "x", "user_id": "you"}), "me")
    assert parsed == Refusal("NOT_YOUR_USER_ID", "user_id must be your own")
    assert parsed.code == "PERMISSION_DENIED"


def test_every_error_frame_code_is_a_status_the_rest_api_answers_with_too() -> None:
    rest = {*HTTP_STATUS_NAMES.values(), *(status.name for status in GRPC_TO_HTTP)}
    assert set(CODES.values()) <= rest
    assert all(reason.isupper() and " " not in reason for reason in CODES)


def test_every_refusal_of_the_vote_script_is_a_known_reason_with_a_frame_code() -> None:
    replied = set(re.findall(r"error_reply\('([A-Z_]+)'\)", poll_store._VOTE))
    assert replied == poll_store.VOTE_REFUSALS
    assert set(CODES) >= poll_store.VOTE_REFUSALS
