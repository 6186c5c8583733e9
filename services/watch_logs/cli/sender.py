"""Deliver one batch to POST /watch-logs: simulated faults, retries with backoff, the tally."""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

from services.common.client.http import GatewayError, Session, error_of
from services.common.client.retry import Backoff

# Worth another attempt: overload, an unavailable or failing upstream, a gateway timeout.
RETRYABLE = frozenset({408, 429, 500, 502, 503, 504})
Sleep = Callable[[float], Awaitable[None]]


class SimulatedFault(Exception):
    """A send the client failed on purpose (--fail-rate, --lose-reply-rate)."""


@dataclass(frozen=True)
class Faults:
    """Client-side fault injection: dropped sends, lost replies, random delays."""

    fail_rate: float = 0.0  # dropped before sending: nothing reached the gateway
    lose_reply_rate: float = 0.0  # sent and stored, the answer thrown away: retries dedup
    delay_rate: float = 0.0
    delay_ms: float = 0.0  # a delayed send waits U(0, delay_ms)


@dataclass
class Tally:
    """What a run did, batch by batch."""

    batches: int = 0
    entries: int = 0
    accepted: int = 0
    duplicates: int = 0
    rejected: int = 0
    retries: int = 0
    errors: int = 0  # failed attempts (faults, transport errors, 429/5xx)
    failed_batches: int = 0
    failed_entries: int = 0
    reasons: Counter[str] = field(default_factory=Counter)

    def record(self, entries: int, body: dict[str, Any]) -> None:
        """Count a batch the gateway answered."""
        self.batches += 1
        self.entries += entries
        self.accepted += int(body.get("accepted", 0))
        self.duplicates += int(body.get("duplicates", 0))
        rejected = body.get("rejected") or []
        self.rejected += len(rejected)
        self.reasons.update(str(item.get("reason", "")) for item in rejected)

    def refused(self, entries: int, reason: str) -> None:
        """Count a batch the gateway refused whole (4xx): every entry rejected."""
        self.batches += 1
        self.entries += entries
        self.rejected += entries
        self.reasons[reason] += entries

    def failed(self, entries: int, reason: str) -> None:
        """Count a batch that used up its attempts."""
        self.batches += 1
        self.entries += entries
        self.failed_batches += 1
        self.failed_entries += entries
        self.reasons[f"undelivered: {reason}"] += entries

    def summary(self) -> dict[str, Any]:
        """The tally as JSON-ready numbers."""
        numbers = {k: v for k, v in vars(self).items() if k != "reasons"}
        return {**numbers, "reasons": dict(self.reasons.most_common(5))}


@dataclass
class Sender:
    """Sends batches until each is answered or out of attempts."""

    client: httpx.AsyncClient
    backoff: Backoff
    faults: Faults
    rng: random.Random
    sleep: Sleep
    tally: Tally = field(default_factory=Tally)

    async def deliver(self, session: Session, entries: list[dict[str, Any]]) -> None:
        """Send the batch, retrying what may succeed later; count the outcome."""
        reason = "no attempt"
        for attempt in range(self.backoff.attempts):
            if attempt:
                self.tally.retries += 1
            outcome = await self._attempt(session, entries)
            if isinstance(outcome, httpx.Response):
                if outcome.status_code == 200:
                    self.tally.record(len(entries), outcome.json())
                    return
                error = error_of(outcome)
                if outcome.status_code not in RETRYABLE | {401}:
                    self.tally.refused(len(entries), f"{error.status} {error.message}")
                    return
                reason, retry_after = f"{error.status} {error.code}", error.retry_after
            else:
                reason, retry_after = outcome, None
            self.tally.errors += 1
            if attempt + 1 < self.backoff.attempts:
                await self.sleep(self.backoff.delay(attempt, self.rng, retry_after))
        self.tally.failed(len(entries), reason)

    async def _attempt(
        self, session: Session, entries: list[dict[str, Any]]
    ) -> httpx.Response | str:
        """The gateway's answer, or why none came."""
        faults = self.faults
        if faults.delay_rate and self.rng.random() < faults.delay_rate:
            await self.sleep(self.rng.uniform(0, faults.delay_ms) / 1000)
        try:
            headers = await session.headers()
            if faults.fail_rate and self.rng.random() < faults.fail_rate:
                raise SimulatedFault("send dropped (simulated)")
            response = await self.client.post(
                "/watch-logs", json={"logs": entries}, headers=headers
            )
            if faults.lose_reply_rate and self.rng.random() < faults.lose_reply_rate:
                raise SimulatedFault("reply lost (simulated)")
            if response.status_code == 401:
                await session.rejected(headers)
        except SimulatedFault as fault:
            return str(fault)
        except GatewayError as error:  # logging in or refreshing failed
            return f"login: {error}"
        except httpx.HTTPError as error:
            return f"transport: {type(error).__name__}"
        return response
