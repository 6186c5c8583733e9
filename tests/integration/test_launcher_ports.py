"""The launcher's port check and the origins it allows, on real sockets."""

from __future__ import annotations

import socket

from deploy.local import busy_ports, free_port, local_origins
from deploy.local.topology import EPHEMERAL_RANGE
from tests.helpers import linger_in_time_wait


def test_a_port_with_connections_lingering_in_time_wait_counts_as_free() -> None:
    port = free_port()
    linger_in_time_wait(port)
    assert busy_ports("127.0.0.1", [port]) == []


def test_a_port_something_listens_on_counts_as_busy() -> None:
    with socket.socket() as holder:
        holder.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        assert busy_ports("127.0.0.1", [port, free_port()]) == [port]


def test_free_ports_are_distinct_and_below_the_range_outgoing_connections_take() -> None:
    ephemeral_low = int(EPHEMERAL_RANGE.read_text().split()[0])
    ports = [free_port() for _ in range(300)]
    assert len(set(ports)) == len(ports)
    assert max(ports) < ephemeral_low
    assert busy_ports("127.0.0.1", ports) == []


def test_pages_from_localhost_and_127_0_0_1_are_allowed_origins_of_make_run() -> None:
    assert local_origins("127.0.0.1", 8000) == ["http://127.0.0.1:8000", "http://localhost:8000"]
    assert local_origins("0.0.0.0", 81) == [
        "http://0.0.0.0:81",
        "http://127.0.0.1:81",
        "http://localhost:81",
    ]
