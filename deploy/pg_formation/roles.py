"""The formation's roles: pg_autoctl's given the password, the services' owning the databases."""

from __future__ import annotations

from collections.abc import Sequence

import psycopg
from psycopg import sql

from deploy import pg_autoctl
from deploy.pg_formation.formation import Formation, Node
from deploy.pg_formation.settings import APP_ROLE


def set_passwords(formation: Formation, node: Node, roles: Sequence[str]) -> bool:
    """Give the roles pg_autoctl created the formation's password, over the trusted socket.

    False while the server or one of the roles is not there yet.
    """
    superuser = pg_autoctl.superuser(formation.user)
    socket = str(formation.root / "sock")
    try:
        with psycopg.connect(
            host=socket, port=node.port, user=superuser, dbname="postgres", autocommit=True
        ) as conn:
            found = conn.execute(
                "SELECT rolname FROM pg_roles WHERE rolname = ANY(%s)", (list(roles),)
            )
            if len(found.fetchall()) < len(roles):
                return False
            for role in roles:
                alter = sql.SQL("ALTER ROLE {} PASSWORD {}")
                conn.execute(alter.format(sql.Identifier(role), sql.Literal(formation.password)))
    except psycopg.OperationalError:  # starting
        return False
    return True


def create_app_role(formation: Formation) -> None:
    """The services' role, owner of the databases (PostgreSQL 15: it may create in public)."""
    url = formation.superuser_url(formation.primary())
    with psycopg.connect(url, autocommit=True, connect_timeout=2) as conn:
        exists = conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (APP_ROLE,)).fetchone()
        if exists is None:
            conn.execute(f'CREATE ROLE "{APP_ROLE}" LOGIN')
        alter = sql.SQL("ALTER ROLE {} PASSWORD {}")
        conn.execute(alter.format(sql.Identifier(APP_ROLE), sql.Literal(formation.password)))
        for database in formation.databases:
            found = "SELECT 1 FROM pg_database WHERE datname = %s"
            if conn.execute(found, (database,)).fetchone() is None:
                conn.execute(f'CREATE DATABASE "{database}"')
            conn.execute(f'ALTER DATABASE "{database}" OWNER TO "{APP_ROLE}"')
