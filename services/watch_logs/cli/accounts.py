"""The simulated fleet's accounts: registered once, kept in a 0600 file, reused by later runs."""

from __future__ import annotations

import json
import os
import secrets
from pathlib import Path

import httpx

from services.common.client.http import Credentials, GatewayError, checked

DEFAULT_ACCOUNTS = Path(".run/watch-producer/accounts.json")


def load(path: Path) -> list[Credentials]:
    """The accounts a previous run saved in ``path`` (none if it does not exist)."""
    if not path.exists():
        return []
    try:
        saved = json.loads(path.read_text())["accounts"]
        return [Credentials(a["email"], a["password"], a["user_id"], a["username"]) for a in saved]
    except (ValueError, KeyError, TypeError) as error:
        message = f"{path} is not an accounts file: {error!r}"
        raise GatewayError(0, "BAD_ACCOUNTS_FILE", message) from None


def save(path: Path, accounts: list[Credentials]) -> None:
    """Write the accounts (with their passwords) to ``path``, readable by the owner only."""
    path.parent.mkdir(parents=True, exist_ok=True)
    body = {"accounts": [vars(account) for account in accounts]}
    temporary = path.with_name(f".{path.name}.{os.getpid()}")
    # Created 0600 from the start: the passwords are never readable by others, not even briefly.
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w") as file:
        json.dump(body, file, indent=1)
    os.replace(temporary, path)


def new_credentials() -> Credentials:
    """A fresh simulated account: random name, e-mail and password."""
    name = f"watch-sim-{secrets.token_hex(5)}"
    return Credentials(f"{name}@sim.example.com", secrets.token_urlsafe(18), "", name)


async def register(client: httpx.AsyncClient, account: Credentials) -> Credentials:
    """Create the account at the gateway; its id is filled in."""
    body = {"username": account.username, "email": account.email, "password": account.password}
    account.user_id = str(checked(await client.post("/users/register", json=body))["user_id"])
    return account


async def ensure(client: httpx.AsyncClient, path: Path, users: int) -> list[Credentials]:
    """``users`` accounts: those saved in ``path`` first, the rest registered and saved."""
    accounts = load(path)
    try:
        while len(accounts) < users:
            accounts.append(await register(client, new_credentials()))
    except GatewayError as error:
        if error.status != 429:
            raise
        hint = f"{len(accounts)} accounts saved in {path}; run again later for the rest"
        raise GatewayError(429, error.code, f"{error.message} ({hint})") from None
    finally:
        # Whatever was registered before a failure (say, the registration throttle's 429)
        # is kept for the next run.
        if accounts:
            save(path, accounts)
    return accounts[:users]
