"""The host dashboard (node-exporter, job ``node``) and the containers dashboard (cAdvisor,
job ``cadvisor``), both on docker-compose.yml's exporters.

cAdvisor names every Docker container's series by its container ``name``; its other series
(``name=""``) are the host's raw cgroups, left out here.
"""

from __future__ import annotations

from deploy.monitoring.grafana import Dashboard, Panel, Query

NODE = 'job="node"'
IDLE = f'{NODE}, mode="idle"'
ROOT = f'{NODE}, mountpoint="/"'
REAL_FILESYSTEMS = f'{NODE}, fstype!~"tmpfs|overlay|squashfs|ramfs|nsfs"'
CONTAINERS = 'job="cadvisor", name!=""'


def stat(title: str, expr: str, unit: str = "short", description: str = "") -> Panel:
    """A single number a sixth of the row wide."""
    return Panel(
        title,
        [Query(expr, title.lower())],
        unit=unit,
        kind="stat",
        width=4,
        height=4,
        description=description,
    )


def _host_stats() -> list[Panel]:
    """CPU, memory, root filesystem, load, uptime and cores, as of now."""
    return [
        stat("CPU busy", f"1 - avg(rate(node_cpu_seconds_total{{{IDLE}}}[1m]))", "percentunit"),
        stat(
            "Memory used",
            f"1 - sum(node_memory_MemAvailable_bytes{{{NODE}}})"
            f" / sum(node_memory_MemTotal_bytes{{{NODE}}})",
            "percentunit",
            "Of the host's memory, what is not available to new work (page cache counts free).",
        ),
        stat(
            "Root filesystem used",
            f"1 - max(node_filesystem_avail_bytes{{{ROOT}}}"
            f" / node_filesystem_size_bytes{{{ROOT}}})",
            "percentunit",
        ),
        stat("Load (1 min)", f"max(node_load1{{{NODE}}})"),
        stat("Uptime", f"time() - max(node_boot_time_seconds{{{NODE}}})", "s"),
        stat("CPU cores", f"count(node_cpu_seconds_total{{{IDLE}}})"),
    ]


def _per_device(metric: str, selector: str, legend: str) -> Query:
    """The per-second rate of a counter, summed by device."""
    return Query(f"sum by (device) (rate({metric}{{{selector}}}[1m]))", f"{legend} {{{{device}}}}")


def _host_series() -> list[Panel]:
    """CPU by mode, load, memory, filesystems, disks and network over time."""
    cores = f"scalar(count(node_cpu_seconds_total{{{IDLE}}}))"
    interfaces = f'{NODE}, device!="lo"'
    return [
        Panel(
            "CPU by mode",
            [
                Query(
                    f'sum by (mode) (rate(node_cpu_seconds_total{{{NODE}, mode!="idle"}}[1m]))'
                    f" / {cores}",
                    "{{mode}}",
                )
            ],
            unit="percentunit",
        ),
        Panel(
            "Load average",
            [
                Query(f"max(node_load{minutes}{{{NODE}}})", f"{minutes} min")
                for minutes in (1, 5, 15)
            ],
        ),
        Panel(
            "Memory",
            [
                Query(
                    f"sum(node_memory_MemTotal_bytes{{{NODE}}})"
                    f" - sum(node_memory_MemAvailable_bytes{{{NODE}}})",
                    "used",
                ),
                Query(f"sum(node_memory_Cached_bytes{{{NODE}}})", "page cache"),
                Query(f"sum(node_memory_MemTotal_bytes{{{NODE}}})", "total"),
            ],
            unit="bytes",
        ),
        Panel(
            "Filesystem used",
            [
                Query(
                    f"1 - node_filesystem_avail_bytes{{{REAL_FILESYSTEMS}}}"
                    f" / node_filesystem_size_bytes{{{REAL_FILESYSTEMS}}}",
                    "{{mountpoint}}",
                )
            ],
            unit="percentunit",
            limits=(0, 1),
        ),
        Panel(
            "Disk throughput",
            [
                _per_device("node_disk_read_bytes_total", NODE, "read"),
                _per_device("node_disk_written_bytes_total", NODE, "written"),
            ],
            unit="Bps",
        ),
        Panel(
            "Disk busy",
            [_per_device("node_disk_io_time_seconds_total", NODE, "busy")],
            unit="percentunit",
            description="Share of each second the device had I/O in flight.",
        ),
        Panel(
            "Network traffic",
            [
                _per_device("node_network_receive_bytes_total", interfaces, "in"),
                _per_device("node_network_transmit_bytes_total", interfaces, "out"),
            ],
            unit="Bps",
        ),
        Panel(
            "Network errors and drops",
            [
                _per_device("node_network_receive_errs_total", interfaces, "in errors"),
                _per_device("node_network_transmit_errs_total", interfaces, "out errors"),
                _per_device("node_network_receive_drop_total", interfaces, "in drops"),
            ],
            unit="pps",
        ),
    ]


def host() -> Dashboard:
    """The machine the platform runs on, as node-exporter sees it."""
    return Dashboard(
        uid="fitness-host",
        title="Host",
        description="CPU, memory, filesystems, disks and network of the host (node-exporter).",
        tags=["fitness", "host"],
        panels=[*_host_stats(), *_host_series()],
    )


def _by_container(expr: str, legend: str = "{{name}}") -> Query:
    """An expression summed by container name."""
    return Query(f"sum by (name) ({expr})", legend)


def _container_stats() -> list[Panel]:
    """How many containers, and what they use together."""
    return [
        stat("Containers", f"count(container_last_seen{{{CONTAINERS}}})"),
        stat(
            "CPU (cores)",
            f"sum(rate(container_cpu_usage_seconds_total{{{CONTAINERS}}}[1m]))",
            description="CPU seconds per second used by every container together.",
        ),
        stat(
            "Memory (working set)",
            f"sum(container_memory_working_set_bytes{{{CONTAINERS}}})",
            "bytes",
        ),
        stat("Host memory", 'max(machine_memory_bytes{job="cadvisor"})', "bytes"),
        stat(
            "Restarts (1h)",
            f"sum(changes(container_start_time_seconds{{{CONTAINERS}}}[1h]))",
            description="Containers started again in the last hour (a crash loop shows here).",
        ),
        stat(
            "OOM kills (1h)",
            f"sum(increase(container_oom_events_total{{{CONTAINERS}}}[1h]))",
        ),
    ]


def _container_series() -> list[Panel]:
    """Per container over time: CPU, memory, network, filesystem I/O."""
    return [
        Panel(
            "CPU by container",
            [_by_container(f"rate(container_cpu_usage_seconds_total{{{CONTAINERS}}}[1m])")],
            description="Cores used (CPU seconds per second).",
        ),
        Panel(
            "Memory working set by container",
            [_by_container(f"container_memory_working_set_bytes{{{CONTAINERS}}}")],
            unit="bytes",
        ),
        Panel(
            "Network received by container",
            [_by_container(f"rate(container_network_receive_bytes_total{{{CONTAINERS}}}[1m])")],
            unit="Bps",
        ),
        Panel(
            "Network sent by container",
            [_by_container(f"rate(container_network_transmit_bytes_total{{{CONTAINERS}}}[1m])")],
            unit="Bps",
        ),
        Panel(
            "Filesystem reads by container",
            [_by_container(f"rate(container_fs_reads_bytes_total{{{CONTAINERS}}}[1m])")],
            unit="Bps",
        ),
        Panel(
            "Filesystem writes by container",
            [_by_container(f"rate(container_fs_writes_bytes_total{{{CONTAINERS}}}[1m])")],
            unit="Bps",
        ),
    ]


def containers() -> Dashboard:
    """Every container of the compose project, as cAdvisor sees it."""
    return Dashboard(
        uid="fitness-containers",
        title="Containers",
        description="CPU, memory, network and filesystem I/O per container (cAdvisor).",
        tags=["fitness", "containers"],
        panels=[*_container_stats(), *_container_series()],
    )
