"""A service process stopped by Ctrl-C and its supervisor's SIGTERM ends quietly."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

# A stand-in for a service's __main__: wait for the signal, shut down for a while, exit.
# It lingers after "stopped" so the test's signals end before the interpreter finalises
# (which restores the default handlers: a SIGTERM then is a kill, in any Python process).
CHILD = """
import asyncio, time
from services.common.grpc_runtime import wait_for_signal

async def main():
    # Runs once wait_for_signal has installed its handlers and yielded.
    asyncio.get_running_loop().call_soon(lambda: print("waiting", flush=True))
    await wait_for_signal()
    print("stopping", flush=True)
    await asyncio.sleep(0.3)

asyncio.run(main())
print("stopped", flush=True)
time.sleep(1)
"""


def _send_sigterms(child: subprocess.Popen[str], until: threading.Event) -> None:
    """SIGTERM every millisecond until told to stop or the child is gone (at most 10 s)."""
    deadline = time.monotonic() + 10
    while not until.is_set() and child.poll() is None and time.monotonic() < deadline:
        child.send_signal(signal.SIGTERM)
        time.sleep(0.001)


def _stop_under_fire(child: subprocess.Popen[str]) -> list[str]:
    """SIGINT the child, then SIGTERM it without pause until it says it stopped."""
    assert child.stdout is not None
    assert child.stdout.readline().strip() == "waiting"
    child.send_signal(signal.SIGINT)
    stopped = threading.Event()
    sender = threading.Thread(target=_send_sigterms, args=(child, stopped))
    sender.start()
    lines = [child.stdout.readline().strip(), child.stdout.readline().strip()]
    stopped.set()
    sender.join()
    return lines


def test_repeated_signals_during_shutdown_neither_kill_the_process_nor_print_a_traceback() -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    for _ in range(3):
        child = subprocess.Popen(
            [sys.executable, "-c", CHILD], cwd=ROOT, env=env, text=True,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        )  # fmt: skip
        try:
            lines = _stop_under_fire(child)
            _, err = child.communicate(timeout=10)
        finally:
            if child.poll() is None:
                child.kill()
                child.wait()
        assert lines == ["stopping", "stopped"], err
        assert child.returncode == 0, err
        assert "Exception ignored" not in err, err
        assert "Traceback" not in err, err
