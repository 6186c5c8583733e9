"""``python -m deploy.local``: run the platform until Ctrl-C."""

from __future__ import annotations

import signal
import sys

from deploy.local.components import build_topology
from deploy.local.preparation import grant_admin_command, prepare
from deploy.local.topology import LocalSettings, Topology, busy_ports, certs_dir
from deploy.supervisor import CrashLoop, Supervisor


def main() -> int:
    """Run the platform until Ctrl-C; non-zero exit if it cannot start or a part dies."""
    settings = LocalSettings()
    topology = build_topology(settings)
    taken = busy_ports(settings.host, topology.all_ports())
    if taken:
        print(
            f"error: port(s) already in use: {', '.join(map(str, taken))}. "
            "Stop what uses them or set LOCAL_GATEWAY_PORT / LOCAL_USER_PORTS / "
            "LOCAL_ACTIVITY_PORTS / LOCAL_SAGA_PORT / LOCAL_REDIS_PORT / LOCAL_WAREHOUSE_PORT.",
            file=sys.stderr,
        )
        return 2
    prepare(topology)
    supervisor = Supervisor(topology, policy=settings.restart_policy())
    # Set both explicitly: a shell that starts us in the background ignores SIGINT.
    # The handler only sets a flag: raising from it mid-Popen or mid-lock breaks them.
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, supervisor.request_stop)
    try:
        supervisor.start_all()
        if supervisor.wait_ready(settings.startup_timeout):
            _print_urls(topology)
            supervisor.supervise_until_stopped()
        print("\nstopping...", file=sys.stderr)
        return 0
    except (CrashLoop, TimeoutError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    finally:
        supervisor.stop_all()


def _print_urls(topology: Topology) -> None:
    settings = topology.settings
    lines = [
        "Fitness Goal Tracker is running:",
        f"  REST API        {topology.gateway_url}   (OpenAPI: {topology.gateway_url}/docs)",
        f"  health          {topology.gateway_url}/health/live, /health/ready"
        "   (details: /health, admin token)",
        f"  gateway metrics {topology.gateway_metrics_url}",
        f"  user service    {', '.join(topology.user_addresses())}   (gRPC, reflection on)",
        f"  activity svc    {', '.join(topology.activity_addresses())}   (gRPC, reflection on)",
        f"  saga coord.     {topology.saga_address()}   (gRPC, reflection on)",
        f"  gRPC is mTLS    certificates in {certs_dir(settings.data_dir.resolve())}"
        "   (grpcurl: see README)",
        "  service metrics "
        + ", ".join(
            f"http://{settings.host}:{p}/metrics"
            for p in [
                *settings.user_metrics_ports,
                *settings.activity_metrics_ports,
                settings.saga_metrics_port,
            ]
        ),
        f"  redis           {settings.gateway_redis_url()}"
        + ("" if settings.redis_url else "   (embedded)"),
        f"  warehouse       {settings.etl_warehouse_url()}"
        + ("" if settings.warehouse_url else "   (embedded)")
        + f"   ETL nightly at {settings.etl_schedule_at} UTC",
        f"  reports         ETL_WAREHOUSE_URL={settings.etl_warehouse_url()} .venv/bin/etl report",
        f"  data            {settings.data_dir.resolve()}",
        "  admin role      register an account, then grant it (takes effect at its next login):",
        f"                  {grant_admin_command(settings)}",
        "Press Ctrl-C to stop.",
    ]
    print("\n".join(lines), flush=True)


if __name__ == "__main__":
    sys.exit(main())
