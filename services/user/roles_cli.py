"""``python -m services.user roles grant|revoke|list``: operators manage roles in the user store."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from services.common.db import make_engine, migrate
from services.user import roles
from services.user.auth_store import SqlAuthStore
from services.user.config import UserSettings
from services.user.domain import ADMIN_ROLE, DomainError
from services.user.sql_repository import SqlUserRepository


def parser() -> argparse.ArgumentParser:
    """The roles command line."""
    main = argparse.ArgumentParser(
        prog="python -m services.user roles",
        description="Grant, revoke or list roles (the database is USER_DATABASE_URL). "
        "A role reaches a user's access token at his next login or token refresh.",
    )
    commands = main.add_subparsers(dest="action", required=True)
    for action in ("grant", "revoke"):
        sub = commands.add_parser(action, help=f"{action} a role")
        sub.add_argument("role", nargs="?", default=ADMIN_ROLE, help="default: admin")
        who = sub.add_mutually_exclusive_group(required=True)
        who.add_argument("--user-id", default="")
        who.add_argument("--email", default="")
    listing = commands.add_parser("list", help="list who holds which role")
    listing.add_argument("--role", default=None)
    return main


def run(settings: UserSettings, migrations: Path, argv: Sequence[str]) -> int:
    """Carry out one roles command; 0 on success, 1 with 'error: ...' on stderr otherwise."""
    args = parser().parse_args(list(argv))
    engine = make_engine(settings.database_url, pool_size=1)
    try:
        if settings.migrate_on_start:
            migrate(engine, migrations)
        store, users = SqlAuthStore(engine), SqlUserRepository(engine)
        if args.action == "list":
            for grant in roles.list_grants(store, args.role):
                print(f"{grant.user_id}\t{grant.role}\t{grant.granted_at.isoformat()}")
            return 0
        roles.known_role(args.role)
        user = roles.find_account(users, args.user_id, args.email)
        if args.action == "grant":
            changed = roles.grant_role(store, user, args.role)
            outcome = "granted" if changed else "already held"
            print(f"{outcome}: {args.role} to {user.user_id} ({user.email})")
        else:
            changed = roles.revoke_role(store, user, args.role)
            outcome = "revoked" if changed else "not held"
            print(f"{outcome}: {args.role} from {user.user_id} ({user.email})")
        return 0
    except DomainError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    finally:
        engine.dispose()
