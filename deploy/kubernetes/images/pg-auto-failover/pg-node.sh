#!/bin/sh
# One data node of the pg_auto_failover formation. The first node to register becomes the
# primary, the next ones standbys (pg_basebackup from it, synchronous by quorum). Created
# on the first start of its volume (or again after an interrupted creation, which
# pg_autoctl resumes), then run; a node that comes back rejoins as a standby if another
# was promoted meanwhile. pg_hba.conf is ours (--skip-pg-hba, see monitor.sh) and is
# copied to the standbys by pg_basebackup.
# PG_NODE_NAME names the node in the formation, PG_NODE_HOSTNAME is the name the others
# reach it by, PG_MONITOR_HOST the monitor's; FITNESS_PASSWORD is the application role's.
# PGAF_KEEPER_<NAME>=<n> sets the keeper's timeout.<name> (pg_autoctl config set, at every
# start; Kubernetes: overlays/production/pg-failover-timeouts.env).
set -eu
: "${PGPORT:=5432}" "${PG_SOCKET_DIR:=${PGHOST:-/var/run/postgresql}}"
: "${PG_NODE_NAME:?}" "${PG_NODE_HOSTNAME:?}" "${PG_MONITOR_HOST:?}" "${FITNESS_PASSWORD:?}"
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
MONITOR="postgres://autoctl_node@$PG_MONITOR_HOST:${PG_MONITOR_PORT:-5432}/pg_auto_failover?sslmode=require"
if [ ! -f "$PGDATA/postgresql.conf" ] || [ -e "$XDG_DATA_HOME/pg_autoctl$PGDATA/pg_autoctl.init" ]; then
  pg_autoctl create postgres --pgdata "$PGDATA" --pgport "$PGPORT" \
    --name "$PG_NODE_NAME" --hostname "$PG_NODE_HOSTNAME" --monitor "$MONITOR" \
    --dbname fitness --username fitness --skip-pg-hba --ssl-self-signed \
    --replication-quorum true --candidate-priority 50
fi
if ! grep -q '^# fitness:' "$PGDATA/pg_hba.conf"; then
  cat >> "$PGDATA/pg_hba.conf" <<'HBA'
# fitness: the monitor's health checks, replication between the nodes, the application
host all pgautofailover_monitor all trust
hostssl replication pgautofailover_replicator all trust
hostssl fitness pgautofailover_replicator all trust
hostssl fitness fitness all scram-sha-256
HBA
  pg_ctl --pgdata "$PGDATA" reload >/dev/null 2>&1 || true
fi
settings=$(tuning PGAF_KEEPER_)
printf '%s\n' "$settings" | while read -r name value; do
  [ -z "$name" ] || pg_autoctl config set --pgdata "$PGDATA" "timeout.$name" "$value" >/dev/null
done
# The application role (owner of its database, so its migrations may create tables) and
# its password, set on whichever node is the primary: standbys receive both by
# replication. Waits for the local server, bounded; does nothing on a standby.
(
  deadline=$(( $(date +%s) + 600 ))
  until pg_isready -q -h "$PG_SOCKET_DIR" -p "$PGPORT"; do
    [ "$(date +%s)" -lt "$deadline" ] || exit 0
    sleep 1
  done
  if [ "$(psql -h "$PG_SOCKET_DIR" -p "$PGPORT" -U postgres -d postgres -tAc 'select pg_is_in_recovery()')" = f ]; then
    psql -q -h "$PG_SOCKET_DIR" -p "$PGPORT" -U postgres -d postgres -v ON_ERROR_STOP=1 \
      -v password="$FITNESS_PASSWORD" <<'SQL'
SELECT 'CREATE ROLE fitness LOGIN' WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'fitness')
\gexec
ALTER ROLE fitness LOGIN PASSWORD :'password';
ALTER DATABASE fitness OWNER TO fitness;
SQL
  fi
) &
exec pg_autoctl run --pgdata "$PGDATA"
