"""Which pages may open the gateway's WebSockets: its own (the dashboard) and listed origins.

A browser names the page's site in Origin and the site it connects to in Host; a page of
another site cannot make the two agree, whatever it puts in its own address.
"""

from __future__ import annotations

import pytest

from gateway.realtime.protocol import _origin_allowed

HOST = "127.0.0.1:8000"
LISTED = ["http://localhost:3000", "https://fitness.example"]


@pytest.mark.parametrize(
    ("origin", "host"),
    [
        ("http://127.0.0.1:8000", "127.0.0.1:8000"),
        ("https://fitness.internal", "fitness.internal"),
        ("http://[::1]:8000", "[::1]:8000"),
        # Behind a TLS proxy the page is https while the gateway is reached the same way.
        ("https://gateway.example:8443", "gateway.example:8443"),
    ],
)
def test_a_page_of_the_gateways_own_origin_is_allowed(origin: str, host: str) -> None:
    assert _origin_allowed(origin, host, [])


@pytest.mark.parametrize("origin", LISTED)
def test_a_listed_origin_is_allowed_whatever_the_host(origin: str) -> None:
    assert _origin_allowed(origin, HOST, LISTED)
    assert _origin_allowed(origin, None, LISTED)


@pytest.mark.parametrize(
    "origin",
    [
        "http://evil.example",
        "http://127.0.0.1:8000.evil.example",
        "http://127.0.0.1:8000@evil.example",
        "http://evil.example/127.0.0.1:8000",
        "http://evil.example?127.0.0.1:8000",
        "http://evil.example#127.0.0.1:8000",
        "http://127.0.0.1:8001",
        "http://127.0.0.1",
        "http://localhost:8000",
        "http://sub.127.0.0.1:8000",
        "null",
        "",
        "127.0.0.1:8000",
    ],
)
def test_a_page_of_another_site_is_refused(origin: str) -> None:
    assert not _origin_allowed(origin, HOST, LISTED)


@pytest.mark.parametrize(
    "origin",
    [
        "http://localhost:3000.evil.example",
        "http://localhost:3001",
        "https://localhost:3000",
        "http://fitness.example",
        "https://fitness.example.evil.example",
        "https://evil.example",
    ],
)
def test_only_a_listed_origin_itself_is_allowed_not_a_lookalike(origin: str) -> None:
    assert not _origin_allowed(origin, "gateway.internal:8000", LISTED)


def test_without_a_host_header_only_listed_origins_are_allowed() -> None:
    assert not _origin_allowed("http://127.0.0.1:8000", None, [])
    assert not _origin_allowed("null", None, [])
    assert not _origin_allowed("null", "", [])
    assert not _origin_allowed("http://127.0.0.1:8000", "", [])
    assert _origin_allowed("http://127.0.0.1:8000", None, ["http://127.0.0.1:8000"])


def test_a_host_naming_another_port_refuses_the_gateways_address() -> None:
    assert not _origin_allowed("http://127.0.0.1:8000", "127.0.0.1:9000", [])
