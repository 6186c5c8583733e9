#!/bin/sh
# The pg_auto_failover monitor: created on the first start of its volume, then run.
# PG_NODE_HOSTNAME is the name the data nodes reach it by (pg-monitor-0.pg-monitor in
# Kubernetes, pg-monitor in compose); PGDATA, XDG_CONFIG_HOME and XDG_DATA_HOME must be
# on the volume (the image's defaults are).
# pg_hba.conf is written here, not by pg_autoctl (--skip-pg-hba): the "LAN" pg_autoctl
# detects is the pod's own subnet, which misses pods on other nodes. Who may connect at
# all is the NetworkPolicy's business (only the formation's nodes reach this port).
set -eu
: "${PGPORT:=5432}" "${PG_SOCKET_DIR:=${PGHOST:-/var/run/postgresql}}"
: "${PG_NODE_HOSTNAME:?set PG_NODE_HOSTNAME}"
if [ ! -f "$PGDATA/postgresql.conf" ] || [ -e "$XDG_DATA_HOME/pg_autoctl$PGDATA/pg_autoctl.init" ]; then
  pg_autoctl create monitor --pgdata "$PGDATA" --pgport "$PGPORT" \
    --hostname "$PG_NODE_HOSTNAME" --skip-pg-hba --ssl-self-signed
fi
if ! grep -q '^# fitness:' "$PGDATA/pg_hba.conf"; then
  cat >> "$PGDATA/pg_hba.conf" <<'HBA'
# fitness: the formation's nodes register and report here
hostssl pg_auto_failover autoctl_node all trust
HBA
fi
exec pg_autoctl run --pgdata "$PGDATA"
