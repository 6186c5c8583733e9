"""The accounts, goals and live session the measurements use, made through the REST API."""

from __future__ import annotations

import datetime
import json
import time
from dataclasses import dataclass
from typing import Any

import httpx

from tests.e2e.browser import Person, new_person, register

GOALS = (("workouts_count", 12), ("active_minutes", 600), ("distance_km", 42))


@dataclass(frozen=True)
class Account:
    """A registered person and the API's login answer."""

    person: Person
    login: dict[str, Any]

    @property
    def user_id(self) -> str:
        """The account's id."""
        return str(self.login["user_id"])

    @property
    def headers(self) -> dict[str, str]:
        """The bearer header of its token."""
        return {"Authorization": f"Bearer {self.login['token']}"}


def account(url: str, prefix: str) -> Account:
    """A fresh account, signed in."""
    person = new_person(prefix)
    return Account(person, register(url, person))


def add_goals(url: str, who: Account) -> None:
    """A few goals, as a person who has started using the app has."""
    target = (datetime.date.today() + datetime.timedelta(days=60)).isoformat()
    with httpx.Client(base_url=url, headers=who.headers, timeout=30) as client:
        for goal_type, value in GOALS:
            body = {"goal_type": goal_type, "target_value": value, "target_date": target}
            client.post(f"/users/{who.user_id}/goals", json=body).raise_for_status()


def open_session(url: str, owner: Account) -> str:
    """A live group session owned by ``owner``; its id."""
    body = {"title": "Benchmark class", "workout_type": "rowing"}
    with httpx.Client(base_url=url, headers=owner.headers, timeout=30) as client:
        created = client.post("/group-sessions", json=body)
        created.raise_for_status()
        return str(created.json()["session_id"])


def stored_session(login: dict[str, Any]) -> dict[str, Any]:
    """What js/session.js store() keeps in sessionStorage for a login without roles."""
    return {
        "token": login["token"],
        "refreshToken": login["refresh_token"],
        "userId": login["user_id"],
        "roles": [],
        "expiresAt": int((time.time() + float(login["expires_in"])) * 1000),
    }


def signed_in_script(origin: str, login: dict[str, Any]) -> str:
    """An init script that leaves the tab signed in, as after the sign-in form."""
    saved = json.dumps(json.dumps(stored_session(login)))
    return (
        f"if (location.origin === {json.dumps(origin)} && !sessionStorage.getItem('fgt.session'))"
        f" sessionStorage.setItem('fgt.session', {saved});"
    )
