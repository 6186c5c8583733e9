#!/bin/sh
# The pg_auto_failover monitor: created on the first start of its volume, then run.
# PG_NODE_HOSTNAME is the name the data nodes reach it by (pg-monitor-0.pg-monitor in
# Kubernetes, pg-monitor in compose); PGDATA, XDG_CONFIG_HOME and XDG_DATA_HOME must be
# on the volume (the image's defaults are).
# pg_hba.conf is written here, not by pg_autoctl (--skip-pg-hba): the "LAN" pg_autoctl
# detects is the pod's own subnet, which misses pods on other nodes. Who may connect at
# all is the NetworkPolicy's business (only the formation's nodes reach this port).
# PGAF_MONITOR_<NAME>=<ms> sets pgautofailover.<name> (failure detection and promotion;
# Kubernetes: overlays/production/pg-failover-timeouts.env). They go to a file of ours that
# postgresql.conf includes last, rewritten at every start: a variable removed is a value
# back to pg_auto_failover's default.
set -eu
: "${PGPORT:=5432}" "${PG_SOCKET_DIR:=${PGHOST:-/var/run/postgresql}}"
: "${PG_NODE_HOSTNAME:?set PG_NODE_HOSTNAME}"
# "name value" for each variable PREFIX<NAME>=<whole number>, the name in lower case; a
# value that is not a whole number stops the start (rather than a silent default).
tuning() {
  env | sed -n "s/^$1//p" | while IFS='=' read -r name value; do
    case "$value" in
      '' | *[!0-9]*) echo "$1$name=$value: not a whole number" >&2; exit 1 ;;
    esac
    printf '%s %s\n' "$(printf '%s' "$name" | tr '[:upper:]' '[:lower:]')" "$value"
  done
}
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
settings=$(tuning PGAF_MONITOR_)
printf '%s\n' "$settings" | sed -n 's/^\([a-z_]*\) \([0-9]*\)$/pgautofailover.\1 = \2/p' \
  > "$PGDATA/fitness-failover.conf"
if ! grep -q "^include_if_exists 'fitness-failover.conf'" "$PGDATA/postgresql.conf"; then
  echo "include_if_exists 'fitness-failover.conf'" >> "$PGDATA/postgresql.conf"
fi
# Read at the server's start; a server the creation left running reloads them.
pg_ctl --pgdata "$PGDATA" reload >/dev/null 2>&1 || true
exec pg_autoctl run --pgdata "$PGDATA"
