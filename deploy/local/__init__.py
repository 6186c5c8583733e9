"""Start the whole platform locally on embedded stores: ``python -m deploy.local``.

Two user-service instances, two activity-service instances, the saga coordinator and
the gateway, on loopback, sharing SQLite files under the data directory, plus an
embedded Redis, an embedded PostgreSQL warehouse and the nightly ETL scheduler.
A child that dies is restarted (deploy/supervisor.py); Ctrl-C stops them all.
``--ha`` (``make run-ha``) runs the same over a Redis Cluster and a PostgreSQL formation,
with a second gateway (ha.py).

topology.py     settings (LOCAL_*), ports, instances, addresses, where files live
components.py   one spec per component: its command, environment and ports
preparation.py  data directory, keys, certificates and migrations, once before starting
ha.py           the HA topology: its data tier, started first and stopped last
__main__.py     the command: check the ports, prepare, supervise until Ctrl-C
"""

from __future__ import annotations

from deploy.local.components import add_gateway, build_topology, local_origins, python_module
from deploy.local.preparation import grant_admin_command, make_private, prepare
from deploy.local.topology import (
    LocalSettings,
    ProcessSpec,
    Topology,
    busy_ports,
    certs_dir,
    free_port,
    settings_on_free_ports,
)
from deploy.supervisor import Supervisor  # the launcher's, for the e2e tests

__all__ = [
    "LocalSettings",
    "ProcessSpec",
    "Supervisor",
    "Topology",
    "add_gateway",
    "build_topology",
    "busy_ports",
    "certs_dir",
    "free_port",
    "grant_admin_command",
    "local_origins",
    "make_private",
    "prepare",
    "python_module",
    "settings_on_free_ports",
]
