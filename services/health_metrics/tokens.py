"""Page tokens of a series read: where the next page starts, bound to the query.

The shared page-token format (services.common.page_tokens) carries a time and an id; here
the time is the last point of the page and the id a fingerprint of the query, so a token
handed to another query (another user, metric, resolution, fill or range) is refused
rather than read as a position in a series it was not made for.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime

from services.common import page_tokens
from services.health_metrics.domain import Fill, InvalidPageToken, Metric, Resolution


@dataclass(frozen=True)
class SeriesQuery:
    """What a series read asks for; its pages share it."""

    user_id: str
    metric: Metric
    resolution: Resolution
    fill: Fill
    start: datetime
    end: datetime

    def fingerprint(self) -> str:
        """A digest of the query that every one of its tokens carries."""
        fields = [self.user_id, self.metric, self.resolution, self.fill]
        fields += [self.start.isoformat(), self.end.isoformat()]
        return hashlib.sha256(json.dumps(fields).encode()).hexdigest()[:32]


def encode(query: SeriesQuery, last: datetime) -> str:
    """The token of the page after the one ending at ``last``."""
    return page_tokens.encode_page_token(page_tokens.Cursor(last, query.fingerprint()))


def decode(query: SeriesQuery, token: str) -> datetime | None:
    """The time after which the page of ``token`` starts; None for '' (the first page)."""
    try:
        cursor = page_tokens.decode_page_token(token)
    except page_tokens.InvalidPageToken as error:
        raise InvalidPageToken(str(error)) from error
    if cursor is None:
        return None
    if cursor.id != query.fingerprint():
        raise InvalidPageToken("page_token belongs to another query")
    # A token of ours names a time of the range; anything else was forged.
    if cursor.time.tzinfo is None or not query.start <= cursor.time < query.end:
        raise InvalidPageToken("page_token is not valid")
    return cursor.time
