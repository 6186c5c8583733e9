"""``python -m bench.dashboard.screenshots``: the images of docs/dashboard.md, regenerated.

Against a running platform (``make run``: http://127.0.0.1:8000), signed in as a demo user
(its simulated Fitbit gives the health page real days). Gives that user a few goals and
workouts, a walk replayed from a real phone recording, and a live session where a second
demo user chats and opens a poll, then saves one PNG per page, 1280x800, to
docs/images/dashboard/. The watch-log and operations pages need the analyst and admin
roles: grant them to the third demo user first (docs/dashboard.md, "Roles").
"""

from __future__ import annotations

import argparse
import datetime
import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
from playwright.sync_api import FloatRect, Page, ViewportSize, sync_playwright
from websockets.sync.client import ClientConnection, connect

from bench.dashboard.page_load import RENDERED
from bench.motion_eval import stm32
from bench.motion_eval.replay import samples
from deploy.local.demo import accounts_path
from services.motion.replay import recording as phone
from tests.e2e.browser import ROOT, Person, launch_chromium, sign_in

OUT = ROOT / "docs" / "images" / "dashboard"
WALK = ROOT / "tests" / "data" / "motion" / "stm32" / "walking" / "walking_16_26Hz_4g_mg.csv"
VIEWPORT: ViewportSize = {"width": 1280, "height": 800}
MAX_HEIGHT = 1400
SIGNED_OUT = ("sign-in", "sign-up")
SIGNED_IN = ("goals", "workouts", "health", "motion", "profile")
GUEST_FRAMES = (
    {"type": "chat_message", "message": "Morning! Warming up now."},
    {"type": "exercise_update", "exercise": "rowing", "reps": 120, "heart_rate": 132},
    {"type": "start_poll", "question": "Intervals or steady?", "options": ["Intervals", "Steady"]},
)


class Api:
    """One demo user's REST client."""

    def __init__(self, url: str, person: Person) -> None:
        self.client = httpx.Client(base_url=url, timeout=30)
        login = self.client.post(
            "/users/login", json={"email": person.email, "password": person.password}
        )
        login.raise_for_status()
        self.login: dict[str, Any] = login.json()
        self.user_id = str(self.login["user_id"])
        self.client.headers["Authorization"] = f"Bearer {self.login['token']}"

    def call(self, method: str, path: str, body: Any = None) -> Any:
        """One request; its JSON answer (None for 204)."""
        answer = self.client.request(method, path, json=body)
        answer.raise_for_status()
        return answer.json() if answer.content else None


def demo_person(accounts: Path, name: str) -> Person:
    """A demo user of ``make run`` (demo-users.json of its data directory)."""
    known = json.loads(accounts.read_text())[name]
    return Person(name, known["email"], known["password"])


def some_goals(api: Api) -> None:
    """Three goals, if the user has none yet."""
    if api.call("GET", f"/users/{api.user_id}/goals")["goals"]:
        return
    target = (datetime.date.today() + datetime.timedelta(days=45)).isoformat()
    for goal_type, value in (("workouts_count", 12), ("active_minutes", 600), ("distance_km", 42)):
        body = {"goal_type": goal_type, "target_value": value, "target_date": target}
        api.call("POST", f"/users/{api.user_id}/goals", body)


def some_workouts(api: Api) -> None:
    """A few ended workouts of different types, if the user has none yet."""
    if api.call("GET", f"/users/{api.user_id}/workouts")["workouts"]:
        return
    for minutes, kind in ((4, "running"), (3, "cycling"), (2, "yoga"), (4, "running")):
        started = api.call("POST", "/workouts/start", {"workout_type": kind})
        # An end up to 5 minutes ahead is accepted: a workout of a few minutes without waiting.
        end = datetime.datetime.now(datetime.UTC) + datetime.timedelta(minutes=minutes)
        api.call("POST", f"/workouts/{started['session_id']}/end", {"end_time": end.isoformat()})


def a_walk(api: Api, device: str = "demo-phone") -> None:
    """A real phone recording of a walk posted as ending now (the motion page's data)."""
    readings = samples(stm32.read(WALK))
    start_ms = int(time.time() * 1000) - readings[-1].offset_ms
    for body in phone.messages(readings, start_ms, 50, device, f"docs-{start_ms}"):
        api.call("POST", "/sensor-data", body)


def a_day_of_watch_logs(api: Api) -> None:
    """Half-hourly samples of the last 20 hours from a watch."""
    now = datetime.datetime.now(datetime.UTC).replace(microsecond=0)
    logs = [watch_sample(now - datetime.timedelta(minutes=30 * n), n) for n in range(40)]
    api.call("POST", "/watch-logs", {"logs": logs})


def watch_sample(at: datetime.datetime, n: int) -> dict[str, Any]:
    """One half-hour watch sample: walking, running or resting in turn."""
    activity = ("walking", "running", "rest")[n % 3]
    steps = {"walking": 900 + 40 * n, "running": 2400 + 30 * n, "rest": 40}[activity]
    return {
        "message_id": f"docs-watch:{at.strftime('%Y%m%d%H%M')}",
        "device_id": "docs-watch",
        "device_model": "Forerunner 265",
        "firmware": "20.26",
        "timestamp": at.isoformat(),
        "activity": activity,
        "duration_s": 1800,
        "steps": steps,
        "heart_rate": {"walking": 98, "running": 148, "rest": 64}[activity],
        "calories": steps * 0.04,
        "distance_m": steps * 0.78,
        "floors": n % 4,
        "battery": 90 - n,
    }


def operator_pages(page: Page, url: str, host: Api, out: Path) -> list[Path]:
    """Watch logs (the host's last day, charted) and operations, as an analyst and admin."""
    page.goto(f"{url}/app/watch-logs?user={host.user_id}")
    page.wait_for_function(RENDERED)
    page.get_by_label("Page size").select_option("10")  # the charts stay on the image
    page.get_by_role("button", name="Show").click()
    page.get_by_role("figure").filter(has_text="Steps per hour").wait_for()
    page.wait_for_load_state("networkidle")
    page.wait_for_timeout(800)
    return [save(page, out / "watch-logs.png"), capture(page, url, "operations", "operations", out)]


def capture(page: Page, url: str, path: str, name: str, out: Path) -> Path:
    """Open ``path``, wait until it has rendered and loaded, save its PNG."""
    page.goto(f"{url}/app/{path}")
    page.wait_for_function(RENDERED)
    page.wait_for_load_state("networkidle")
    page.wait_for_timeout(800)  # charts draw on the frame after their data
    return save(page, out / f"{name}.png")


def save(page: Page, target: Path) -> Path:
    """The page from its top, at most ``MAX_HEIGHT`` px of it (long pages stay small)."""
    height = min(MAX_HEIGHT, int(page.evaluate("() => document.documentElement.scrollHeight")))
    clip: FloatRect = {"x": 0, "y": 0, "width": VIEWPORT["width"], "height": height}
    page.screenshot(path=str(target), full_page=True, clip=clip)
    return target


@contextmanager
def participant(url: str, api: Api, session_id: str) -> Iterator[ClientConnection]:
    """``api``'s user in the live session over a WebSocket, past the snapshot."""
    with connect(
        url.replace("http", "ws", 1) + f"/ws/sessions/{session_id}",
        additional_headers={"Authorization": f"Bearer {api.login['token']}"},
    ) as ws:
        ws.send(json.dumps({"type": "join_session", "session_id": session_id}))
        while json.loads(ws.recv(timeout=10))["type"] != "session_snapshot":
            pass
        yield ws


def vote(ws: ClientConnection, option: int) -> None:
    """Vote in the poll this participant just opened (a live tally on the page)."""
    while (frame := json.loads(ws.recv(timeout=10)))["type"] != "start_poll":
        pass
    ws.send(json.dumps({"type": "vote", "poll_id": frame["poll_id"], "option": option}))


def live_room(page: Page, url: str, host: Api, guest: Api, out: Path) -> list[Path]:
    """A session of the host's with the guest chatting and a poll open; list and room."""
    session = host.call(
        "POST", "/group-sessions", {"title": "Morning row", "workout_type": "rowing"}
    )
    shots = [capture(page, url, "sessions", "live-sessions", out)]
    page.goto(f"{url}/app/sessions/{session['session_id']}")
    page.wait_for_function(RENDERED)
    page.get_by_text("Connected", exact=True).wait_for()  # joined: it hears what follows
    with participant(url, guest, session["session_id"]) as ws:
        for frame in GUEST_FRAMES:
            ws.send(json.dumps(frame))
        vote(ws, option=0)
        page.get_by_role("textbox", name="Message").fill("Good morning, 20 minutes steady first.")
        page.get_by_role("button", name="Send").click()
        page.get_by_text("Intervals or steady?").wait_for()
        page.wait_for_timeout(500)
        shots.append(save(page, out / "live-session.png"))
    host.call("POST", f"/group-sessions/{session['session_id']}/end")
    return shots


def main() -> None:
    """Prepare the demo user's data, then save each page."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--url", default="http://127.0.0.1:8000")
    parser.add_argument("--accounts", type=Path, default=accounts_path(ROOT / ".run"))
    parser.add_argument("--user", default="demo1", help="the demo user signed in")
    parser.add_argument("--guest", default="demo2", help="the demo user who joins the session")
    parser.add_argument(
        "--operator", default="demo3", help="the demo user granted analyst and admin"
    )
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    person = demo_person(args.accounts, args.user)
    host, guest = Api(args.url, person), Api(args.url, demo_person(args.accounts, args.guest))
    some_goals(host)
    some_workouts(host)
    a_walk(host)
    a_day_of_watch_logs(host)
    args.out.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        page = browser.new_context(viewport=VIEWPORT).new_page()
        shots = [capture(page, args.url, name, name, args.out) for name in SIGNED_OUT]
        sign_in(page, args.url, person)
        shots += [capture(page, args.url, name, name, args.out) for name in SIGNED_IN]
        shots += live_room(page, args.url, host, guest, args.out)
        page = browser.new_context(viewport=VIEWPORT).new_page()
        sign_in(page, args.url, demo_person(args.accounts, args.operator))
        shots += operator_pages(page, args.url, host, args.out)
        browser.close()
    for shot in shots:
        print(f"{shot}: {shot.stat().st_size // 1000} kB")


if __name__ == "__main__":
    main()
