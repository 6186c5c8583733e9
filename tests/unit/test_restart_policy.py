"""When the launcher restarts a dead child, and when it gives up."""

from __future__ import annotations

import signal

from deploy.supervisor import RestartPolicy, describe_exit

POLICY = RestartPolicy(limit=3, window=60.0, backoff=0.5, max_backoff=3.0)


def test_each_death_in_the_window_doubles_the_wait_up_to_the_cap() -> None:
    deaths: list[float] = []
    delays = []
    for now in (0.0, 1.0, 2.0):
        deaths.append(now)
        delays.append(POLICY.delay(deaths, now))
    assert delays == [0.5, 1.0, 2.0]
    assert RestartPolicy(limit=9, max_backoff=3.0).delay([0.0] * 5, 0.0) == 3.0


def test_one_death_too_many_in_the_window_is_a_crash_loop() -> None:
    assert POLICY.delay([0.0, 1.0, 2.0, 3.0], 3.0) is None


def test_deaths_older_than_the_window_are_forgiven() -> None:
    assert POLICY.delay([0.0, 1.0, 2.0, 100.0], 100.0) == 0.5


def test_an_exit_is_described_by_its_code_or_its_signal() -> None:
    assert describe_exit(3) == "code 3"
    assert describe_exit(-signal.SIGKILL) == "signal SIGKILL"
