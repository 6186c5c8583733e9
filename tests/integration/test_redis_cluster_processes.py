"""The Redis Cluster's nodes end with whoever started them, even one killed outright."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

STARTER = """
import sys, time
from pathlib import Path
from deploy import redis_cluster
from deploy.local import free_port
cluster = redis_cluster.start(
    Path(sys.argv[1]), [(free_port(), free_port()) for _ in range(6)], die_with_parent=True
)
print(" ".join(str(node.process.pid) for node in cluster.nodes), flush=True)
time.sleep(120)
"""


def running(pid: int) -> bool:
    """Whether ``pid`` is a live process (not gone, not a zombie)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"
    except FileNotFoundError:
        return False


def test_a_launcher_killed_outright_leaves_no_redis_node_running(tmp_path: Path) -> None:
    launcher = subprocess.Popen(
        [sys.executable, "-c", STARTER, str(tmp_path)], stdout=subprocess.PIPE, text=True
    )
    assert launcher.stdout is not None
    pids = [int(pid) for pid in launcher.stdout.readline().split()]
    assert len(pids) == 6
    launcher.kill()
    launcher.wait()
    deadline = time.monotonic() + 15
    while any(running(pid) for pid in pids) and time.monotonic() < deadline:
        time.sleep(0.05)
    left = [pid for pid in pids if running(pid)]
    for pid in left:  # ours: clean up before failing
        os.kill(pid, 9)
    assert left == []
