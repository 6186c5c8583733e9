"""Runs the processes of a local topology like a process manager.

A child that dies is logged and started again after a doubling backoff while the
others keep serving; one that keeps dying (a crash loop) makes the supervisor give
up. Stops are asked for with a flag (``request_stop``, fit for a signal handler) and
only ever reach the processes the supervisor started, by PID.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import httpx
from prometheus_client.parser import text_string_to_metric_families

if TYPE_CHECKING:
    from deploy.local.topology import ProcessSpec, Topology

# Processes that hold data; stopped after everything that uses them.
STORES = ("redis", "warehouse")
# Every file a child creates (SQLite, the Redis append-only file, logs) is its owner's only.
CHILD_UMASK = 0o077
POLL_SECONDS = 0.2


class CrashLoop(RuntimeError):
    """A child died too often in too little time: restarting it again would not help."""


@dataclass(frozen=True)
class RestartPolicy:
    """When a dead child starts again: after a doubling backoff, unless it is in a crash loop."""

    limit: int = 5  # deaths within ``window`` seconds that still get a restart
    window: float = 60.0
    backoff: float = 0.5
    max_backoff: float = 10.0

    def delay(self, deaths: Sequence[float], now: float) -> float | None:
        """Seconds to wait before restarting after the latest of ``deaths``; None: give up."""
        recent = [moment for moment in deaths if now - moment <= self.window]
        if len(recent) > self.limit:
            return None
        return min(self.max_backoff, self.backoff * 2.0 ** (len(recent) - 1))


def describe_exit(code: int) -> str:
    """'code 1' or 'signal SIGKILL', from a Popen return code."""
    if code < 0:
        return f"signal {signal.Signals(-code).name}"
    return f"code {code}"


class Supervisor:
    """Starts the processes of a topology, restarts those that die, stops exactly those."""

    def __init__(
        self,
        topology: Topology,
        log_dir: Path | None = None,
        policy: RestartPolicy | None = None,
        say: Callable[[str], None] | None = None,
    ) -> None:
        self.topology = topology
        self.log_dir = log_dir
        self.policy = policy or RestartPolicy()
        self.say = say or (lambda line: print(f"launcher: {line}", file=sys.stderr, flush=True))
        self.processes: dict[str, subprocess.Popen[bytes]] = {}
        self.stop_requested = False
        self._deaths: dict[str, list[float]] = {}
        self._restart_at: dict[str, float] = {}

    def request_stop(self, _signum: int = 0, _frame: object = None) -> None:
        """Ask the waits and the supervision loop to end (a signal handler: sets a flag only)."""
        self.stop_requested = True

    def start(self, spec: ProcessSpec) -> subprocess.Popen[bytes]:
        """Start one component, logging to a file when a log directory is set."""
        output = None
        if self.log_dir:
            self.log_dir.mkdir(parents=True, exist_ok=True)
            output = (self.log_dir / f"{spec.name}.log").open("ab")
        try:
            process = subprocess.Popen(
                [sys.executable, "-m", "deploy.orphan_guard", *spec.argv],
                env={**os.environ, **spec.env},
                stdout=output,
                stderr=subprocess.STDOUT if output else None,
                umask=CHILD_UMASK,  # applied in the child without a preexec_fn
                # A terminal's Ctrl-C goes to its whole process group: keep the stores out
                # of it, so they outlive their clients' shutdown (stop_all ends them last).
                process_group=0 if spec.name in STORES else None,
            )
        finally:
            if output:
                output.close()  # the child has its own copy
        self.processes[spec.name] = process
        return process

    def start_all(self) -> None:
        """Start every component."""
        for spec in self.topology.specs:
            self.start(spec)

    def spec(self, name: str) -> ProcessSpec:
        """The spec of a component by name."""
        return next(s for s in self.topology.specs if s.name == name)

    def wait_ready(self, timeout: float) -> bool:
        """Supervise until the gateway is ready and sees every instance healthy.

        False if a stop was requested first; TimeoutError or CrashLoop if it never gets there.
        """
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.supervise()
            if self.stop_requested:
                return False
            if platform_ready(self.topology):
                return True
            time.sleep(POLL_SECONDS)
        raise TimeoutError("the platform did not become ready in time")

    def supervise_until_stopped(self) -> None:
        """Restart children as they die until a stop is requested (or CrashLoop)."""
        while not self.stop_requested:
            self.supervise()
            time.sleep(POLL_SECONDS)

    def supervise(self) -> None:
        """One round: start the children whose backoff is over, note the ones that died."""
        now = time.monotonic()
        for name, process in list(self.processes.items()):
            if self.stop_requested:
                return  # Ctrl-C reaches the children too: their exit is no crash
            if name in self._restart_at:
                if now >= self._restart_at[name]:
                    del self._restart_at[name]
                    self.say(f"{name} restarted (pid {self.start(self.spec(name)).pid})")
            elif process.poll() is not None:
                self._schedule_restart(name, process.returncode, now)

    def _schedule_restart(self, name: str, code: int, now: float) -> None:
        deaths = self._deaths.setdefault(name, [])
        deaths.append(now)
        delay = self.policy.delay(deaths, now)
        if delay is None:
            recent = sum(1 for moment in deaths if now - moment <= self.policy.window)
            raise CrashLoop(
                f"{name} exited {recent} times within {self.policy.window:.0f} s "
                f"(last: {describe_exit(code)}); giving up. Its output is above."
            )
        self._restart_at[name] = now + delay
        self.say(f"{name} exited with {describe_exit(code)}; restarting in {delay:.1f} s")

    def kill(self, name: str, sig: int = signal.SIGKILL) -> None:
        """Send a signal to one component we started."""
        process = self.processes[name]
        if process.poll() is None:
            os.kill(process.pid, sig)
            process.wait(timeout=10)

    def stop_all(self, timeout: float = 10.0) -> None:
        """SIGTERM every component we started, then SIGKILL any that linger.

        The stores go last, so their clients can shut down cleanly while they still answer.
        """
        self._restart_at.clear()
        stateful = [p for name, p in self.processes.items() if name in STORES]
        services = [p for name, p in self.processes.items() if name not in STORES]
        self._stop(services, timeout)
        self._stop(stateful, timeout)

    @staticmethod
    def _stop(processes: list[subprocess.Popen[bytes]], timeout: float) -> None:
        for process in processes:
            if process.poll() is None:
                process.terminate()
        for process in processes:
            try:
                process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def platform_ready(topology: Topology) -> bool:
    """The gateway is ready and, by its metrics, sees every upstream instance healthy."""
    try:
        ready = httpx.get(f"{topology.gateway_url}/health/ready", timeout=1.0)
        metrics = httpx.get(topology.gateway_metrics_url, timeout=1.0) if ready.is_success else None
    except httpx.HTTPError:
        return False
    if metrics is None or not metrics.is_success:
        return False
    healthy = [
        sample.value
        for family in text_string_to_metric_families(metrics.text)
        if family.name == "gateway_upstream_healthy"
        for sample in family.samples
    ]
    return bool(healthy) and all(value == 1.0 for value in healthy)
