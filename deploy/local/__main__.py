"""``python -m deploy.local [--ha]``: run the platform until Ctrl-C."""

from __future__ import annotations

import argparse
import signal
import subprocess
import sys
from collections.abc import Sequence

from deploy.local.components import build_topology
from deploy.local.demo import accounts_path, seed_demo_users
from deploy.local.ha import (
    PLANNED,
    DataTier,
    build_ha_topology,
    fresh_data_dir,
    gateway_urls,
    start_data_tier,
    wait_gateways_ready,
)
from deploy.local.preparation import (
    MigrationFailed,
    grant_admin_command,
    migrate_all,
    prepare_files,
)
from deploy.local.topology import LocalSettings, Topology, busy_ports, certs_dir
from deploy.supervisor import CrashLoop, Supervisor


def main(argv: Sequence[str] | None = None) -> int:
    """Run the platform until Ctrl-C; non-zero exit if it cannot start or a part dies."""
    parser = argparse.ArgumentParser(prog="python -m deploy.local", description=__doc__)
    parser.add_argument(
        "--ha",
        action="store_true",
        help="the HA topology (make run-ha): Redis Cluster, PostgreSQL formation, 2 gateways",
    )
    settings = LocalSettings()
    if parser.parse_args(argv).ha:
        return run_ha(settings)
    topology = build_topology(settings)
    if _ports_taken(settings.host, topology.all_ports()):
        return 2
    return run(topology)


def run_ha(settings: LocalSettings) -> int:
    """Start the HA data tier, run the platform over it, stop the data tier last."""
    planned = build_ha_topology(settings, PLANNED)
    if _ports_taken(settings.host, [*planned.all_ports(), *settings.ha_data_ports()]):
        return 2
    settings = fresh_data_dir(settings)
    # Before the data tier: its servers' user must be let into the private directory.
    prepare_files(settings)
    print(
        f"starting the PostgreSQL formation and the Redis Cluster (new, in {settings.data_dir})",
        file=sys.stderr,
    )
    try:
        tier = start_data_tier(settings, lambda line: print(line, file=sys.stderr, flush=True))
    except KeyboardInterrupt:
        return 130  # Ctrl-C while the data tier started: it stopped what it had started
    except (RuntimeError, OSError, subprocess.SubprocessError) as error:
        print(f"error: the HA platform did not start: {error}", file=sys.stderr)
        return 1
    try:
        return run(build_ha_topology(settings, tier.urls), tier)
    finally:
        tier.stop()


def _ports_taken(host: str, ports: Sequence[int]) -> bool:
    taken = busy_ports(host, ports)
    if taken:
        print(
            f"error: port(s) already in use: {', '.join(map(str, taken))}. "
            "Stop what uses them or set LOCAL_GATEWAY_PORT / LOCAL_USER_PORTS / "
            "LOCAL_ACTIVITY_PORTS / LOCAL_WATCH_LOG_PORTS / LOCAL_MOTION_PORTS / "
            "LOCAL_HEALTH_PORTS / LOCAL_SAGA_PORT /"
            " LOCAL_REDIS_PORT / LOCAL_WAREHOUSE_PORT (and their *_METRICS_PORT[S])"
            " (and for --ha LOCAL_HA_GATEWAY_PORT / LOCAL_HA_REDIS_PORTS / "
            "LOCAL_HA_REDIS_BUS_PORTS / LOCAL_HA_POSTGRES_PORTS).",
            file=sys.stderr,
        )
    return bool(taken)


def run(topology: Topology, tier: DataTier | None = None) -> int:
    """Prepare, start and supervise the topology's processes until Ctrl-C."""
    settings = topology.settings
    if tier is None:  # the HA data tier's start has done both
        prepare_files(settings)
        try:
            migrate_all(topology)
        except MigrationFailed as error:
            print(f"error: {error}", file=sys.stderr)
            return 1
    supervisor = Supervisor(topology, policy=settings.restart_policy())
    # Set both explicitly: a shell that starts us in the background ignores SIGINT.
    # The handler only sets a flag: raising from it mid-Popen or mid-lock breaks them.
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, supervisor.request_stop)
    try:
        supervisor.start_all()
        timeout = settings.startup_timeout
        if supervisor.wait_ready(timeout) and wait_gateways_ready(
            supervisor, gateway_urls(topology), timeout
        ):
            demo = _demo_users(topology)
            _print_urls(topology, tier, demo)
            supervisor.supervise_until_stopped()
        print("\nstopping...", file=sys.stderr)
        return 0
    except (CrashLoop, TimeoutError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    finally:
        supervisor.stop_all()


def _demo_users(topology: Topology) -> list[str]:
    """The demo users' emails, registered and linked to simulated devices (unless off)."""
    if not topology.settings.demo_users:
        return []
    return seed_demo_users(topology.gateway_url, topology.settings.data_dir)


def _print_urls(topology: Topology, tier: DataTier | None, demo: list[str]) -> None:
    settings = topology.settings
    gateways = gateway_urls(topology)
    lines = [
        "Fitness Goal Tracker is running:",
        f"  dashboard       {topology.gateway_url}/app/   (in a browser: sign up, or a demo user)",
        f"  REST API        {topology.gateway_url}   (OpenAPI: {topology.gateway_url}/docs)",
        *(f"  REST API        {url}   (another gateway, same services)" for url in gateways[1:]),
        f"  health          {topology.gateway_url}/health/live, /health/ready"
        "   (details: /health, admin token)",
        f"  gateway metrics {topology.gateway_metrics_url}",
        f"  user service    {', '.join(topology.user_addresses())}   (gRPC, reflection on)",
        f"  activity svc    {', '.join(topology.activity_addresses())}   (gRPC, reflection on)",
        f"  saga coord.     {topology.saga_address()}   (gRPC, reflection on)",
        f"  watch logs      {', '.join(topology.watch_log_addresses())}   (gRPC; REST: "
        "POST /watch-logs; fill it: python -m services.watch_logs.producer_cli)",
        f"  motion          {', '.join(topology.motion_addresses())}   (gRPC; REST: "
        "POST /sensor-data; replay a recording: python -m services.motion.replay)",
        "                  one processor worker, one sink worker into the warehouse"
        " (raw_data.activity_records, processed_data.user_activity_processed)",
        f"  health metrics  {', '.join(topology.health_addresses())}   (gRPC; REST: "
        f"/users/{{id}}/health-metrics; database {settings.health_store_url()})",
        "                  one simulated-device ingester (a day per linked user each interval;"
        " link: POST /users/{id}/health-metrics/simulator)",
        f"  gRPC is mTLS    certificates in {certs_dir(settings.data_dir.resolve())}"
        "   (grpcurl: see README)",
        "  service metrics "
        + ", ".join(
            f"http://{settings.host}:{p}/metrics"
            for p in [
                *settings.user_metrics_ports,
                *settings.activity_metrics_ports,
                *settings.watch_log_metrics_ports,
                *settings.motion_metrics_ports,
                settings.motion_processor_metrics_port,
                settings.motion_sink_metrics_port,
                *settings.health_metrics_ports,
                settings.health_ingester_metrics_port,
                settings.saga_metrics_port,
            ]
        ),
        f"  redis           {settings.gateway_redis_url()}"
        + ("   (3 masters, 3 replicas)" if tier else "" if settings.redis_url else "   (embedded)"),
        *(
            [
                f"  postgresql      {tier.urls.user_database_url}   (users; pg_auto_failover)",
                f"                  {tier.urls.saga_database_url}   (saga log)",
            ]
            if tier
            else []
        ),
        f"  warehouse       {settings.etl_warehouse_url()}"
        + ("" if settings.warehouse_url else "   (embedded)")
        + f"   ETL nightly at {settings.etl_schedule_at} UTC",
        f"  reports         ETL_WAREHOUSE_URL={settings.etl_warehouse_url()} .venv/bin/etl report",
        f"  data            {settings.data_dir.resolve()}",
        *(
            [
                f"  demo users      {', '.join(demo)}   (simulated Fitbits; passwords in "
                f"{accounts_path(settings.data_dir.resolve())})"
            ]
            if demo
            else []
        ),
        "  admin role      register an account, then grant it (takes effect at its next login):",
        f"                  {grant_admin_command(settings)}",
        "Press Ctrl-C to stop.",
    ]
    print("\n".join(lines), flush=True)


if __name__ == "__main__":
    sys.exit(main())
