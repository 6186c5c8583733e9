#!/usr/bin/env bash
# Installs the Debian packages the tests run for real (Redis 7 for the cluster and sharded
# pub/sub, pg_auto_failover for the PostgreSQL formation, Prometheus 2 (/usr/bin/prometheus,
# /usr/bin/promtool), the Redis exporter 1.45 (/usr/bin/prometheus-redis-exporter) and the
# node exporter 1.5 (/usr/bin/prometheus-node-exporter) for the monitoring tests, Chromium
# (/usr/bin/chromium) for the dashboard's browser tests, and Node.js with npm, which install
# the dashboard's pinned browser libraries), when they are missing.
# As root it installs them; otherwise it names them and fails, because the tests need them.
set -euo pipefail

PACKAGES=(redis-server redis-tools postgresql-15 postgresql-15-auto-failover pg-auto-failover-cli
    prometheus prometheus-redis-exporter prometheus-node-exporter chromium)

missing=()
for package in "${PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" \
        || missing+=("$package")
done
# Any Node.js with npm does (this machine's may not be Debian's own package).
command -v npm >/dev/null || missing+=(nodejs npm)
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
    echo "missing Debian packages: ${missing[*]} (install them as root: apt-get install ${missing[*]})" >&2
    exit 1
fi
echo "installing Debian packages: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# policy-rc.d keeps the packages' own services from starting: the tests start their own
# servers on free ports, and a system Redis on :6379 would collide with `make run`.
if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d
    trap 'rm -f /usr/sbin/policy-rc.d' EXIT
fi
apt-get install -y -qq --no-install-recommends "${missing[@]}"
