"""The one error vocabulary: every cause of a 409 has its own status name."""

from __future__ import annotations

import pytest

from gateway.edge.errors import ApiError, error_body


def test_a_409_that_names_no_status_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="409 must name its status"):
        ApiError(409, "conflict")


@pytest.mark.parametrize("status", ["ALREADY_EXISTS", "FAILED_PRECONDITION", "ABORTED"])
def test_a_409_keeps_the_status_it_names(status: str) -> None:
    assert ApiError(409, "conflict", status=status).status == status


def test_a_status_code_without_a_name_of_its_own_is_named_by_its_family() -> None:
    assert ApiError(413, "too large").status == "PAYLOAD_TOO_LARGE"
    assert ApiError(418, "teapot").status == "ERROR"


def test_the_error_body_carries_code_status_and_message() -> None:
    assert error_body(404, "NOT_FOUND", "no such goal") == {
        "error": {"code": 404, "status": "NOT_FOUND", "message": "no such goal"}
    }
