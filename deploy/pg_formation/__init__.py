"""A pg_auto_failover formation on loopback: a monitor, a primary and two standbys.

``start(root, ports)`` builds and runs it (on free ports by default) and returns a
``Formation``: ``url(database)`` is the multi-host SQLAlchemy URL the user service
(``users``) and the saga log (``sagas``) take; ``states()`` and ``primary()`` read the
monitor, ``pids()`` names the keepers we started; ``kill(name)``
SIGKILLs a node's whole process tree (keeper, postmaster and backends), ``restart(name)``
brings it back as a standby, ``stop()`` ends everything. Used by the failover tests and
by ``make run-ha``. The servers run as an unprivileged user when we are root (PostgreSQL
refuses root), trust only their private 0700 Unix socket folder, ask for the
formation's generated password (scram-sha-256) over TCP, and listen on 127.0.0.1 only,
without TLS (``--no-ssl``: every hop is loopback). Timeouts are tuned for a failover in seconds.
"""

from deploy.pg_formation.formation import Formation, Node
from deploy.pg_formation.health import NODES_QUERY, NodeState, healthy
from deploy.pg_formation.settings import (
    APP_ROLE,
    BIN,
    DATABASES,
    KEEPER_TIMEOUTS,
    MONITOR_ROLES,
    MONITOR_SETTINGS,
    NODE_NAMES,
    NODE_ROLES,
    SERVICE_USER,
)
from deploy.pg_formation.startup import start
from deploy.polling import wait_for

__all__ = [
    "APP_ROLE",
    "BIN",
    "DATABASES",
    "KEEPER_TIMEOUTS",
    "MONITOR_ROLES",
    "MONITOR_SETTINGS",
    "NODES_QUERY",
    "NODE_NAMES",
    "NODE_ROLES",
    "SERVICE_USER",
    "Formation",
    "Node",
    "NodeState",
    "healthy",
    "start",
    "wait_for",
]
