"""Live updates: a chat message sent to a live session, seen in the page and by Python."""

from __future__ import annotations

import asyncio
import json
import secrets
import time
from dataclasses import dataclass, field
from typing import Any

from playwright.async_api import Page
from websockets.asyncio.client import ClientConnection, connect

# In the page: the epoch time (ms) each bench message's text enters the DOM, and the time
# a task queued from the next animation frame runs (after that frame is rendered).
OBSERVER = """(pattern) => {
  const seen = (window.__benchSeen = {});
  const re = new RegExp(pattern, "g");
  const now = () => performance.timeOrigin + performance.now();
  const afterFrame = (entry) => requestAnimationFrame(() => {
    const channel = new MessageChannel();
    channel.port1.onmessage = () => { entry.frame = now(); };
    channel.port2.postMessage(0);
  });
  const stamp = (text) => {
    const at = now();
    for (const found of text.matchAll(re)) {
      if (found[0] in seen) continue;
      seen[found[0]] = {dom: at, frame: null};
      afterFrame(seen[found[0]]);
    }
  };
  new MutationObserver((records) => {
    for (const record of records) {
      if (record.type === "characterData") stamp(record.target.data || "");
      for (const node of record.addedNodes) stamp(node.textContent || "");
    }
  }).observe(document.body, {subtree: true, childList: true, characterData: true});
}"""
BROWSER_NOW = "performance.timeOrigin + performance.now()"


@dataclass
class Trace:
    """Send times (time.time()) and arrival times, per message text, in epoch seconds."""

    sent: dict[str, float] = field(default_factory=dict)
    python: dict[str, float] = field(default_factory=dict)
    dom: dict[str, float] = field(default_factory=dict)
    frame: dict[str, float] = field(default_factory=dict)
    clock_offset: float = 0.0  # browser epoch minus Python's, seconds
    clock_bracket: float = 0.0  # how well that offset is known, seconds


async def joined(ws_url: str, session_id: str, headers: dict[str, str]) -> ClientConnection:
    """A Python participant of the session, past its snapshot."""
    ws = await connect(f"{ws_url}/ws/sessions/{session_id}", additional_headers=headers)
    await ws.send(json.dumps({"type": "join_session", "session_id": session_id}))
    async with asyncio.timeout(10):
        while json.loads(await ws.recv())["type"] != "session_snapshot":
            pass
    return ws


async def listen(ws: ClientConnection, arrivals: dict[str, float]) -> None:
    """Record when each chat message reaches this socket."""
    async for raw in ws:
        at = time.time()
        frame = json.loads(raw)
        if frame.get("type") == "chat_message":
            arrivals.setdefault(str(frame.get("message")), at)


async def clock_offset(page: Page, tries: int = 15) -> tuple[float, float]:
    """The browser's epoch clock minus Python's, from the tightest of ``tries`` brackets."""
    best = (0.0, float("inf"))
    for _ in range(tries):
        before = time.time()
        browser_ms = float(await page.evaluate(BROWSER_NOW))
        after = time.time()
        if after - before < best[1]:
            best = (browser_ms / 1000 - (before + after) / 2, after - before)
    return best


async def chat(ws: ClientConnection, text: str) -> float:
    """Send one chat message; the time.time() just before the send."""
    frame = json.dumps({"type": "chat_message", "message": text})
    at = time.time()
    await ws.send(frame)
    return at


async def page_seen(page: Page) -> dict[str, Any]:
    """What the page's observer recorded so far."""
    seen: dict[str, Any] = await page.evaluate("window.__benchSeen || {}")
    return seen


async def until_shown(page: Page, sender: ClientConnection, tag: str, within: float) -> bool:
    """Send warm-up messages until the page shows one (it has joined and renders chat)."""
    deadline = time.monotonic() + within
    for number in range(1000):
        await chat(sender, f"{tag}-w{number}z")
        await asyncio.sleep(0.5)
        if await page_seen(page) or time.monotonic() > deadline:
            break
    return bool(await page_seen(page))


def new_tag() -> str:
    """A prefix no other message of the session has."""
    return f"bench-{secrets.token_hex(3)}"


def pattern(tag: str) -> str:
    """The page observer's regular expression for the messages of ``tag``."""
    return tag + r"-w?\d+z"


async def drive(
    page: Page,
    sender: ClientConnection,
    python: dict[str, float],
    tag: str,
    events: int,
    gap: float,
) -> Trace:
    """``events`` messages ``gap`` seconds apart; their arrivals in Python and in the page."""
    trace = Trace(python=python)
    if not await until_shown(page, sender, tag, within=20):
        return trace
    for number in range(events):
        key = f"{tag}-{number}z"
        trace.sent[key] = await chat(sender, key)
        await asyncio.sleep(gap)
    await settle(page, trace, within=5)
    trace.clock_offset, trace.clock_bracket = await clock_offset(page)
    record(trace, await page_seen(page))
    return trace


async def settle(page: Page, trace: Trace, within: float) -> None:
    """Wait until every message arrived in both places, or ``within`` seconds passed."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        seen = await page_seen(page)
        if all(key in seen and seen[key]["frame"] for key in trace.sent) and all(
            key in trace.python for key in trace.sent
        ):
            return
        await asyncio.sleep(0.2)


def record(trace: Trace, seen: dict[str, Any]) -> None:
    """The page's arrivals, as Python epoch seconds."""
    for key in trace.sent:
        entry = seen.get(key)
        if entry:
            trace.dom[key] = entry["dom"] / 1000 - trace.clock_offset
            if entry["frame"]:
                trace.frame[key] = entry["frame"] / 1000 - trace.clock_offset
