"""End to end: the shipped real recordings replayed through the launcher's real processes.

Every recording in tests/data/motion (and one gravity-removed at 10 Hz) is posted to
POST /sensor-data as a phone would, a fresh device and one session each, its timestamps
ending now; the processor windows and classifies it and closes its last windows when
the session falls silent; the timeline, distribution and the owner's /ws/notifications
socket say what it recognised. The replay runs once for the module, its owner's socket
open throughout.
"""

from __future__ import annotations

import asyncio
import itertools
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.typing import Origin

from bench.motion_eval import hapt, stm32
from bench.motion_eval.recordings import Recording
from bench.motion_eval.replay import WINDOW_MS, Owners, Sent, answers, pages, post
from bench.motion_eval.replay_score import Answer
from bench.motion_eval.sessions import whole
from bench.motion_eval.transforms import remove_gravity, resample
from deploy.local import Supervisor, build_topology, prepare, settings_on_free_ports
from services.common.client.http import checked, make_client
from services.motion.replay.__main__ import rfc3339
from tests.helpers import server_reachable_dir

DATA = Path(__file__).resolve().parents[1] / "data" / "motion"
READERS = {"stm32": stm32.read, "hapt": hapt.read}
VARIANT = "stationary_06_26Hz_4g_mg"  # the hardest stationary one, gravity removed at 10 Hz
SETTLE_SECONDS = 30.0  # the idle timeout is 3 s; a loaded machine needs more


def shipped() -> dict[str, Recording]:
    """Every shipped recording by name, and the 10 Hz gravity-removed variant of one."""
    found = {
        path.stem: READERS[dataset](path)
        for dataset in READERS
        for path in sorted((DATA / dataset).glob("*/*.csv"))
    }
    found[f"{VARIANT}, gravity removed, 10 Hz"] = remove_gravity(resample(found[VARIANT], 10.0))
    return found


RECORDINGS = shipped()


@dataclass
class Seen:
    """What the API said of one replayed recording."""

    sent: Sent
    segments: list[Answer]
    distribution: dict[str, float]


@dataclass
class Replay:
    """Every recording's outcome and the events the owner's socket received."""

    seen: dict[str, Seen] = field(default_factory=dict)
    events: list[dict[str, Any]] = field(default_factory=list)


@pytest.fixture(scope="module")
def supervisor() -> Iterator[Supervisor]:
    """The launcher's platform (one user and one activity instance) on free ports."""
    with server_reachable_dir("e2e-motion-replay-") as root:
        topology = build_topology(settings_on_free_ports(root / "data", instances=1))
        prepare(topology)
        running = Supervisor(topology, log_dir=root / "logs")
        running.start_all()
        try:
            running.wait_ready(timeout=60)
            yield running
        finally:
            running.stop_all()


@pytest.fixture(scope="module")
def replay(supervisor: Supervisor) -> Replay:
    """Every recording replayed at once, each on its own device of one owner."""
    return asyncio.run(_replay_all(supervisor.topology.gateway_url))


async def _replay_all(url: str) -> Replay:
    outcome = Replay()
    async with make_client(url, 30.0) as client:
        owners = Owners(client)
        devices = {name: await owners.next_device() for name in RECORDINGS}
        owner = owners.sessions[0]
        ws_url = url.replace("http", "ws") + "/ws/notifications"
        headers = await owner.headers()
        async with connect(ws_url, additional_headers=headers, origin=Origin(url)) as ws:
            listening = asyncio.create_task(_listen(ws, outcome.events))
            sent = await asyncio.gather(
                *(
                    post(client, owner, devices[name][1], whole(recording), 50)
                    for name, recording in RECORDINGS.items()
                )
            )
            for name, one in zip(RECORDINGS, sent, strict=True):
                outcome.seen[name] = await _settled(client, owner, one)
            await asyncio.sleep(0.5)  # the last windows' events are on their way
            listening.cancel()
    return outcome


async def _listen(ws: ClientConnection, events: list[dict[str, Any]]) -> None:
    """Keep every frame the socket receives."""
    async for frame in ws:
        events.append(json.loads(frame))


async def _settled(client: httpx.AsyncClient, owner: Any, sent: Sent) -> Seen:
    """The timeline once it reaches the recording's last reading, and the distribution."""
    first, end = (t + sent.shift_ms for t in sent.labelled.span)
    base = f"/devices/{sent.device}/activity"
    span = {"from": rfc3339(first), "to": rfc3339(end + WINDOW_MS)}
    async with asyncio.timeout(SETTLE_SECONDS):
        while True:
            segments = answers(
                await pages(client, owner, f"{base}/timeline", span, "segments"),
                sent.shift_ms,
                "start",
                "end",
            )
            if segments and segments[-1].end_ms >= sent.labelled.span[1]:
                break
            await asyncio.sleep(0.3)
    reply = await client.get(f"{base}/distribution", params=span, headers=await owner.headers())
    return Seen(sent, segments, checked(reply)["seconds"])


def _label(name: str) -> str:
    """The activity a shipped recording is labelled with."""
    return RECORDINGS[name].label.value


def _seconds(segments: list[Answer]) -> dict[str, float]:
    """Seconds of the timeline per activity."""
    out: dict[str, float] = {}
    for s in segments:
        out[s.activity.value] = out.get(s.activity.value, 0.0) + (s.end_ms - s.start_ms) / 1000
    return out


@pytest.mark.parametrize("name", list(RECORDINGS))
def test_the_timeline_of_a_replayed_recording_is_mostly_its_label(
    replay: Replay, name: str
) -> None:
    seconds = _seconds(replay.seen[name].segments)
    assert max(seconds, key=seconds.__getitem__) == _label(name), seconds


@pytest.mark.parametrize("name", list(RECORDINGS))
def test_the_timeline_covers_the_recording_from_its_first_window_to_its_last_reading(
    replay: Replay, name: str
) -> None:
    seen = replay.seen[name]
    times = seen.sent.labelled.recording.timestamps_ms
    end = seen.sent.labelled.span[1]
    segments = seen.segments
    # The first emitted window owns back to the first reading (thinner ones before it are
    # not emitted).
    assert segments[0].start_ms == int(times[0])
    assert segments[-1].end_ms == end  # the idle close: up to the last reading
    gaps = [b.start_ms - a.end_ms for a, b in itertools.pairwise(segments)]
    assert gaps == [0] * len(gaps)


@pytest.mark.parametrize("name", list(RECORDINGS))
def test_the_distribution_adds_up_to_the_time_the_timeline_covers(
    replay: Replay, name: str
) -> None:
    seen = replay.seen[name]
    covered = sum(s.end_ms - s.start_ms for s in seen.segments) / 1000
    assert sum(seen.distribution.values()) == pytest.approx(covered, abs=1e-3)
    for activity, seconds in _seconds(seen.segments).items():
        assert seen.distribution[activity] == pytest.approx(seconds, abs=1e-3)


def test_the_owners_socket_hears_an_activity_changed_event_of_every_replayed_device(
    replay: Replay,
) -> None:
    changed = [e for e in replay.events if e.get("type") == "activity_changed"]
    devices = {seen.sent.device for seen in replay.seen.values()}
    assert {e["device_id"] for e in changed} == devices
    last = {e["device_id"]: e["activity"] for e in changed}
    for name, seen in replay.seen.items():
        assert last[seen.sent.device] == seen.segments[-1].activity.value, name
