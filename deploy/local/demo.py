"""The demo accounts of ``make run``: the seed's three users, each with a simulated Fitbit.

On the first run each is registered with a random password, kept in ``demo-users.json`` of
the data directory (readable by its owner only); later runs log in with it. Each gets a
simulated device linked (idempotent), whose days the health ingester then stores.
"""

from __future__ import annotations

import json
import os
import secrets
import sys
from dataclasses import asdict, dataclass
from pathlib import Path

import httpx

DEMO_NAMES = ("demo1", "demo2", "demo3")
ACCOUNTS_FILE = "demo-users.json"


@dataclass(frozen=True)
class DemoAccount:
    """A demo user's sign-in."""

    email: str
    password: str


def accounts_path(data_dir: Path) -> Path:
    """Where the demo users' passwords are kept."""
    return data_dir / ACCOUNTS_FILE


def seed_demo_users(gateway_url: str, data_dir: Path, timeout: float = 10.0) -> list[str]:
    """Register (or log in) every demo user and link its simulated device; their emails.

    A user who cannot be signed in (its password file lost) is left out, with a warning.
    """
    accounts = _known_accounts(data_dir)
    ready = []
    with httpx.Client(base_url=gateway_url, timeout=timeout) as client:
        for name in DEMO_NAMES:
            account = accounts.setdefault(name, _new_account(name))
            _save(data_dir, accounts)
            try:
                if _link_simulator(client, name, account):
                    ready.append(account.email)
            except httpx.HTTPError as error:
                _warn(f"demo user {name} not set up: {error!r}")
    return ready


def _warn(message: str) -> None:
    print(f"warning: {message}", file=sys.stderr)


def _known_accounts(data_dir: Path) -> dict[str, DemoAccount]:
    """The accounts of earlier runs (none on the first)."""
    path = accounts_path(data_dir)
    if not path.exists():
        return {}
    return {name: DemoAccount(**fields) for name, fields in json.loads(path.read_text()).items()}


def _new_account(name: str) -> DemoAccount:
    return DemoAccount(f"{name}@example.com", secrets.token_urlsafe(12))


def _save(data_dir: Path, accounts: dict[str, DemoAccount]) -> None:
    """Write the accounts file, owner-only (it holds passwords)."""
    path = accounts_path(data_dir)
    body = json.dumps({name: asdict(account) for name, account in accounts.items()}, indent=2)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(descriptor, 0o600)  # the mode above applies only to a file it creates
    with os.fdopen(descriptor, "w") as file:
        file.write(body + "\n")


def _link_simulator(client: httpx.Client, name: str, account: DemoAccount) -> bool:
    """Register the account if new, log in, link its simulated device; False on failure."""
    register = {"username": name, "email": account.email, "password": account.password}
    registered = client.post("/users/register", json=register)
    if registered.status_code not in (201, 409):
        _warn(f"demo user {name} not registered: {registered.text}")
        return False
    login = client.post("/users/login", json={"email": account.email, "password": account.password})
    if login.status_code != 200:
        _warn(f"demo user {name} cannot log in (its password file lost?): {login.text}")
        return False
    body = login.json()
    headers = {"Authorization": f"Bearer {body['token']}"}
    linked = client.post(f"/users/{body['user_id']}/health-metrics/simulator", headers=headers)
    return linked.status_code in (200, 201)
