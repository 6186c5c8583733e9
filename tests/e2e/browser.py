"""Headless Chromium (Debian's) driven by Playwright, against the launcher's real platform.

Playwright's own browser download cannot work here: it drives /usr/bin/chromium through
``executable_path``. Screenshots go to .run/test-artifacts/dashboard (not committed), or
to $DASHBOARD_SCREENSHOTS. DASHBOARD_URL with DASHBOARD_DATA_DIR (that launcher's
LOCAL_DATA_DIR, for role grants and ETL runs) points the tests at a platform already
running, for quick rounds while developing.
"""

from __future__ import annotations

import os
import re
import secrets
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from playwright.sync_api import Browser, ConsoleMessage, Page, Playwright, ViewportSize

from deploy.local import (
    LocalSettings,
    Supervisor,
    Topology,
    build_topology,
    prepare,
    settings_on_free_ports,
)
from tests.helpers import server_reachable_dir

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = os.environ.get("DASHBOARD_CHROMIUM", "/usr/bin/chromium")
# Without the background-networking flags Chromium keeps calling Google's hosts, which this
# machine's closed network refuses; as root it needs --no-sandbox.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
AXE = ROOT / "gateway" / "web" / "node_modules" / "axe-core" / "axe.min.js"
SCREENSHOTS = Path(
    os.environ.get("DASHBOARD_SCREENSHOTS", ROOT / ".run" / "test-artifacts" / "dashboard")
)
PASSWORD = "correct-horse-battery"
PHONE: ViewportSize = {"width": 390, "height": 844}
# Every browser test registers and signs in from 127.0.0.1 on one platform: the per-address
# limits (30 registrations an hour, 50 failed logins) are for the public, not for them.
ONE_ADDRESS_LIMITS = {
    "GATEWAY_REGISTER_MAX_ATTEMPTS": "100000",
    "GATEWAY_LOGIN_ADDRESS_MAX_FAILURES": "100000",
}


# How Chromium's console words a Content Security Policy refusal ("Applying inline style
# violates the following Content Security Policy directive", "Refused to connect to …").
CSP_REFUSAL = re.compile(r"Content Security Policy|Refused to")


@dataclass
class DashboardPlatform:
    """The running platform: its gateway's URL and the launcher's topology of it."""

    url: str
    topology: Topology

    def grant(self, role: str, email: str) -> None:
        """Grant ``role`` as an operator does (it reaches the token at the next sign-in)."""
        database = {"USER_DATABASE_URL": self.topology.settings.user_store_url()}
        self._run(["-m", "services.user", "roles", "grant", role, "--email", email], database)

    def run_etl(self, day: str) -> None:
        """One ETL run over ``day`` (YYYY-MM-DD) into the platform's warehouse."""
        etl = next(spec for spec in self.topology.specs if spec.name == "etl")
        self._run(["-m", "etl", "run", "--date", day, "--no-progress"], etl.env)

    def _run(self, args: list[str], env: dict[str, str]) -> None:
        subprocess.run(
            [sys.executable, *args], env={**os.environ, **env}, cwd=ROOT,
            check=True, capture_output=True, timeout=120,
        )  # fmt: skip


@contextmanager
def running_platform(timeout: float = 180.0) -> Iterator[DashboardPlatform]:
    """The launcher's platform on free ports (one instance of each service), or $DASHBOARD_URL.

    ``timeout`` bounds the wait for its processes, and then for the gateway, to be ready.
    """
    if os.environ.get("DASHBOARD_URL"):
        settings = LocalSettings(data_dir=Path(os.environ["DASHBOARD_DATA_DIR"]))
        yield DashboardPlatform(os.environ["DASHBOARD_URL"], build_topology(settings))
        return
    with server_reachable_dir("e2e-dashboard-") as root:
        topology = build_topology(settings_on_free_ports(root / "data", instances=1))
        for spec in topology.specs:
            if spec.name.startswith("gateway"):
                spec.env.update(ONE_ADDRESS_LIMITS)
        prepare(topology)
        supervisor = Supervisor(topology, log_dir=root / "logs")
        supervisor.start_all()
        try:
            supervisor.wait_ready(timeout=timeout)
            wait_ready(topology.gateway_url, timeout)
            yield DashboardPlatform(topology.gateway_url, topology)
        finally:
            supervisor.stop_all()


def wait_ready(url: str, timeout: float = 60.0) -> None:
    """Wait until the gateway reports ready."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/health/ready", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise TimeoutError(f"{url} never became ready")


def launch_chromium(playwright: Playwright) -> Browser:
    """Debian's Chromium, headless."""
    return playwright.chromium.launch(
        executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS, timeout=60_000
    )


@dataclass(frozen=True)
class Person:
    """An account made for one test."""

    name: str
    email: str
    password: str = PASSWORD


def new_person(prefix: str = "p") -> Person:
    """A unique name and email (tests share one platform)."""
    name = f"{prefix}{uuid.uuid4().hex[:10]}"
    return Person(name, f"{name}@example.com")


def register(url: str, person: Person, **profile: Any) -> dict[str, Any]:
    """Register ``person`` through the REST API (faster than the form); the login answer."""
    body = {"username": person.name, "email": person.email, "password": person.password}
    with httpx.Client(base_url=url, timeout=30) as client:
        created = client.post("/users/register", json={**body, **profile})
        assert created.status_code == 201, created.text
        login = client.post("/users/login", json={"email": person.email, "password": PASSWORD})
        assert login.status_code == 200, login.text
        answer: dict[str, Any] = login.json()
        return answer


def sign_in(page: Page, url: str, person: Person) -> None:
    """Sign in through the form and wait for the first signed-in page."""
    page.goto(f"{url}/app/sign-in")
    page.get_by_label("Email").fill(person.email)
    page.get_by_label("Password").fill(person.password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(lambda address: "/app/sign-in" not in address, timeout=30_000)


def signed_in(
    page: Page, dashboard: DashboardPlatform, prefix: str = "p"
) -> tuple[Person, dict[str, Any]]:
    """A new person registered through the REST API and signed in through the form in
    ``page``; the person and the REST login's answer (its ``user_id``, tokens)."""
    person = new_person(prefix)
    answer = register(dashboard.url, person)
    sign_in(page, dashboard.url, person)
    return person, answer


def watch_for_problems(page: Page) -> list[str]:
    """A list that fills with what goes wrong in ``page`` while a test runs: each CSP
    refusal the console reports and each uncaught script error (assert it stays empty)."""
    problems: list[str] = []

    def console(message: ConsoleMessage) -> None:
        if CSP_REFUSAL.search(message.text):
            problems.append(f"CSP: {message.text}")

    page.on("console", console)
    page.on("pageerror", lambda error: problems.append(f"script error: {error}"))
    return problems


def screenshot(page: Page, name: str) -> Path:
    """Save what the page shows as a test artifact (a reviewer looks; nothing asserts it)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def serious_violations(page: Page) -> list[dict[str, Any]]:
    """axe-core's serious and critical accessibility violations of the page as it is now."""
    page.evaluate(AXE.read_text())  # add_script_tag injects an inline script: the CSP refuses it
    found: list[dict[str, Any]] = page.evaluate(
        """async () => (await axe.run(document, {resultTypes: ["violations"]})).violations
            .filter((v) => v.impact === "serious" || v.impact === "critical")
            .map((v) => ({id: v.id, impact: v.impact, help: v.help,
                          nodes: v.nodes.map((n) => n.target.join(" ")).slice(0, 5)}))"""
    )
    return found


def unique(prefix: str = "") -> str:
    """A short random suffix for names that must not collide across tests."""
    return prefix + secrets.token_hex(4)
