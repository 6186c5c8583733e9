"""Kubernetes exec probe: ask a gRPC server's grpc.health.v1 Check over mutual TLS.

    python /probe/health_probe.py PORT COMPONENT CERT_DIR

Exits 0 when the server on 127.0.0.1:PORT answers SERVING, 1 otherwise (with the reason on
stderr, which the kubelet shows in the pod's events). The kubelet's own ``grpc:`` probe
speaks plaintext only, and every gRPC port of the platform demands a client certificate,
so the probe presents the component's own one (the health service is open to any
component of the CA, services/common/trust.py). Not named grpc_health.py: the script's
folder comes first on sys.path and would hide the grpc_health package.
"""

from __future__ import annotations

import sys
from pathlib import Path

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from services.common.tls import TlsFiles, secure_channel

# Under the kubelet's timeoutSeconds (3), so a slow answer is reported by us, not killed.
DEADLINE = 2.0


def check(port: int, component: str, folder: Path) -> str:
    """The serving status the server reports, or the gRPC code of the failed call."""
    tls = TlsFiles(folder / "ca.crt", folder / "tls.crt", folder / "tls.key")
    with secure_channel(f"127.0.0.1:{port}", tls, component) as channel:
        stub = health_pb2_grpc.HealthStub(channel)
        try:
            reply = stub.Check(health_pb2.HealthCheckRequest(), timeout=DEADLINE)
        except grpc.RpcError as error:
            return str(error.code().name)
    return str(health_pb2.HealthCheckResponse.ServingStatus.Name(reply.status))


def main(argv: list[str]) -> int:
    """Probe once; 0 when SERVING."""
    port, component, folder = argv
    status = check(int(port), component, Path(folder))
    if status != "SERVING":
        print(f"{component} on :{port}: {status}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
