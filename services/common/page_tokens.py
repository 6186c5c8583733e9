"""Opaque page tokens for keyset pagination over (time, id), shared by every list RPC.

A token names the last row of a page; the next page starts after it, so rows written
meanwhile neither repeat nor vanish, as they would with offsets.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from datetime import datetime


class InvalidPageToken(ValueError):
    """The token was not made by encode_page_token (tampered with, truncated, or foreign)."""


@dataclass(frozen=True)
class Cursor:
    """Where the next page starts: after the row with this time and id."""

    time: datetime
    id: str


def encode_page_token(cursor: Cursor) -> str:
    """An opaque token pointing after ``cursor``."""
    raw = json.dumps({"t": cursor.time.isoformat(), "id": cursor.id})
    return base64.urlsafe_b64encode(raw.encode()).decode()


def decode_page_token(token: str) -> Cursor | None:
    """Read a token made by encode_page_token; '' means the first page."""
    if not token:
        return None
    try:
        raw = json.loads(base64.urlsafe_b64decode(token.encode()))
        return Cursor(datetime.fromisoformat(raw["t"]), str(raw["id"]))
    except (binascii.Error, ValueError, KeyError, TypeError) as error:
        raise InvalidPageToken("page_token is not valid") from error
