"""The fan-out benchmark's pure helpers: Engine.IO/Socket.IO packets, rounds and medians."""

from __future__ import annotations

import math

import pytest

from bench.fanout.packets import (
    bare_sent_at,
    engineio_open,
    gateway_sent_at,
    socketio_chat,
    socketio_event,
    socketio_sent_at,
)
from bench.fanout.peer import needs_install
from bench.fanout.report import rotated
from bench.fanout.stats import Result, median_result, percentiles_ms, ratio


def test_an_engineio_open_packet_gives_its_handshake() -> None:
    raw = '0{"sid":"abc","upgrades":[],"pingInterval":25000,"pingTimeout":20000}'
    assert engineio_open(raw)["pingInterval"] == 25000


def test_an_engineio_open_packet_may_arrive_as_bytes() -> None:
    assert engineio_open(b'0{"sid":"abc"}')["sid"] == "abc"


def test_anything_but_an_open_packet_is_refused_as_a_handshake() -> None:
    with pytest.raises(ValueError, match="open packet"):
        engineio_open('40{"sid":"abc"}')


def test_a_socketio_event_packet_gives_its_name_and_arguments() -> None:
    assert socketio_event('42["chat",{"t":1.5},2]') == ("chat", [{"t": 1.5}, 2])


def test_pings_and_connect_packets_are_not_events() -> None:
    assert socketio_event("2") is None
    assert socketio_event('40{"sid":"x"}') is None


def test_a_chat_the_sender_emits_is_read_back_with_its_send_time() -> None:
    assert socketio_sent_at(socketio_chat(1234.5)) == 1234.5


def test_events_other_than_chat_carry_no_send_time() -> None:
    assert socketio_sent_at('42["typing",{"t":1}]') is None


def test_each_path_decodes_its_own_event_and_ignores_the_rest() -> None:
    assert bare_sent_at('{"type":"x","t":2.5}') == 2.5
    assert bare_sent_at("{}") is None
    assert gateway_sent_at('{"type":"chat_message","message":"3.25 fan-out"}') == 3.25
    assert gateway_sent_at('{"type":"presence"}') is None


def test_each_round_rotates_the_order_so_every_path_takes_every_place() -> None:
    paths = ("bare", "peer", "ours")
    orders = [rotated(paths, n) for n in range(3)]
    assert orders == [
        ["bare", "peer", "ours"],
        ["peer", "ours", "bare"],
        ["ours", "bare", "peer"],
    ]
    assert rotated(paths, 3) == orders[0]


def test_the_median_row_takes_each_figures_median_and_sums_losses() -> None:
    rounds = [Result(1, 10, 100, 0, 50), Result(3, 30, 300, 2, 40), Result(2, 20, 200, 1, 60)]
    assert median_result(rounds) == Result(2, 20, 200, 3, 50)


def test_with_two_rounds_the_median_is_their_mean() -> None:
    assert median_result([Result(1, 2, 3, 0, 4), Result(3, 4, 5, 0, 6)]).rate == 4


def test_a_ratio_over_nothing_is_not_a_number_we_print() -> None:
    assert ratio(3, 2) == "1.50"
    assert ratio(3, 0) == "n/a"


def test_percentiles_come_out_in_milliseconds() -> None:
    p50, p99 = percentiles_ms([n / 1000 for n in range(1, 102)])
    assert p50 == pytest.approx(51)
    assert p99 == pytest.approx(100)


def test_percentiles_of_too_few_deliveries_are_not_numbers() -> None:
    assert all(math.isnan(cut) for cut in percentiles_ms([0.1]))


def test_packages_are_installed_when_missing_or_older_than_the_lock() -> None:
    assert needs_install(lock_mtime=10.0, installed_mtime=None)
    assert needs_install(lock_mtime=10.0, installed_mtime=9.0)
    assert not needs_install(lock_mtime=10.0, installed_mtime=11.0)
