"""The formation's programs, roles, databases and the timeouts tuned for a failover in seconds."""

from __future__ import annotations

from deploy import pg_autoctl

# PostgreSQL 15's programs and the server user (defined with the commands that use them).
BIN = pg_autoctl.BIN
SERVICE_USER = pg_autoctl.SERVICE_USER
# The user store and the saga log: one database each, as with SQLite files.
DATABASES = ("users", "sagas")
APP_ROLE = "fitness"
# The roles pg_autoctl creates, which log in over TCP (scram): the keepers to the monitor;
# pg_basebackup, pg_rewind and the standbys to a node; the monitor's health checks.
MONITOR_ROLES = ("autoctl_node",)
NODE_ROLES = ("pgautofailover_replicator", "pgautofailover_monitor")
NODE_NAMES = ("node1", "node2", "node3")

# The monitor's failure detection and promotion (pg_autoctl(5), "pg_auto_failover monitor"):
# a node unreachable for ~2 s is failed, and a primary that cannot be told to demote is
# given 4 s before its standby is promoted. primary_demote_timeout must stay above the
# keepers' network_partition_timeout, so a primary cut off from everything has demoted
# itself before another is promoted (no split brain).
MONITOR_SETTINGS = {
    "pgautofailover.health_check_period": "1000",
    "pgautofailover.health_check_timeout": "1000",
    "pgautofailover.health_check_max_retries": "1",
    "pgautofailover.health_check_retry_delay": "500",
    "pgautofailover.node_considered_unhealthy_timeout": "2000",
    "pgautofailover.primary_demote_timeout": "4000",
    "pgautofailover.startup_grace_period": "1000",
}
# The keepers' side (pg_autoctl config set), in seconds.
KEEPER_TIMEOUTS = {
    "timeout.network_partition_timeout": "2",
    "timeout.prepare_promotion_catchup": "5",
    "timeout.prepare_promotion_walreceiver": "2",
    "timeout.postgresql_restart_failure_timeout": "5",
    "timeout.postgresql_restart_failure_max_retries": "1",
}
