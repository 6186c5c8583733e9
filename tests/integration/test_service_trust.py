"""Service-to-service trust: mutual TLS on every gRPC port and the call matrix, on real servers."""

from __future__ import annotations

import datetime
import stat
from collections.abc import AsyncIterator
from pathlib import Path

import grpc
import pytest
from cryptography import x509
from cryptography.x509.oid import NameOID
from fitness.user.v1 import user_service_pb2 as upb
from fitness.user.v1 import user_service_pb2_grpc as ugrpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from deploy import certs as certs_module
from deploy.certs import component_files, ensure_certs
from services.common.grpc_runtime import GrpcServer
from services.common.tls import TlsFiles, server_name_options
from services.common.trust import ACTIVITY, COMPONENTS, GATEWAY, SAGA, USER
from tests.helpers import KeyFiles, ServiceCerts, address, channel_as, start_user_server

HEALTH = health_pb2.HealthCheckRequest(service="fitness.user.v1.UserService")


@pytest.fixture
async def user_server(
    tmp_path: Path, jwt_keys: KeyFiles, service_certs: ServiceCerts
) -> AsyncIterator[GrpcServer]:
    server = await start_user_server(
        f"sqlite:///{tmp_path / 'u.db'}", jwt_keys, certs=service_certs
    )
    yield server
    await server.stop(grace=0)


def user_stub(channel: grpc.aio.Channel) -> ugrpc.UserServiceStub:
    """A user-service stub (the generated module is untyped)."""
    return ugrpc.UserServiceStub(channel)  # type: ignore[no-untyped-call]


async def health_code(channel: grpc.aio.Channel) -> grpc.StatusCode:
    """How a health check over ``channel`` ends."""
    async with channel:
        try:
            await health_pb2_grpc.HealthStub(channel).Check(HEALTH, timeout=5)
        except grpc.aio.AioRpcError as error:
            return error.code()
    return grpc.StatusCode.OK


async def code_of(stub_call: object) -> grpc.StatusCode:
    with pytest.raises(grpc.aio.AioRpcError) as failure:
        await stub_call  # type: ignore[misc]
    return failure.value.code()


async def test_every_component_with_a_certificate_of_the_platform_ca_passes_the_handshake(
    user_server: GrpcServer, service_certs: ServiceCerts
) -> None:
    for component in COMPONENTS:
        channel = channel_as(service_certs, component, USER, address(user_server))
        assert await health_code(channel) == grpc.StatusCode.OK, component


async def test_a_client_without_a_certificate_is_refused(
    user_server: GrpcServer, service_certs: ServiceCerts
) -> None:
    trusting_only = grpc.ssl_channel_credentials(service_certs.of(GATEWAY).ca.read_bytes())
    channel = grpc.aio.secure_channel(
        address(user_server), trusting_only, options=server_name_options(USER)
    )
    assert await health_code(channel) == grpc.StatusCode.UNAVAILABLE


async def test_a_client_with_a_certificate_from_another_ca_is_refused(
    user_server: GrpcServer, service_certs: ServiceCerts, tmp_path: Path
) -> None:
    foreign = ensure_certs(tmp_path / "other-ca")[GATEWAY]
    # It trusts our CA, so only the server's check of its certificate can refuse it.
    impostor = TlsFiles(ca=service_certs.of(GATEWAY).ca, cert=foreign.cert, key=foreign.key)
    channel = grpc.aio.secure_channel(
        address(user_server), impostor.channel_credentials(), options=server_name_options(USER)
    )
    assert await health_code(channel) == grpc.StatusCode.UNAVAILABLE


async def test_a_plaintext_client_is_refused(user_server: GrpcServer) -> None:
    channel = grpc.aio.insecure_channel(address(user_server))
    assert await health_code(channel) == grpc.StatusCode.UNAVAILABLE


async def test_a_client_refuses_a_server_showing_another_components_certificate(
    user_server: GrpcServer, service_certs: ServiceCerts
) -> None:
    expecting_activity = channel_as(service_certs, GATEWAY, ACTIVITY, address(user_server))
    assert await health_code(expecting_activity) == grpc.StatusCode.UNAVAILABLE


async def test_a_component_calling_an_rpc_outside_its_part_of_the_matrix_is_denied(
    user_server: GrpcServer, service_certs: ServiceCerts
) -> None:
    target = address(user_server)
    step = upb.PrepareGoalChangeRequest(
        request_id="s:prepare",
        saga_id="s",
        user_id="nobody",
        goal_id="g",
        operation=upb.GOAL_OPERATION_DELETE,
    )
    async with (
        channel_as(service_certs, ACTIVITY, USER, target) as as_activity,
        channel_as(service_certs, GATEWAY, USER, target) as as_gateway,
        channel_as(service_certs, SAGA, USER, target) as as_saga,
    ):
        activity = user_stub(as_activity)
        with pytest.raises(grpc.aio.AioRpcError) as denied:
            await activity.ListNotifications(upb.ListNotificationsRequest(user_id="u"))
        assert denied.value.code() == grpc.StatusCode.PERMISSION_DENIED
        assert "activity may not call" in (denied.value.details() or "")
        gateway = user_stub(as_gateway)
        assert await code_of(gateway.PrepareGoalChange(step)) == grpc.StatusCode.PERMISSION_DENIED
        saga = user_stub(as_saga)
        get_user = upb.GetUserRequest(user_id="nobody")
        assert await code_of(saga.GetUser(get_user)) == grpc.StatusCode.PERMISSION_DENIED
        # The same calls by the components the matrix gives them to get real answers.
        assert await code_of(activity.GetUser(get_user)) == grpc.StatusCode.NOT_FOUND
        assert await code_of(saga.PrepareGoalChange(step)) == grpc.StatusCode.NOT_FOUND


def test_certificates_are_private_and_kept_when_made_again(tmp_path: Path) -> None:
    folder = tmp_path / "certs"
    first = ensure_certs(folder)
    contents = {path: path.read_bytes() for path in folder.rglob("*") if path.is_file()}
    ensure_certs(folder)
    assert {path: path.read_bytes() for path in contents} == contents
    assert len(contents) == 2 + 3 * len(COMPONENTS)
    assert all(stat.S_IMODE(path.stat().st_mode) == 0o600 for path in contents)
    folders = [folder, *(p for p in folder.rglob("*") if p.is_dir())]
    assert all(stat.S_IMODE(path.stat().st_mode) == 0o700 for path in folders)
    assert set(first) == set(COMPONENTS)


def test_a_component_certificate_names_its_component_and_where_it_is_dialled(
    service_certs: ServiceCerts,
) -> None:
    cert = x509.load_pem_x509_certificate(service_certs.of(USER).cert.read_bytes())
    common_name = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value
    names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert common_name == USER
    assert {"user", "user-1", "user-2", "localhost"} <= set(names.get_values_for_type(x509.DNSName))
    assert {str(ip) for ip in names.get_values_for_type(x509.IPAddress)} == {"127.0.0.1", "::1"}


def test_a_missing_key_gets_a_new_certificate_for_that_component_only(tmp_path: Path) -> None:
    folder = tmp_path / "certs"
    ensure_certs(folder)
    before = {c: component_files(folder, c).cert.read_bytes() for c in COMPONENTS}
    component_files(folder, SAGA).key.unlink()
    ensure_certs(folder)
    after = {c: component_files(folder, c).cert.read_bytes() for c in COMPONENTS}
    assert [c for c in COMPONENTS if before[c] != after[c]] == [SAGA]


def test_certificates_close_to_expiry_are_renewed_under_the_same_ca(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "certs"
    ensure_certs(folder)
    ca = (folder / "ca" / "ca.crt").read_bytes()
    gateway = component_files(folder, GATEWAY).cert.read_bytes()
    # Every component certificate (one year) is now "close" to expiry; the CA (ten) is not.
    monkeypatch.setattr(certs_module, "RENEW_BEFORE", datetime.timedelta(days=400))
    ensure_certs(folder)
    assert (folder / "ca" / "ca.crt").read_bytes() == ca
    assert component_files(folder, GATEWAY).cert.read_bytes() != gateway
