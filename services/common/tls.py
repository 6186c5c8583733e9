"""Mutual TLS for every gRPC hop: the files a component is given, the credentials from them.

Every server demands a client certificate from the platform's CA; every client presents
its component's certificate and checks that the server's names the component it meant
to reach (docs/architecture.md, "Trust model"). There is no plaintext mode.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc

ChannelOption = tuple[str, Any]


@dataclass(frozen=True)
class TlsFiles:
    """PEM files of one component: the CA it trusts, its certificate and its private key."""

    ca: Path
    cert: Path
    key: Path

    def server_credentials(self) -> grpc.ServerCredentials:
        """Serve with our certificate; refuse clients without one from our CA."""
        return grpc.ssl_server_credentials(
            [(self.key.read_bytes(), self.cert.read_bytes())],
            root_certificates=self.ca.read_bytes(),
            require_client_auth=True,
        )

    def channel_credentials(self) -> grpc.ChannelCredentials:
        """Present our certificate; trust servers whose certificate comes from our CA."""
        return grpc.ssl_channel_credentials(
            root_certificates=self.ca.read_bytes(),
            private_key=self.key.read_bytes(),
            certificate_chain=self.cert.read_bytes(),
        )


def server_name_options(server: str) -> list[ChannelOption]:
    """Check the server's certificate for the component name ``server``, whatever address we dial.

    Every component's certificate carries its name (``user``, ``activity``, ...) as a DNS
    name, so the gateway dialling a user-service port accepts only the user service's
    certificate, not the one of another component from the same CA.
    """
    return [("grpc.ssl_target_name_override", server)]


def secure_channel(
    target: str, tls: TlsFiles, server: str, options: Sequence[ChannelOption] = ()
) -> grpc.Channel:
    """A blocking mTLS channel to the component ``server``."""
    merged = [*options, *server_name_options(server)]
    return grpc.secure_channel(target, tls.channel_credentials(), options=merged)


def secure_aio_channel(
    target: str, tls: TlsFiles, server: str, options: Sequence[ChannelOption] = ()
) -> grpc.aio.Channel:
    """An asyncio mTLS channel to the component ``server``."""
    merged = [*options, *server_name_options(server)]
    return grpc.aio.secure_channel(target, tls.channel_credentials(), options=merged)
